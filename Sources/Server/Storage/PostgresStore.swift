import FleetProtocol
import Foundation
import Logging
import NIOCore
import OccupantCore
import PostgresNIO
import Synchronization

/// The shared store for several server processes: PostgreSQL through postgres-nio's connection pool.
///
/// The schema is migrated at start under a session advisory lock, so processes starting together apply each
/// migration once; a database migrated by a newer server is refused. Times are Unix seconds (`double precision`),
/// as in `SQLiteStore`. Telemetry readings are a compact binary per row (`TelemetryCodec`: channel ids from the
/// `channels` table, a tag and the value), never JSON text. Every write that can arrive twice (a batch, a retained
/// status, an alert) is made idempotent by a key in the database, so processes need no coordination for it.
public final class PostgresStore: ServerStore {
    let client: PostgresClient
    let clock: any WallClock
    let logger: Logger
    private let running: Task<Void, Never>
    /// The migration, started with the client: every operation waits for it (and fails with its error).
    private let migrated: Task<Void, any Error>
    /// The local artifact folder bundles are fetched into (nil: the store keeps no bundles), and the hashes known to
    /// be there.
    let artifacts: ArtifactStore?
    let present = Mutex<Set<String>>([])
    /// Queries and transactions run (a test's count of a path's round trips).
    let queries = Atomic<Int>(0)

    /// Connects (the pool opens connections on demand) and starts migrating; `ready()` waits for it.
    /// - Parameter probe: one connection made before the pool's first (the pool retries a failed connection for a
    ///   while without saying why): the reason a database cannot be reached, at start.
    public init(
        configuration: PostgresClient.Configuration, clock: any WallClock = SystemClock(),
        logger: Logger = Logger(label: "occupant.postgres"), artifacts: ArtifactStore? = nil,
        probe: (@Sendable () async throws -> Void)? = nil
    ) {
        self.artifacts = artifacts
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.clock = clock
        self.logger = logger
        running = Task { await client.run() }
        migrated = Task {
            do {
                try await probe?()
            } catch {
                throw OccupantError(.io, "PostgreSQL store: cannot connect: \(PostgresStore.describe(error))")
            }
            try await PostgresMigrations.apply(client, logger: logger)
        }
    }

    /// Waits until the schema is migrated; throws a one-line error when the database cannot be reached or
    /// migrated.
    public func ready() async throws {
        do {
            try await migrated.value
        } catch let error as OccupantError {
            throw error
        } catch {
            throw OccupantError(.io, "PostgreSQL store: \(PostgresStore.describe(error))")
        }
    }

    /// Stops the pool (its connections close).
    public func close() {
        running.cancel()
    }

    deinit { running.cancel() }

    /// The server's message for a failed query (not the whole PSQLError dump).
    static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] {
                return message + (e.serverInfo?[.detail].map { " (\($0))" } ?? "")
            }
            if let underlying = e.underlying { return "\(e.code): \(underlying)" }
            return "\(e.code)"
        }
        return "\(error)"
    }

    // MARK: Running queries

    /// Rows of one query, on a pooled connection (after the migration).
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await ready()
        queries.add(1, ordering: .relaxed)
        return try await client.withConnection { c in try await Self.rows(c, query, logger: self.logger) }
    }

    func execute(_ query: PostgresQuery) async throws {
        _ = try await rows(query)
    }

    static func rows(_ c: PostgresConnection, _ query: PostgresQuery, logger: Logger) async throws
        -> [PostgresRandomAccessRow]
    {
        var out: [PostgresRandomAccessRow] = []
        for try await row in try await c.query(query, logger: logger) { out.append(row.makeRandomAccess()) }
        return out
    }

    /// Runs `body` in one transaction (`READ COMMITTED`): committed when it returns, rolled back when it throws (its
    /// own error is rethrown, not wrapped).
    func transaction<Result: Sendable>(_ body: (Tx) async throws -> Result) async throws -> Result {
        try await ready()
        queries.add(1, ordering: .relaxed)
        return try await client.withConnection { c in
            let tx = Tx(connection: c, logger: logger)
            try await c.query("BEGIN", logger: logger)
            do {
                let result = try await body(tx)
                try await c.query("COMMIT", logger: logger)
                return result
            } catch {
                _ = try? await c.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// A connection inside a transaction.
    struct Tx {
        let connection: PostgresConnection
        let logger: Logger

        @discardableResult
        func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
            try await PostgresStore.rows(connection, query, logger: logger)
        }
    }

    // MARK: Intake

    public func insertTelemetry(gateway: String, batchID: String?, rows: [TelemetryRow]) async throws -> (
        accepted: Int, duplicate: Bool
    ) {
        let now = clock.now().seconds
        return try await transaction { tx in
            // A row without a batch id (MQTT: the broker acknowledged it to the gateway already) need not wait for
            // the WAL flush, as SQLiteStore's `synchronous=NORMAL` for it; an HTTP batch is durable when answered.
            if batchID == nil { try await tx.rows("SET LOCAL synchronous_commit = off") }
            try await tx.rows(
                """
                INSERT INTO gateway_seen (gateway, at) VALUES (\(gateway), \(now))
                ON CONFLICT (gateway) DO UPDATE SET at = EXCLUDED.at
                """)
            if let batchID {
                // Another process storing the same batch holds this key until it commits: then this one is a
                // duplicate.
                let fresh = try await tx.rows(
                    """
                    INSERT INTO batches (gateway, batch, rows, received) VALUES (\(gateway), \(batchID), 0, \(now))
                    ON CONFLICT DO NOTHING RETURNING 1
                    """)
                if fresh.isEmpty { return (0, true) }
            }
            var channels = try await Self.channels(tx, gateway: gateway)
            var times: [Double] = []
            var blobs: [ByteBuffer] = []
            times.reserveCapacity(rows.count)
            blobs.reserveCapacity(rows.count)
            for row in rows {
                for (channel, value) in row.readings.sorted(by: { $0.key < $1.key }) {
                    try await Self.admit(tx, gateway: gateway, row: row, channel: channel, value: value, &channels)
                }
                times.append(row.at)
                blobs.append(TelemetryCodec.encode(row.readings, ids: channels.mapValues(\.id)))
            }
            var accepted = 0
            if !rows.isEmpty {
                let counted = try await tx.rows(
                    """
                    WITH stored AS (
                        INSERT INTO telemetry (gateway, at, readings)
                        SELECT \(gateway), u.at, u.readings FROM unnest(\(times)::float8[], \(blobs)::bytea[]) AS u(at, readings)
                        ON CONFLICT DO NOTHING RETURNING 1)
                    SELECT count(*) FROM stored
                    """)
                accepted = try counted.first?[0].decode(Int.self) ?? 0
            }
            if let batchID {
                try await tx.rows(
                    "UPDATE batches SET rows = \(accepted) WHERE gateway = \(gateway) AND batch = \(batchID)")
            }
            return (accepted, false)
        }
    }

    /// A gateway's channels: name → (id, kind; nil while only empty readings were seen).
    static func channels(_ tx: Tx, gateway: String) async throws -> [String: (id: Int, kind: String?)] {
        var out: [String: (id: Int, kind: String?)] = [:]
        for r in try await tx.rows("SELECT channel, id, kind FROM channels WHERE gateway = \(gateway)") {
            out[try r["channel"].decode(String.self)] = (
                try r["id"].decode(Int.self), try r["kind"].decode(String?.self)
            )
        }
        return out
    }

    /// Checks one reading against its channel's kind, registering a channel (or its kind) seen for the first time;
    /// a process storing the same new channel meanwhile is reconciled by the upsert (the first kind stored wins).
    static func admit(
        _ tx: Tx, gateway: String, row: TelemetryRow, channel: String, value: ChannelValue?,
        _ channels: inout [String: (id: Int, kind: String?)]
    ) async throws {
        let kind: String? =
            switch value {
            case .number: "number"
            case .category: "text"
            case nil: nil
            }
        if let known = channels[channel] {
            guard let kind else { return } // no reading: nothing to check
            if let knownKind = known.kind {
                guard knownKind == kind else {
                    throw channelKindError(
                        gateway: gateway, at: row.at, channel: channel, value: value!, known: knownKind)
                }
                return
            }
        }
        let stored = try await tx.rows(
            """
            INSERT INTO channels (gateway, channel, kind) VALUES (\(gateway), \(channel), \(kind))
            ON CONFLICT (gateway, channel) DO UPDATE SET kind = COALESCE(channels.kind, EXCLUDED.kind)
            RETURNING id, kind
            """)
        guard let r = stored.first else { throw OccupantError(.io, "channel \(channel) was not stored") }
        let entry = (id: try r["id"].decode(Int.self), kind: try r["kind"].decode(String?.self))
        channels[channel] = entry
        if let kind, let knownKind = entry.kind, knownKind != kind {
            throw channelKindError(gateway: gateway, at: row.at, channel: channel, value: value!, known: knownKind)
        }
    }

    /// id → channel name for these gateways (to decode their rows).
    func channelNames(gateways: [String]) async throws -> [Int: String] {
        var names: [Int: String] = [:]
        for r in try await rows("SELECT id, channel FROM channels WHERE gateway = ANY(\(gateways))") {
            names[try r["id"].decode(Int.self)] = try r["channel"].decode(String.self)
        }
        return names
    }

    public func telemetry(gateways: [String], from: Double?) async throws -> [TelemetryRow] {
        let names = try await channelNames(gateways: gateways)
        var out: [TelemetryRow] = []
        // Gateway by gateway, as the caller listed them (each a range scan of the primary key).
        for g in gateways {
            let rows = try await rows(
                """
                SELECT at, readings FROM telemetry WHERE gateway = \(g) AND at >= \(from ?? -Double.greatestFiniteMagnitude)
                ORDER BY at
                """)
            for r in rows {
                out.append(
                    TelemetryRow(
                        gateway: g, at: try r[0].decode(Double.self),
                        readings: try TelemetryCodec.decode(try r[1].decode(ByteBuffer.self), names: names)))
            }
        }
        return out
    }

    public func telemetry(gateway: String, from: Double, to: Double) async throws -> [TelemetryRow] {
        let names = try await channelNames(gateways: [gateway])
        return try await rows(
            "SELECT at, readings FROM telemetry WHERE gateway = \(gateway) AND at >= \(from) AND at < \(to) ORDER BY at"
        ).map {
            TelemetryRow(
                gateway: gateway, at: try $0[0].decode(Double.self),
                readings: try TelemetryCodec.decode(try $0[1].decode(ByteBuffer.self), names: names))
        }
    }

    public func telemetryCount() async throws -> Int {
        try await rows("SELECT count(*) FROM telemetry").first?[0].decode(Int.self) ?? 0
    }

    // MARK: Labels

    public func insertLabels(_ labels: [LabelRange]) async throws {
        guard !labels.isEmpty else { return }
        try await transaction { tx in
            // One writer per gateway's spans across processes; locks taken in one order (no deadlock).
            for g in Set(labels.map(\.gateway)).sorted() {
                try await tx.rows("SELECT pg_advisory_xact_lock(hashtext('occupant.labels'), hashtext(\(g)))")
            }
            for l in labels { try await Self.mergeLabel(tx, l) }
        }
    }

    /// `SQLiteStore.mergeLabel` in PostgreSQL: the new range wins over spans of the other state, and absorbs the
    /// spans of its own state that it overlaps or touches.
    static func mergeLabel(_ tx: Tx, _ l: LabelRange) async throws {
        var start = l.from
        var end = l.to
        let before = try await tx.rows(
            """
            SELECT id, start, "end", occupied FROM labels WHERE gateway = \(l.gateway) AND start < \(l.from)
            ORDER BY start DESC LIMIT 1
            """
        ).first
        let inside = try await tx.rows(
            """
            SELECT id, start, "end", occupied FROM labels
            WHERE gateway = \(l.gateway) AND start >= \(l.from) AND start <= \(l.to) ORDER BY start
            """)
        if let b = before, try b["end"].decode(Double.self) >= l.from {
            let id = try b["id"].decode(Int.self)
            let bEnd = try b["end"].decode(Double.self)
            if try b["occupied"].decode(Bool.self) == l.occupied {
                start = try b["start"].decode(Double.self)
                end = max(end, bEnd)
                try await tx.rows("DELETE FROM labels WHERE id = \(id)")
            } else {
                try await tx.rows(#"UPDATE labels SET "end" = \#(l.from) WHERE id = \#(id)"#)
                if bEnd > l.to {
                    try await tx.rows(
                        """
                        INSERT INTO labels (gateway, start, "end", occupied, source)
                        SELECT gateway, \(l.to), \(bEnd), occupied, source FROM labels WHERE id = \(id)
                        """)
                }
            }
        }
        for s in inside {
            let id = try s["id"].decode(Int.self)
            let sStart = try s["start"].decode(Double.self)
            let sEnd = try s["end"].decode(Double.self)
            if try s["occupied"].decode(Bool.self) == l.occupied {
                end = max(end, sEnd)
                try await tx.rows("DELETE FROM labels WHERE id = \(id)")
            } else if sEnd > l.to {
                if sStart < l.to { try await tx.rows("UPDATE labels SET start = \(l.to) WHERE id = \(id)") }
            } else {
                try await tx.rows("DELETE FROM labels WHERE id = \(id)")
            }
        }
        try await tx.rows(
            """
            INSERT INTO labels (gateway, start, "end", occupied, source)
            VALUES (\(l.gateway), \(start), \(end), \(l.occupied), \(l.source))
            """)
    }

    public func labels(gateways: [String]) async throws -> [LabelRange] {
        var out: [LabelRange] = []
        for g in gateways {
            out += try await rows(
                #"SELECT start, "end", occupied, source FROM labels WHERE gateway = \#(g) ORDER BY start"#
            ).map {
                LabelRange(
                    gateway: g, from: try $0[0].decode(Double.self), to: try $0[1].decode(Double.self),
                    occupied: try $0[2].decode(Bool.self), source: try $0[3].decode(String.self))
            }
        }
        return out
    }

    public func labelCount(gateways: [String]) async throws -> Int {
        try await rows("SELECT count(*) FROM labels WHERE gateway = ANY(\(gateways))").first?[0].decode(Int.self) ?? 0
    }

    public func labelledRowCount(gateways: [String]) async throws -> Int {
        // Spans are disjoint: each row counts once; one index range scan of the telemetry key per span.
        try await rows(
            """
            SELECT count(*) FROM labels l JOIN telemetry t
                ON t.gateway = l.gateway AND t.at >= l.start AND t.at < l."end"
            WHERE l.gateway = ANY(\(gateways))
            """
        ).first?[0].decode(Int.self) ?? 0
    }

    // MARK: Registry

    /// The model and its bundle (when the local folder has it) in one transaction.
    public func addModel(_ m: ModelRecord) async throws {
        let bundle = try localBundle(m)
        let now = clock.now().seconds
        do {
            try await transaction { tx in
                try await PostgresJobQueue.fence(tx, version: m.version)
                try await tx.rows(
                    """
                    INSERT INTO models (scope, version, model_id, sha256, size, created, data_from, data_to,
                        labelled_rows_seen, report)
                    VALUES (\(m.scope), \(m.version), \(m.modelID), \(m.sha256), \(m.size), \(m.created), \(m.dataFrom),
                        \(m.dataTo), \(m.labelledRowsSeen), \(m.report))
                    """)
                try await Self.storeSummary(tx, m)
                if let bundle { try await Self.storeBundle(tx, sha256: m.sha256.lowercased(), bytes: bundle, at: now) }
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw OccupantError(
                .data, "model \(m.scope) v\(m.version) is stored already (another process recorded that version)")
        }
    }

    public func models(scope: String?) async throws -> [ModelRecord] {
        let models = try await rows(
            "SELECT * FROM models WHERE \(scope)::text IS NULL OR scope = \(scope) ORDER BY scope, version"
        ).map(Self.model(from:))
        try await materialise(models)
        return models
    }

    public func model(scope: String, version: Int) async throws -> ModelRecord? {
        let model = try await rows("SELECT * FROM models WHERE scope = \(scope) AND version = \(version)").first.map(
            Self.model(from:))
        if let model { try await materialise([model]) }
        return model
    }

    static func model(from r: PostgresRandomAccessRow) throws -> ModelRecord {
        ModelRecord(
            scope: try r["scope"].decode(String.self), version: try r["version"].decode(Int.self),
            modelID: try r["model_id"].decode(String.self), sha256: try r["sha256"].decode(String.self),
            size: try r["size"].decode(Int.self), created: try r["created"].decode(Double.self),
            dataFrom: try r["data_from"].decode(Double.self), dataTo: try r["data_to"].decode(Double.self),
            labelledRowsSeen: try r["labelled_rows_seen"].decode(Int.self), report: try r["report"].decode(String.self))
    }

    public func nextVersion(scope: String) async throws -> Int {
        (try await rows("SELECT max(version) FROM models WHERE scope = \(scope)").first?[0].decode(Int?.self) ?? 0) + 1
    }

    public func setAlias(scope: String, alias: String, version: Int?) async throws {
        if let version {
            try await execute(
                """
                INSERT INTO aliases (scope, alias, version) VALUES (\(scope), \(alias), \(version))
                ON CONFLICT (scope, alias) DO UPDATE SET version = EXCLUDED.version
                """)
        } else {
            try await execute("DELETE FROM aliases WHERE scope = \(scope) AND alias = \(alias)")
        }
    }

    public func alias(scope: String, alias: String) async throws -> Int? {
        try await rows("SELECT version FROM aliases WHERE scope = \(scope) AND alias = \(alias)").first?[0].decode(
            Int.self)
    }

    public func addPromotion(_ r: PromotionRecord) async throws {
        try await execute(
            """
            INSERT INTO promotions (scope, at, challenger, champion, promoted, reason)
            VALUES (\(r.scope), \(r.at), \(r.challenger), \(r.champion), \(r.promoted), \(r.reason))
            """)
    }

    public func promotions(scope: String?) async throws -> [PromotionRecord] {
        try await rows("SELECT * FROM promotions WHERE \(scope)::text IS NULL OR scope = \(scope) ORDER BY id").map {
            PromotionRecord(
                scope: try $0["scope"].decode(String.self), at: try $0["at"].decode(Double.self),
                challenger: try $0["challenger"].decode(Int.self), champion: try $0["champion"].decode(Int?.self),
                promoted: try $0["promoted"].decode(Bool.self), reason: try $0["reason"].decode(String.self))
        }
    }

    public func addMetric(_ r: MetricRecord) async throws {
        try await execute(
            """
            INSERT INTO metrics (scope, version, at, kind, metric, value, rows)
            VALUES (\(r.scope), \(r.version), \(r.at), \(r.kind), \(r.metric), \(r.value), \(r.rows))
            """)
    }

    public func metrics(scope: String?) async throws -> [MetricRecord] {
        try await rows("SELECT * FROM metrics WHERE \(scope)::text IS NULL OR scope = \(scope) ORDER BY id").map {
            MetricRecord(
                scope: try $0["scope"].decode(String.self), version: try $0["version"].decode(Int.self),
                at: try $0["at"].decode(Double.self), kind: try $0["kind"].decode(String.self),
                metric: try $0["metric"].decode(String.self), value: try $0["value"].decode(Double.self),
                rows: try $0["rows"].decode(Int.self))
        }
    }
}

/// The message both stores give for a reading of the other kind than its channel holds (400).
func channelKindError(gateway: String, at: Double, channel: String, value: ChannelValue, known: String) -> IntakeError {
    let kind: String
    let shown: String
    switch value {
    case .number(let n):
        kind = "number"
        shown = formatNumber(n)
    case .category(let c):
        kind = "text"
        shown = "'\(c.prefix(40))\(c.count > 40 ? "…" : "")'"
    }
    return IntakeError(
        400,
        "readings.\(channel) at \(Instant(seconds: at).iso8601) is \(kind == "text" ? "text" : "a number") "
            + "(\(shown)), but gateway '\(gateway)' sends \(known == "text" ? "text" : "numbers") on '\(channel)'")
}

/// A telemetry row's readings as bytes: per reading, the channel's id (unsigned LEB128), a tag (0 no reading,
/// 1 number: 8 bytes little-endian IEEE 754, 2 text: LEB128 length then UTF-8).
enum TelemetryCodec {
    static func encode(_ readings: [String: ChannelValue?], ids: [String: Int]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(readings.count * 10)
        for (channel, value) in readings.sorted(by: { $0.key < $1.key }) {
            guard let id = ids[channel] else { continue }
            writeVarint(UInt64(id), to: &buffer)
            switch value {
            case nil:
                buffer.writeInteger(UInt8(0))
            case .number(let n):
                buffer.writeInteger(UInt8(1))
                buffer.writeInteger(n.bitPattern, endianness: .little)
            case .category(let c):
                buffer.writeInteger(UInt8(2))
                let bytes = Array(c.utf8)
                writeVarint(UInt64(bytes.count), to: &buffer)
                buffer.writeBytes(bytes)
            }
        }
        return buffer
    }

    static func decode(_ bytes: ByteBuffer, names: [Int: String]) throws -> [String: ChannelValue?] {
        var buffer = bytes
        var out: [String: ChannelValue?] = [:]
        while buffer.readableBytes > 0 {
            guard let id = readVarint(&buffer), let tag = buffer.readInteger(as: UInt8.self) else { throw damaged }
            let value: ChannelValue?
            switch tag {
            case 0: value = nil
            case 1:
                guard let bits = buffer.readInteger(endianness: .little, as: UInt64.self) else { throw damaged }
                value = .number(Double(bitPattern: bits))
            case 2:
                guard let count = readVarint(&buffer), let text = buffer.readString(length: Int(count)) else {
                    throw damaged
                }
                value = .category(text)
            default: throw damaged
            }
            guard let name = names[Int(id)] else { throw damaged }
            out[name] = .some(value)
        }
        return out
    }

    static var damaged: OccupantError {
        OccupantError(.data, "a stored telemetry row is damaged (readings do not decode)")
    }

    static func writeVarint(_ value: UInt64, to buffer: inout ByteBuffer) {
        var v = value
        while v >= 0x80 {
            buffer.writeInteger(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        buffer.writeInteger(UInt8(v))
    }

    static func readVarint(_ buffer: inout ByteBuffer) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64 {
            guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }
}
