import FleetProtocol
import Foundation
import GRDB
import OccupantCore

/// The embedded default store: one SQLite file (WAL) through GRDB, with migrations.
///
/// Writes are `synchronous=FULL`: a batch the server acknowledged is on disk even if the power fails right after
/// (under GRDB's WAL default, `NORMAL`, the last commits can be lost, and the gateway has already deleted them);
/// single MQTT rows are the exception (see `insertTelemetry`).
/// Labels are kept as disjoint spans per gateway (see `mergeLabel`), so counting labelled rows is one indexed range
/// scan per span.
public final class SQLiteStore: ServerStore {
    let pool: DatabasePool
    /// Stamps received batches.
    let clock: any WallClock

    public init(path: String, clock: any WallClock = SystemClock()) throws {
        self.clock = clock
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // After GRDB's WAL setup, which sets NORMAL on the one writer connection.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
        } catch {
            throw OccupantError(.io, "cannot open the server database \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE telemetry (
                        gateway TEXT NOT NULL, at REAL NOT NULL, readings TEXT NOT NULL,
                        PRIMARY KEY (gateway, at)) WITHOUT ROWID;
                    CREATE TABLE batches (
                        gateway TEXT NOT NULL, batch TEXT NOT NULL, rows INTEGER NOT NULL, received REAL NOT NULL,
                        PRIMARY KEY (gateway, batch)) WITHOUT ROWID;
                    CREATE TABLE labels (
                        id INTEGER PRIMARY KEY, gateway TEXT NOT NULL, start REAL NOT NULL, "end" REAL NOT NULL,
                        occupied INTEGER NOT NULL, source TEXT NOT NULL);
                    CREATE INDEX labels_by_gateway ON labels (gateway, start);
                    CREATE TABLE models (
                        scope TEXT NOT NULL, version INTEGER NOT NULL, model_id TEXT NOT NULL, sha256 TEXT NOT NULL,
                        size INTEGER NOT NULL, created REAL NOT NULL, data_from REAL NOT NULL, data_to REAL NOT NULL,
                        labelled_rows_seen INTEGER NOT NULL, report TEXT NOT NULL,
                        PRIMARY KEY (scope, version));
                    CREATE TABLE aliases (
                        scope TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (scope, alias));
                    CREATE TABLE promotions (
                        id INTEGER PRIMARY KEY, scope TEXT NOT NULL, at REAL NOT NULL, challenger INTEGER NOT NULL,
                        champion INTEGER, promoted INTEGER NOT NULL, reason TEXT NOT NULL);
                    CREATE TABLE metrics (
                        id INTEGER PRIMARY KEY, scope TEXT NOT NULL, version INTEGER NOT NULL, at REAL NOT NULL,
                        kind TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL, rows INTEGER NOT NULL);
                    CREATE TABLE rollouts (
                        scope TEXT PRIMARY KEY, version INTEGER NOT NULL, previous INTEGER, wave TEXT NOT NULL,
                        widened INTEGER NOT NULL);
                    CREATE TABLE gateway_status (
                        gateway TEXT PRIMARY KEY, active TEXT, sha256 TEXT, refused TEXT, at REAL NOT NULL);
                    CREATE TABLE alerts (id INTEGER PRIMARY KEY, scope TEXT NOT NULL, at REAL NOT NULL, message TEXT NOT NULL);
                    """)
        }
        migrator.registerMigration("v2: disjoint label spans, channel kinds") { db in
            // Replay the received labels, oldest first, into disjoint spans (newest wins where they overlap).
            // Through a copy read by a cursor: an abused store can hold hundreds of thousands of labels.
            try db.execute(sql: "CREATE TEMP TABLE labels_v1 AS SELECT * FROM labels; DELETE FROM labels;")
            let old = try Row.fetchCursor(
                db, sql: #"SELECT gateway, start, "end", occupied, source FROM labels_v1 ORDER BY id"#)
            while let row = try old.next() {
                try mergeLabel(
                    db,
                    LabelRange(
                        gateway: row["gateway"], from: row["start"], to: row["end"], occupied: row["occupied"],
                        source: row["source"]))
            }
            try db.execute(sql: "DROP TABLE labels_v1")
            // Each channel's kind is what most of its stored readings are (an older server stored anything).
            // The span index covers `end` too: counting labelled rows reads no table row per span.
            try db.execute(
                sql: """
                    DROP INDEX labels_by_gateway;
                    CREATE INDEX labels_spans ON labels (gateway, start, "end");
                    CREATE TABLE channels (
                        gateway TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL,
                        PRIMARY KEY (gateway, channel)) WITHOUT ROWID;
                    INSERT OR IGNORE INTO channels (gateway, channel, kind)
                        SELECT gateway, key, kind FROM (
                            SELECT t.gateway AS gateway, j.key AS key,
                                CASE WHEN j.type IN ('integer', 'real') THEN 'number' ELSE 'text' END AS kind,
                                COUNT(*) AS n
                            FROM telemetry t, json_each(t.readings) j WHERE j.type != 'null'
                            GROUP BY 1, 2, 3)
                        ORDER BY n DESC;
                    """)
        }
        migrator.registerMigration("v3: alerts with a lifecycle, gateways last heard from") { db in
            // An alert is raised once and cleared once: at most one open alert per (kind, subject). Before v3 an
            // alert was a line raised once per champion version; the newest per scope stays open (the next quality
            // check clears it if the condition no longer holds), the older ones count as cleared when raised.
            try db.execute(
                sql: """
                    ALTER TABLE alerts RENAME COLUMN at TO raised_at;
                    ALTER TABLE alerts ADD COLUMN kind TEXT NOT NULL DEFAULT 'accuracy';
                    ALTER TABLE alerts ADD COLUMN subject TEXT NOT NULL DEFAULT '';
                    ALTER TABLE alerts ADD COLUMN gateway TEXT;
                    ALTER TABLE alerts ADD COLUMN numbers TEXT NOT NULL DEFAULT '{}';
                    ALTER TABLE alerts ADD COLUMN cleared_at REAL;
                    ALTER TABLE alerts ADD COLUMN acknowledged_at REAL;
                    ALTER TABLE alerts ADD COLUMN acknowledged_by TEXT;
                    UPDATE alerts SET subject = scope;
                    UPDATE alerts SET cleared_at = raised_at WHERE id NOT IN (SELECT MAX(id) FROM alerts GROUP BY scope);
                    CREATE UNIQUE INDEX alerts_open ON alerts (kind, subject) WHERE cleared_at IS NULL;
                    CREATE TABLE gateway_seen (gateway TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
                    INSERT INTO gateway_seen (gateway, at)
                        SELECT gateway, MAX(at) FROM (
                            SELECT gateway, received AS at FROM batches UNION ALL SELECT gateway, at FROM gateway_status)
                        GROUP BY gateway;
                    """)
        }
        migrator.registerMigration("v4: gateways' monitor windows") { db in
            try db.execute(
                sql: """
                    CREATE TABLE monitor_windows (
                        gateway TEXT NOT NULL, window_from REAL NOT NULL, window_to REAL NOT NULL,
                        received REAL NOT NULL, document TEXT NOT NULL,
                        PRIMARY KEY (gateway, window_from)) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v5: rollout waves") { db in
            try db.execute(
                sql: """
                    CREATE TABLE rollouts_v5 (
                        scope TEXT PRIMARY KEY, version INTEGER NOT NULL, previous INTEGER, waves INTEGER NOT NULL,
                        reached INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT, started REAL NOT NULL,
                        reached_at REAL NOT NULL);
                    CREATE TABLE rollout_members (
                        scope TEXT NOT NULL, gateway TEXT NOT NULL, wave INTEGER NOT NULL, since REAL, passed_at REAL,
                        rolled_back_at REAL, reason TEXT, PRIMARY KEY (scope, gateway)) WITHOUT ROWID;
                    """)
            // A v4 rollout was one named first wave, then everyone once the wave ran the version.
            let old = try db.tableExists("rollouts") ? try Row.fetchAll(db, sql: "SELECT * FROM rollouts") : []
            for row in old {
                let scope: String = row["scope"]
                let widened: Bool = row["widened"]
                let wave: String = row["wave"]
                try db.execute(
                    sql: """
                        INSERT INTO rollouts_v5 (scope, version, previous, waves, reached, state, started, reached_at)
                        VALUES (?, ?, ?, 2, ?, ?, 0, 0)
                        """,
                    arguments: [
                        scope, row["version"], row["previous"], widened ? 1 : 0,
                        widened ? Rollout.State.complete.rawValue : Rollout.State.running.rawValue,
                    ])
                for gateway in wave.split(separator: "\n") {
                    try db.execute(
                        sql: "INSERT INTO rollout_members (scope, gateway, wave) VALUES (?, ?, 0)",
                        arguments: [scope, String(gateway)])
                }
            }
            try db.execute(sql: "DROP TABLE IF EXISTS rollouts; ALTER TABLE rollouts_v5 RENAME TO rollouts;")
        }
        migrator.registerMigration("v6: monitor windows' realised accuracy") { db in
            try registerRealisedAccuracy(db)
        }
        migrator.registerMigration("v7: gateways' model rollbacks", migrate: migrateRollbacks)
        migrator.registerMigration("v8: the configured fleet (dashboard)") { db in try Self.migrateDashboard(db) }
        migrator.registerMigration("v9: gateways' status figures (dashboard)", migrate: migrateStatusFigures)
        migrator.registerMigration("v10: model summaries (dashboard models)") { db in try Self.migrateModelSummaries(db)
        }
        migrator.registerMigration("v11: outbox of announcements and alerts") { db in try SQLiteOutbox.migrate(db) }
        migrator.registerMigration("v12: rollbacks by bundle") { db in try Self.migrateRollbacksByBundle(db) }
        return migrator
    }

    /// Adds a label range to its gateway's disjoint spans: where it overlaps spans of the other state, it wins (the
    /// newest label is the truth there: those spans are trimmed, split or removed); spans of the same state that it
    /// overlaps or touches are merged into it. Cost: a few indexed lookups plus the spans it covers.
    static func mergeLabel(_ db: Database, _ l: LabelRange) throws {
        var start = l.from
        var end = l.to
        let before = try Row.fetchOne(
            try db.cachedStatement(
                sql:
                    #"SELECT id, start, "end", occupied FROM labels WHERE gateway = ? AND start < ? ORDER BY start DESC LIMIT 1"#
            ),
            arguments: [l.gateway, l.from])
        let inside = try Row.fetchAll(
            try db.cachedStatement(
                sql:
                    #"SELECT id, start, "end", occupied FROM labels WHERE gateway = ? AND start >= ? AND start <= ? ORDER BY start"#
            ),
            arguments: [l.gateway, l.from, l.to])
        let delete = try db.cachedStatement(sql: "DELETE FROM labels WHERE id = ?")
        if let b = before, b["end"] >= l.from {
            let id: Int64 = b["id"]
            let bEnd: Double = b["end"]
            if b["occupied"] == l.occupied {
                start = b["start"]
                end = max(end, bEnd)
                try delete.execute(arguments: [id])
            } else {
                try db.execute(sql: #"UPDATE labels SET "end" = ? WHERE id = ?"#, arguments: [l.from, id])
                if bEnd > l.to {
                    try db.execute(
                        sql:
                            #"INSERT INTO labels (gateway, start, "end", occupied, source) SELECT gateway, ?, ?, occupied, source FROM labels WHERE id = ?"#,
                        arguments: [l.to, bEnd, id])
                }
            }
        }
        for s in inside {
            let id: Int64 = s["id"]
            let sStart: Double = s["start"]
            let sEnd: Double = s["end"]
            if s["occupied"] == l.occupied {
                end = max(end, sEnd)
                try delete.execute(arguments: [id])
            } else if sEnd > l.to {
                if sStart < l.to {
                    try db.execute(sql: "UPDATE labels SET start = ? WHERE id = ?", arguments: [l.to, id])
                }
            } else {
                try delete.execute(arguments: [id])
            }
        }
        try db.cachedStatement(
            sql: #"INSERT INTO labels (gateway, start, "end", occupied, source) VALUES (?, ?, ?, ?, ?)"#
        ).execute(arguments: [l.gateway, start, end, l.occupied, l.source])
    }

    /// Refuses a row whose reading is of another kind (number or text) than the channel has held for this gateway;
    /// records the kind of a channel seen for the first time. `kinds` is the gateway's channel → kind.
    static func checkKinds(
        _ db: Database, gateway: String, row: TelemetryRow, kinds: inout [String: String]
    ) throws {
        for (channel, value) in row.readings.sorted(by: { $0.key < $1.key }) {
            guard let value else { continue }
            let kind = if case .number = value { "number" } else { "text" }
            if let known = kinds[channel] {
                guard known == kind else {
                    throw channelKindError(gateway: gateway, at: row.at, channel: channel, value: value, known: known)
                }
            } else {
                kinds[channel] = kind
                try db.execute(
                    sql: "INSERT INTO channels (gateway, channel, kind) VALUES (?, ?, ?)",
                    arguments: [gateway, channel, kind])
            }
        }
    }

    // MARK: Intake

    /// A batch with an id (an HTTP upload: the gateway deletes it from its spool once answered) is on disk when this
    /// returns (`synchronous=FULL`). A row without one (MQTT, which the broker acknowledged to the gateway before the
    /// server saw it) commits with `synchronous=NORMAL`: safe if the process dies, and it spares the fsync per
    /// message that caps FULL at a few hundred messages a second.
    public func insertTelemetry(gateway: String, batchID: String?, rows: [TelemetryRow]) async throws -> (
        accepted: Int, duplicate: Bool
    ) {
        let now = clock.now().seconds
        let durable = batchID != nil
        return try await pool.writeWithoutTransaction { db in
            if !durable { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            var result = (accepted: 0, duplicate: false)
            do {
                try db.inTransaction(.immediate) {
                    result = try Self.insertBatch(db, gateway: gateway, batchID: batchID, rows: rows, now: now)
                    return .commit
                }
            } catch {
                if !durable { try db.execute(sql: "PRAGMA synchronous = FULL") }
                throw error
            }
            if !durable { try db.execute(sql: "PRAGMA synchronous = FULL") }
            return result
        }
    }

    static func insertBatch(_ db: Database, gateway: String, batchID: String?, rows: [TelemetryRow], now: Double)
        throws -> (accepted: Int, duplicate: Bool)
    {
        try db.execute(
            sql: "INSERT OR REPLACE INTO gateway_seen (gateway, at) VALUES (?, ?)", arguments: [gateway, now])
        if let batchID {
            let seen =
                try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM batches WHERE gateway = ? AND batch = ?", arguments: [gateway, batchID])
                ?? false
            if seen { return (0, true) }
        }
        var kinds = Dictionary(
            uniqueKeysWithValues: try Row.fetchAll(
                db, sql: "SELECT channel, kind FROM channels WHERE gateway = ?", arguments: [gateway]
            ).map { ($0["channel"] as String, $0["kind"] as String) })
        for row in rows { try Self.checkKinds(db, gateway: gateway, row: row, kinds: &kinds) }
        var accepted = 0
        let statement = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO telemetry (gateway, at, readings) VALUES (?, ?, ?)")
        for row in rows {
            try statement.execute(arguments: [gateway, row.at, encodeReadings(row.readings)])
            accepted += db.changesCount
        }
        if let batchID {
            try db.execute(
                sql: "INSERT INTO batches (gateway, batch, rows, received) VALUES (?, ?, ?, ?)",
                arguments: [gateway, batchID, accepted, now])
        }
        return (accepted, false)
    }

    public func insertLabels(_ labels: [LabelRange]) async throws {
        try await pool.write { db in
            for l in labels { try Self.mergeLabel(db, l) }
        }
    }

    public func telemetry(gateways: [String], from: Double?) async throws -> [TelemetryRow] {
        try await pool.read { db in
            var rows: [TelemetryRow] = []
            for g in gateways {
                let cursor = try Row.fetchCursor(
                    db, sql: "SELECT at, readings FROM telemetry WHERE gateway = ? AND at >= ? ORDER BY at",
                    arguments: [g, from ?? -Double.greatestFiniteMagnitude])
                while let row = try cursor.next() {
                    rows.append(TelemetryRow(gateway: g, at: row["at"], readings: decodeReadings(row["readings"])))
                }
            }
            return rows
        }
    }

    public func labels(gateways: [String]) async throws -> [LabelRange] {
        try await pool.read { db in
            try gateways.flatMap { g in
                try Row.fetchAll(
                    db, sql: #"SELECT start, "end", occupied, source FROM labels WHERE gateway = ? ORDER BY start"#,
                    arguments: [g]
                ).map {
                    LabelRange(
                        gateway: g, from: $0["start"], to: $0["end"], occupied: $0["occupied"], source: $0["source"])
                }
            }
        }
    }

    public func labelledRowCount(gateways: [String]) async throws -> Int {
        try await pool.read { db in
            try gateways.reduce(0) { total, g in
                total
                    + (try Int.fetchOne(
                        db,
                        // Spans are disjoint, so each row counts once; CROSS JOIN keeps labels the outer loop:
                        // one range scan of the telemetry key per span.
                        sql: """
                            SELECT COUNT(*) FROM labels l CROSS JOIN telemetry t
                            WHERE l.gateway = ?1 AND t.gateway = ?1 AND t.at >= l.start AND t.at < l."end"
                            """, arguments: [g]) ?? 0)
            }
        }
    }

    public func labelCount(gateways: [String]) async throws -> Int {
        try await pool.read { db in
            try gateways.reduce(0) { total, g in
                total
                    + (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM labels WHERE gateway = ?", arguments: [g]) ?? 0)
            }
        }
    }

    /// Test seams: a statement run as is (to store what an older server could have), and a pragma of the writer.
    func execute(sql: String) async throws {
        try await pool.write { try $0.execute(sql: sql) }
    }

    func writerPragma(_ name: String) async throws -> Int? {
        try await pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA \(name)") }
    }

    public func telemetryCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM telemetry") ?? 0 }
    }

    // MARK: Registry

    public func addModel(_ m: ModelRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO models (scope, version, model_id, sha256, size, created, data_from, data_to,
                        labelled_rows_seen, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    m.scope, m.version, m.modelID, m.sha256, m.size, m.created, m.dataFrom, m.dataTo,
                    m.labelledRowsSeen, m.report,
                ])
        }
    }

    public func models(scope: String?) async throws -> [ModelRecord] {
        try await pool.read { db in
            let rows =
                if let scope {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM models WHERE scope = ? ORDER BY version", arguments: [scope])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM models ORDER BY scope, version")
                }
            return rows.map(Self.model(from:))
        }
    }

    public func model(scope: String, version: Int) async throws -> ModelRecord? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM models WHERE scope = ? AND version = ?", arguments: [scope, version]
            )
            .map(Self.model(from:))
        }
    }

    static func model(from row: Row) -> ModelRecord {
        ModelRecord(
            scope: row["scope"], version: row["version"], modelID: row["model_id"], sha256: row["sha256"],
            size: row["size"],
            created: row["created"], dataFrom: row["data_from"], dataTo: row["data_to"],
            labelledRowsSeen: row["labelled_rows_seen"], report: row["report"])
    }

    public func nextVersion(scope: String) async throws -> Int {
        try await pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM models WHERE scope = ?", arguments: [scope]) ?? 0) + 1
        }
    }

    public func setAlias(scope: String, alias: String, version: Int?) async throws {
        try await pool.write { db in
            if let version {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO aliases (scope, alias, version) VALUES (?, ?, ?)",
                    arguments: [scope, alias, version])
            } else {
                try db.execute(sql: "DELETE FROM aliases WHERE scope = ? AND alias = ?", arguments: [scope, alias])
            }
        }
    }

    public func alias(scope: String, alias: String) async throws -> Int? {
        try await pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT version FROM aliases WHERE scope = ? AND alias = ?", arguments: [scope, alias])
        }
    }

    public func addPromotion(_ r: PromotionRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql:
                    "INSERT INTO promotions (scope, at, challenger, champion, promoted, reason) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [r.scope, r.at, r.challenger, r.champion, r.promoted, r.reason])
        }
    }

    public func promotions(scope: String?) async throws -> [PromotionRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM promotions WHERE ?1 IS NULL OR scope = ?1 ORDER BY id", arguments: [scope]
            ).map {
                PromotionRecord(
                    scope: $0["scope"], at: $0["at"], challenger: $0["challenger"], champion: $0["champion"],
                    promoted: $0["promoted"], reason: $0["reason"])
            }
        }
    }

    public func addMetric(_ r: MetricRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO metrics (scope, version, at, kind, metric, value, rows) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [r.scope, r.version, r.at, r.kind, r.metric, r.value, r.rows])
        }
    }

    public func metrics(scope: String?) async throws -> [MetricRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM metrics WHERE ?1 IS NULL OR scope = ?1 ORDER BY id", arguments: [scope]
            ).map {
                MetricRecord(
                    scope: $0["scope"], version: $0["version"], at: $0["at"], kind: $0["kind"], metric: $0["metric"],
                    value: $0["value"], rows: $0["rows"])
            }
        }
    }

    // MARK: Delivery

    public func startRollout(_ r: Rollout, members: [RolloutMember]) async throws {
        try await pool.write { db in
            try Self.writeRollout(db, r)
            try db.execute(sql: "DELETE FROM rollout_members WHERE scope = ?", arguments: [r.scope])
            for m in members { try Self.writeMember(db, scope: r.scope, m) }
        }
    }

    public func setRollout(_ r: Rollout) async throws {
        try await pool.write { db in try Self.writeRollout(db, r) }
    }

    public func setRolloutMember(scope: String, _ m: RolloutMember) async throws {
        try await pool.write { db in try Self.writeMember(db, scope: scope, m) }
    }

    static func writeRollout(_ db: Database, _ r: Rollout) throws {
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO rollouts (scope, version, previous, waves, reached, state, reason, started, reached_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                r.scope, r.version, r.previous, r.waves, r.reached, r.state.rawValue, r.reason, r.started, r.reachedAt,
            ])
    }

    static func writeMember(_ db: Database, scope: String, _ m: RolloutMember) throws {
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO rollout_members (scope, gateway, wave, since, passed_at, rolled_back_at, reason)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [scope, m.gateway, m.wave, m.since, m.passedAt, m.rolledBackAt, m.reason])
    }

    public func rollout(scope: String) async throws -> Rollout? {
        try await pool.read { db in try Self.rollout(db, scope: scope) }
    }

    static func rollout(_ db: Database, scope: String) throws -> Rollout? {
        try Row.fetchOne(db, sql: "SELECT * FROM rollouts WHERE scope = ?", arguments: [scope]).map {
            let state: String = $0["state"]
            return Rollout(
                scope: $0["scope"], version: $0["version"], previous: $0["previous"], waves: $0["waves"],
                reached: $0["reached"], state: Rollout.State(rawValue: state) ?? .running, reason: $0["reason"],
                started: $0["started"], reachedAt: $0["reached_at"])
        }
    }

    public func rolloutMembers(scope: String) async throws -> [RolloutMember] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM rollout_members WHERE scope = ? ORDER BY wave, gateway", arguments: [scope]
            ).map(Self.member(from:))
        }
    }

    public func rolloutMember(scope: String, gateway: String) async throws -> RolloutMember? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM rollout_members WHERE scope = ? AND gateway = ?", arguments: [scope, gateway]
            ).map(Self.member(from:))
        }
    }

    static func member(from row: Row) -> RolloutMember {
        RolloutMember(
            gateway: row["gateway"], wave: row["wave"], since: row["since"], passedAt: row["passed_at"],
            rolledBackAt: row["rolled_back_at"], reason: row["reason"])
    }

    public func assignedModel(scope: String, gateway: String, room: String?) async throws -> ModelRecord? {
        try await pool.read { db in
            if let room, let model = try Self.champion(db, scope: room) { return model }
            guard
                let champion = try Int.fetchOne(
                    db, sql: "SELECT version FROM aliases WHERE scope = ? AND alias = 'champion'", arguments: [scope])
            else { return nil }
            var version: Int? = champion
            if let rollout = try Self.rollout(db, scope: scope) {
                let wave = try Int.fetchOne(
                    db, sql: "SELECT wave FROM rollout_members WHERE scope = ? AND gateway = ?",
                    arguments: [scope, gateway])
                version = rollout.version(forWave: wave, champion: champion)
            }
            guard let version else { return nil }
            return try Row.fetchOne(
                db, sql: "SELECT * FROM models WHERE scope = ? AND version = ?", arguments: [scope, version]
            )
            .map(Self.model(from:))
        }
    }

    public func setGatewayStatus(_ s: GatewayStatus) async throws {
        let now = clock.now().seconds
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO gateway_seen (gateway, at) VALUES (?, ?)", arguments: [s.gateway, now])
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO gateway_status (gateway, active, sha256, refused, at, figures)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [s.gateway, s.active, s.sha256, s.refused, s.at, try Self.statusFigures(s)])
        }
    }

    public func gatewayStatuses() async throws -> [GatewayStatus] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM gateway_status ORDER BY gateway").map {
                GatewayStatus(
                    gateway: $0["gateway"], active: $0["active"], sha256: $0["sha256"], refused: $0["refused"],
                    at: $0["at"])
            }
        }
    }

    public func alerts(scope: String?) async throws -> [(at: Double, message: String)] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT raised_at, message FROM alerts WHERE ?1 IS NULL OR scope = ?1 ORDER BY id",
                arguments: [scope]
            )
            .map { (at: $0["raised_at"], message: $0["message"]) }
        }
    }

    public func raiseAlert(
        kind: String, subject: String, scope: String, gateway: String?, numbers: [String: Double], message: String,
        at: Double
    ) async throws -> AlertDocument? {
        let numbersText = String(decoding: try FleetJSON.bytes(numbers), as: UTF8.self)
        return try await pool.write { db in
            let open =
                try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM alerts WHERE kind = ? AND subject = ? AND cleared_at IS NULL",
                    arguments: [kind, subject]) ?? false
            if open { return nil }
            try db.execute(
                sql: """
                    INSERT INTO alerts (scope, raised_at, message, kind, subject, gateway, numbers)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [scope, at, message, kind, subject, gateway, numbersText])
            return try Self.alert(db, id: db.lastInsertedRowID)
        }
    }

    public func clearAlert(kind: String, subject: String, at: Double) async throws -> AlertDocument? {
        try await pool.write { db in
            guard
                let id = try Int64.fetchOne(
                    db, sql: "SELECT id FROM alerts WHERE kind = ? AND subject = ? AND cleared_at IS NULL",
                    arguments: [kind, subject])
            else { return nil }
            try db.execute(sql: "UPDATE alerts SET cleared_at = ? WHERE id = ?", arguments: [at, id])
            return try Self.alert(db, id: id)
        }
    }

    public func openAlertSubjects(kind: String, gateway: String) async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT subject FROM alerts WHERE kind = ? AND gateway = ? AND cleared_at IS NULL ORDER BY id",
                arguments: [kind, gateway])
        }
    }

    public func alertDocuments(open: Bool) async throws -> [AlertDocument] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM alerts WHERE ?1 = 0 OR cleared_at IS NULL ORDER BY id", arguments: [open]
            ).map(Self.alert(from:))
        }
    }

    public func openAlerts(gateways: [String]) async throws -> [AlertDocument] {
        guard !gateways.isEmpty else { return [] }
        return try await pool.read { db in
            // The names as one JSON array (any count); each is a lookup in the partial index of open alerts.
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM alerts WHERE gateway IN (SELECT value FROM json_each(?)) AND cleared_at IS NULL
                    ORDER BY id
                    """, arguments: [try FleetJSON.text(gateways)]
            ).map(Self.alert(from:))
        }
    }

    public func acknowledgeAlert(id: Int, by: String, at: Double) async throws -> AlertDocument? {
        try await pool.write { db in
            try db.execute(
                sql:
                    "UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND acknowledged_at IS NULL",
                arguments: [at, by, id])
            return try Self.alert(db, id: Int64(id))
        }
    }

    public func gatewaysLastSeen() async throws -> [String: Double] {
        try await pool.read { db in
            Dictionary(
                try Row.fetchAll(db, sql: "SELECT gateway, at FROM gateway_seen").map {
                    ($0["gateway"] as String, $0["at"] as Double)
                }, uniquingKeysWith: { a, b in max(a, b) })
        }
    }

    public func insertMonitor(_ document: MonitorDocument) async throws {
        guard let from = document.window.from.seconds, let to = document.window.to.seconds else {
            throw OccupantError(.data, "a monitor window without its times cannot be stored")
        }
        var sent = document
        sent.realised = nil // measured here (`setRealised`), never taken from a gateway
        let text = try FleetJSON.text(sent)
        let now = clock.now().seconds
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO monitor_windows (gateway, window_from, window_to, received, document)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [document.gateway, from, to, now, text])
        }
    }

    public func monitorWindows(gateway: String, since: Double?) async throws -> [MonitorDocument] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT w.document, r.document AS realised FROM monitor_windows w
                    LEFT JOIN monitor_realised r ON r.gateway = w.gateway AND r.window_from = w.window_from
                    WHERE w.gateway = ?1 AND (?2 IS NULL OR w.window_to > ?2)
                    ORDER BY w.window_from
                    """,
                arguments: [gateway, since]
            ).map(Self.monitorWindow(from:))
        }
    }

    static func alert(_ db: Database, id: Int64) throws -> AlertDocument? {
        try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE id = ?", arguments: [id]).map(alert(from:))
    }

    static func alert(from row: Row) -> AlertDocument {
        let numbersText: String = row["numbers"]
        let numbers = (try? FleetJSON.decode([String: Double].self, from: numbersText.utf8)) ?? [:]
        return AlertDocument(
            id: row["id"], kind: row["kind"], scope: row["scope"], gateway: row["gateway"], numbers: numbers,
            message: row["message"], raisedAt: Instant(seconds: row["raised_at"]).iso8601,
            clearedAt: (row["cleared_at"] as Double?).map { Instant(seconds: $0).iso8601 },
            acknowledgedAt: (row["acknowledged_at"] as Double?).map { Instant(seconds: $0).iso8601 },
            acknowledgedBy: row["acknowledged_by"])
    }
}

/// `{"sound":12.5,"hvac":"heating","co2":null}`.
func encodeReadings(_ readings: [String: ChannelValue?]) -> String {
    JSON.object(readings.sorted { $0.key < $1.key }.map { JSON.Member($0.key, $0.value?.json ?? .null) }).serialized
}

func decodeReadings(_ text: String) -> [String: ChannelValue?] {
    if let readings = ReadingsText.parse(text) { return readings }
    guard let object = try? FleetJSON.decode([String: JSONReading].self, from: text.utf8) else { return [:] }
    return object.channelValues
}
