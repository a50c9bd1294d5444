import FleetProtocol
import Foundation
import OccupantCore
import PostgresNIO

/// Rollouts, gateway statuses, rollbacks, alerts, monitor windows and the Fleet page on PostgreSQL.
extension PostgresStore {
    // MARK: Rollouts

    public func startRollout(_ r: Rollout, members: [RolloutMember]) async throws {
        try await transaction { tx in
            try await Self.writeRollout(tx, r)
            try await tx.rows("DELETE FROM rollout_members WHERE scope = \(r.scope)")
            for m in members { try await Self.writeMember(tx, scope: r.scope, m) }
        }
    }

    public func setRollout(_ r: Rollout) async throws {
        try await transaction { tx in try await Self.writeRollout(tx, r) }
    }

    public func setRolloutMember(scope: String, _ m: RolloutMember) async throws {
        try await transaction { tx in try await Self.writeMember(tx, scope: scope, m) }
    }

    static func writeRollout(_ tx: Tx, _ r: Rollout) async throws {
        try await tx.rows(
            """
            INSERT INTO rollouts (scope, version, previous, waves, reached, state, reason, started, reached_at)
            VALUES (\(r.scope), \(r.version), \(r.previous), \(r.waves), \(r.reached), \(r.state.rawValue), \(r.reason),
                \(r.started), \(r.reachedAt))
            ON CONFLICT (scope) DO UPDATE SET version = EXCLUDED.version, previous = EXCLUDED.previous,
                waves = EXCLUDED.waves, reached = EXCLUDED.reached, state = EXCLUDED.state, reason = EXCLUDED.reason,
                started = EXCLUDED.started, reached_at = EXCLUDED.reached_at
            """)
    }

    static func writeMember(_ tx: Tx, scope: String, _ m: RolloutMember) async throws {
        try await tx.rows(
            """
            INSERT INTO rollout_members (scope, gateway, wave, since, passed_at, rolled_back_at, reason)
            VALUES (\(scope), \(m.gateway), \(m.wave), \(m.since), \(m.passedAt), \(m.rolledBackAt), \(m.reason))
            ON CONFLICT (scope, gateway) DO UPDATE SET wave = EXCLUDED.wave, since = EXCLUDED.since,
                passed_at = EXCLUDED.passed_at, rolled_back_at = EXCLUDED.rolled_back_at, reason = EXCLUDED.reason
            """)
    }

    public func rollout(scope: String) async throws -> Rollout? {
        try await rows("SELECT * FROM rollouts WHERE scope = \(scope)").first.map(Self.rollout(from:))
    }

    static func rollout(from r: PostgresRandomAccessRow) throws -> Rollout {
        Rollout(
            scope: try r["scope"].decode(String.self), version: try r["version"].decode(Int.self),
            previous: try r["previous"].decode(Int?.self), waves: try r["waves"].decode(Int.self),
            reached: try r["reached"].decode(Int.self),
            state: Rollout.State(rawValue: try r["state"].decode(String.self)) ?? .running,
            reason: try r["reason"].decode(String?.self), started: try r["started"].decode(Double.self),
            reachedAt: try r["reached_at"].decode(Double.self))
    }

    public func rolloutMembers(scope: String) async throws -> [RolloutMember] {
        try await rows("SELECT * FROM rollout_members WHERE scope = \(scope) ORDER BY wave, gateway").map(
            Self.member(from:))
    }

    public func rolloutMember(scope: String, gateway: String) async throws -> RolloutMember? {
        try await rows("SELECT * FROM rollout_members WHERE scope = \(scope) AND gateway = \(gateway)").first.map(
            Self.member(from:))
    }

    static func member(from r: PostgresRandomAccessRow) throws -> RolloutMember {
        RolloutMember(
            gateway: try r["gateway"].decode(String.self), wave: try r["wave"].decode(Int.self),
            since: try r["since"].decode(Double?.self), passedAt: try r["passed_at"].decode(Double?.self),
            rolledBackAt: try r["rolled_back_at"].decode(Double?.self), reason: try r["reason"].decode(String?.self))
    }

    // MARK: Gateway status and rollbacks

    public func setGatewayStatus(_ s: GatewayStatus) async throws {
        let now = clock.now().seconds
        let figures = try SQLiteStore.statusFigures(s)
        try await transaction { tx in
            try await tx.rows(
                """
                INSERT INTO gateway_seen (gateway, at) VALUES (\(s.gateway), \(now))
                ON CONFLICT (gateway) DO UPDATE SET at = EXCLUDED.at
                """)
            try await tx.rows(
                """
                INSERT INTO gateway_status (gateway, active, sha256, refused, at, figures)
                VALUES (\(s.gateway), \(s.active), \(s.sha256), \(s.refused), \(s.at), \(figures))
                ON CONFLICT (gateway) DO UPDATE SET active = EXCLUDED.active, sha256 = EXCLUDED.sha256,
                    refused = EXCLUDED.refused, at = EXCLUDED.at, figures = EXCLUDED.figures
                """)
        }
    }

    public func gatewayStatuses() async throws -> [GatewayStatus] {
        try await rows("SELECT * FROM gateway_status ORDER BY gateway").map(Self.gatewayStatus(from:))
    }

    /// A status row with its figures.
    static func gatewayStatus(from r: PostgresRandomAccessRow) throws -> GatewayStatus {
        SQLiteStore.withFigures(
            GatewayStatus(
                gateway: try r["gateway"].decode(String.self), active: try r["active"].decode(String?.self),
                sha256: try r["sha256"].decode(String?.self), refused: try r["refused"].decode(String?.self),
                at: try r["at"].decode(Double.self)),
            figures: try r["figures"].decode(String?.self))
    }

    public func gatewaysLastSeen() async throws -> [String: Double] {
        Dictionary(
            try await rows("SELECT gateway, at FROM gateway_seen").map {
                (try $0[0].decode(String.self), try $0[1].decode(Double.self))
            }, uniquingKeysWith: { a, b in max(a, b) })
    }

    public func addRollback(_ r: ModelRollbackRecord) async throws -> Bool {
        !(try await rows(
            """
            INSERT INTO model_rollbacks (gateway, sha256, at, version, guard, reason, received)
            VALUES (\(r.gateway), \(r.sha256), \(r.at), \(r.version), \(r.guardName), \(r.reason), \(r.received))
            ON CONFLICT DO NOTHING RETURNING 1
            """
        ).isEmpty)
    }

    public func rollbacks(gateway: String?) async throws -> [ModelRollbackRecord] {
        try await rows(
            "SELECT * FROM model_rollbacks WHERE \(gateway)::text IS NULL OR gateway = \(gateway) ORDER BY at, gateway, sha256"
        ).map {
            ModelRollbackRecord(
                gateway: try $0["gateway"].decode(String.self), version: try $0["version"].decode(Int?.self),
                sha256: try $0["sha256"].decode(String.self), guardName: try $0["guard"].decode(String.self),
                reason: try $0["reason"].decode(String.self), at: try $0["at"].decode(Double.self),
                received: try $0["received"].decode(Double.self))
        }
    }

    // MARK: Alerts

    public func alerts(scope: String?) async throws -> [(at: Double, message: String)] {
        try await rows(
            "SELECT raised_at, message FROM alerts WHERE \(scope)::text IS NULL OR scope = \(scope) ORDER BY id"
        ).map { (at: try $0[0].decode(Double.self), message: try $0[1].decode(String.self)) }
    }

    /// One statement: the partial unique index on open alerts makes a second raise (from any process) a no-op.
    public func raiseAlert(
        kind: String, subject: String, scope: String, gateway: String?, numbers: [String: Double], message: String,
        at: Double
    ) async throws -> AlertDocument? {
        let numbersText = String(decoding: try FleetJSON.bytes(numbers), as: UTF8.self)
        return try await rows(
            """
            INSERT INTO alerts (scope, raised_at, message, kind, subject, gateway, numbers)
            VALUES (\(scope), \(at), \(message), \(kind), \(subject), \(gateway), \(numbersText))
            ON CONFLICT (kind, subject) WHERE cleared_at IS NULL DO NOTHING
            RETURNING *
            """
        ).first.map(Self.alert(from:))
    }

    public func clearAlert(kind: String, subject: String, at: Double) async throws -> AlertDocument? {
        try await rows(
            """
            UPDATE alerts SET cleared_at = \(at) WHERE kind = \(kind) AND subject = \(subject) AND cleared_at IS NULL
            RETURNING *
            """
        ).first.map(Self.alert(from:))
    }

    public func openAlertSubjects(kind: String, gateway: String) async throws -> [String] {
        try await rows(
            """
            SELECT subject FROM alerts WHERE kind = \(kind) AND gateway = \(gateway) AND cleared_at IS NULL ORDER BY id
            """
        ).map { try $0[0].decode(String.self) }
    }

    public func alertDocuments(open: Bool) async throws -> [AlertDocument] {
        try await rows("SELECT * FROM alerts WHERE NOT \(open) OR cleared_at IS NULL ORDER BY id").map(
            Self.alert(from:))
    }

    public func openAlerts(gateways: [String]) async throws -> [AlertDocument] {
        try await rows(
            "SELECT * FROM alerts WHERE gateway = ANY(\(gateways)) AND cleared_at IS NULL ORDER BY id"
        ).map(Self.alert(from:))
    }

    public func acknowledgeAlert(id: Int, by: String, at: Double) async throws -> AlertDocument? {
        try await transaction { tx in
            try await tx.rows(
                """
                UPDATE alerts SET acknowledged_at = \(at), acknowledged_by = \(by)
                WHERE id = \(id) AND acknowledged_at IS NULL
                """)
            return try await tx.rows("SELECT * FROM alerts WHERE id = \(id)").first.map(Self.alert(from:))
        }
    }

    public func clearedAlerts(limit: Int) async throws -> [AlertDocument] {
        try await rows(
            "SELECT * FROM alerts WHERE cleared_at IS NOT NULL ORDER BY cleared_at DESC, id DESC LIMIT \(limit)"
        ).map(Self.alert(from:))
    }

    static func alert(from r: PostgresRandomAccessRow) throws -> AlertDocument {
        let numbersText = try r["numbers"].decode(String.self)
        let numbers = (try? FleetJSON.decode([String: Double].self, from: numbersText.utf8)) ?? [:]
        return AlertDocument(
            id: try r["id"].decode(Int.self), kind: try r["kind"].decode(String.self),
            scope: try r["scope"].decode(String.self), gateway: try r["gateway"].decode(String?.self),
            numbers: numbers, message: try r["message"].decode(String.self),
            raisedAt: Instant(seconds: try r["raised_at"].decode(Double.self)).iso8601,
            clearedAt: try r["cleared_at"].decode(Double?.self).map { Instant(seconds: $0).iso8601 },
            acknowledgedAt: try r["acknowledged_at"].decode(Double?.self).map { Instant(seconds: $0).iso8601 },
            acknowledgedBy: try r["acknowledged_by"].decode(String?.self))
    }

    // MARK: Monitor windows

    public func insertMonitor(_ document: MonitorDocument) async throws {
        guard let from = document.window.from.seconds, let to = document.window.to.seconds else {
            throw OccupantError(.data, "a monitor window without its times cannot be stored")
        }
        var sent = document
        sent.realised = nil // measured here (`setRealised`), never taken from a gateway
        let text = try FleetJSON.text(sent)
        let now = clock.now().seconds
        try await execute(
            """
            INSERT INTO monitor_windows (gateway, window_from, window_to, received, document, expected_accuracy)
            VALUES (\(document.gateway), \(from), \(to), \(now), \(text), \(document.expectedAccuracy))
            ON CONFLICT (gateway, window_from) DO UPDATE SET window_to = EXCLUDED.window_to,
                received = EXCLUDED.received, document = EXCLUDED.document,
                expected_accuracy = EXCLUDED.expected_accuracy
            """)
    }

    public func monitorWindows(gateway: String, since: Double?) async throws -> [MonitorDocument] {
        try await rows(
            """
            SELECT w.document, r.document AS realised FROM monitor_windows w
            LEFT JOIN monitor_realised r ON r.gateway = w.gateway AND r.window_from = w.window_from
            WHERE w.gateway = \(gateway) AND (\(since)::float8 IS NULL OR w.window_to > \(since))
            ORDER BY w.window_from
            """
        ).map(Self.monitorWindow(from:))
    }

    public func monitorWindows(gateway: String, last: Int) async throws -> [MonitorDocument] {
        try await rows(
            """
            SELECT w.document, r.document AS realised FROM monitor_windows w
            LEFT JOIN monitor_realised r ON r.gateway = w.gateway AND r.window_from = w.window_from
            WHERE w.gateway = \(gateway) ORDER BY w.window_from DESC LIMIT \(last)
            """
        ).map(Self.monitorWindow(from:)).reversed()
    }

    static func monitorWindow(from r: PostgresRandomAccessRow) throws -> MonitorDocument {
        var document = try FleetJSON.decode(MonitorDocument.self, from: try r["document"].decode(String.self).utf8)
        if let realised = try r["realised"].decode(String?.self) {
            document.realised = try? FleetJSON.decode(MonitorDocument.Realised.self, from: realised.utf8)
        }
        return document
    }

    public func setRealised(gateway: String, windowFrom: Double, _ realised: MonitorDocument.Realised) async throws {
        let text = try FleetJSON.text(realised)
        try await execute(
            """
            INSERT INTO monitor_realised (gateway, window_from, document)
            SELECT gateway, window_from, \(text) FROM monitor_windows
            WHERE gateway = \(gateway) AND window_from = \(windowFrom)
            ON CONFLICT (gateway, window_from) DO UPDATE SET document = EXCLUDED.document
            """)
    }

    public func latestMonitorWindows(gateways: [String], endingAfter: Double) async throws -> [(
        window: MonitorDocument, realised: MonitorDocument.Realised?
    )] {
        let found = try await rows(
            """
            SELECT w.window_to, w.document,
                (SELECT r.document FROM monitor_realised r WHERE r.gateway = w.gateway
                    ORDER BY r.window_from DESC LIMIT 1) AS realised
            FROM (SELECT DISTINCT ON (gateway) gateway, window_to, document FROM monitor_windows
                WHERE gateway = ANY(\(gateways)) ORDER BY gateway, window_from DESC) w
            WHERE w.window_to > \(endingAfter)
            ORDER BY w.window_to DESC, w.gateway
            """)
        return try found.map { r in
            let window = try FleetJSON.decode(MonitorDocument.self, from: try r["document"].decode(String.self).utf8)
            let realised = try r["realised"].decode(String?.self).flatMap {
                try? FleetJSON.decode(MonitorDocument.Realised.self, from: $0.utf8)
            }
            return (window, realised)
        }
    }

    public func monitorWindowsEnd(gateway: String) async throws -> Double? {
        try await rows("SELECT max(window_to) FROM monitor_windows WHERE gateway = \(gateway)").first?[0].decode(
            Double?.self)
    }

    // MARK: Fleet page

    /// Replaces the `fleet` copy when the configuration changed (under a transaction lock: processes with the same
    /// configuration write it once).
    func syncFleet(_ roster: FleetRoster) async throws {
        let current = try await rows("SELECT signature FROM fleet_signature").first?[0].decode(String.self)
        guard current != roster.signature else { return }
        try await transaction { tx in
            try await tx.rows("LOCK TABLE fleet_signature IN EXCLUSIVE MODE")
            let now = try await tx.rows("SELECT signature FROM fleet_signature").first?[0].decode(String.self)
            guard now != roster.signature else { return }
            try await tx.rows("DELETE FROM fleet")
            try await tx.rows("DELETE FROM fleet_signature")
            try await tx.rows(
                """
                INSERT INTO fleet (id, scope) SELECT * FROM unnest(\(roster.gateways.map(\.id))::text[],
                    \(roster.gateways.map(\.scope))::text[]) ON CONFLICT DO NOTHING
                """)
            try await tx.rows("INSERT INTO fleet_signature (signature) VALUES (\(roster.signature))")
        }
    }

    public func fleet(
        _ query: FleetQuery, configured: FleetRoster, now: Double, onlineWithin: Double, probation: Double
    ) async throws -> FleetDocument {
        try await syncFleet(configured)
        // $1 now, $2 onlineWithin, $3 scope filter, $4 state filter, $5 limit, $6 offset.
        let rowsCTE = """
            WITH open_alerts AS (
                SELECT gateway, count(*) AS n FROM alerts WHERE cleared_at IS NULL AND gateway IS NOT NULL
                GROUP BY gateway),
            rows AS (
                SELECT f.id, f.scope, s.at AS seen, st.active, m.wave, COALESCE(a.n, 0) AS alerts,
                    CASE WHEN s.at IS NULL THEN 'never' WHEN $1::float8 - s.at <= $2::float8 THEN 'online'
                        ELSE 'offline' END AS state
                FROM fleet f
                LEFT JOIN gateway_seen s ON s.gateway = f.id
                LEFT JOIN gateway_status st ON st.gateway = f.id
                LEFT JOIN rollout_members m ON m.scope = f.scope AND m.gateway = f.id
                LEFT JOIN open_alerts a ON a.gateway = f.id)
            """
        let order = query.descending ? " DESC" : ""
        let orderBy: String =
            switch query.sort {
            case .id: "id\(order)"
            case .scope: "scope\(order), id"
            case .seen: "seen IS NULL, seen\(order), id"
            case .model: "active IS NULL, active\(order), id"
            case .alerts: "alerts\(order), id"
            }
        let filter = "WHERE ($3::text IS NULL OR scope = $3::text) AND ($4::text IS NULL OR state = $4::text)"
        let page = max(1, query.page)
        let size = max(1, min(500, query.pageSize))
        func binds(_ count: Int) -> PostgresBindings {
            var b = PostgresBindings()
            b.append(now)
            b.append(onlineWithin)
            if count > 2 {
                b.append(query.scope)
                b.append(query.state)
            }
            if count > 4 {
                b.append(size)
                b.append((page - 1) * size)
            }
            return b
        }
        var states: [String: Int] = [:]
        var models: [String: Int] = [:]
        for r in try await rows(
            PostgresQuery(
                unsafeSQL: rowsCTE + " SELECT state, active, count(*) AS n FROM rows GROUP BY state, active",
                binds: binds(2)))
        {
            let n = try r["n"].decode(Int.self)
            states[try r["state"].decode(String.self), default: 0] += n
            models[try r["active"].decode(String?.self) ?? "none", default: 0] += n
        }
        let matching =
            try await rows(
                PostgresQuery(unsafeSQL: rowsCTE + " SELECT count(*) FROM rows \(filter)", binds: binds(4))
            ).first?[0].decode(Int.self) ?? 0
        let gateways = try await rows(
            PostgresQuery(
                unsafeSQL: rowsCTE
                    + """
                     SELECT p.*,
                        (SELECT w.expected_accuracy FROM monitor_windows w WHERE w.gateway = p.id
                            ORDER BY w.window_from DESC LIMIT 1) AS estimated,
                        (SELECT count(*) FROM alerts a WHERE a.kind = 'drift' AND a.gateway = p.id
                            AND a.cleared_at IS NULL) AS drifting
                     FROM (SELECT * FROM rows \(filter) ORDER BY \(orderBy) LIMIT $5 OFFSET $6) AS p ORDER BY \(orderBy)
                    """,
                binds: binds(6))
        ).map { r in
            FleetDocument.Gateway(
                id: try r["id"].decode(String.self), scope: try r["scope"].decode(String.self),
                state: try r["state"].decode(String.self),
                lastSeen: try r["seen"].decode(Double?.self).map { Instant(seconds: $0).iso8601 },
                active: try r["active"].decode(String?.self), wave: try r["wave"].decode(Int?.self).map { $0 + 1 },
                openAlerts: try r["alerts"].decode(Int.self),
                estimatedAccuracy: try r["estimated"].decode(Double?.self),
                drifting: try r["drifting"].decode(Int.self))
        }
        let conditions = try await rows(
            """
            SELECT
                (SELECT count(DISTINCT a.gateway) FROM alerts a JOIN fleet f ON f.id = a.gateway
                    WHERE a.kind = 'silent' AND a.cleared_at IS NULL) AS silent,
                (SELECT count(*) FROM rollout_members m JOIN fleet f ON f.id = m.gateway AND f.scope = m.scope
                    JOIN rollouts r ON r.scope = m.scope
                    WHERE r.state = 'running' AND m.wave <= r.reached AND m.since IS NOT NULL
                        AND m.passed_at IS NULL AND m.rolled_back_at IS NULL AND \(now) - m.since < \(probation))
                    AS in_probation,
                (SELECT count(*) FROM rollout_members m JOIN fleet f ON f.id = m.gateway AND f.scope = m.scope
                    WHERE m.rolled_back_at IS NOT NULL) AS rolled_back
            """
        ).first
        return FleetDocument(
            states: states, models: models,
            conditions: [
                "silent": try conditions?["silent"].decode(Int.self) ?? 0,
                "inProbation": try conditions?["in_probation"].decode(Int.self) ?? 0,
                "rolledBack": try conditions?["rolled_back"].decode(Int.self) ?? 0,
            ], matching: matching, page: page, pageSize: size, gateways: gateways)
    }
}
