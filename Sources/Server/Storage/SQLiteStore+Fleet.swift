import Evaluator
import FleetProtocol
import GRDB
import OccupantCore

/// A Fleet page request: filter, sort, page.
public struct FleetQuery: Sendable, Equatable {
    public enum Sort: String, Sendable, CaseIterable { case id, scope, seen, model, alerts }
    public static let states = ["online", "offline", "never"]

    public var scope: String?
    public var state: String?
    public var sort = Sort.id
    public var descending = false
    /// 1-based.
    public var page = 1
    public var pageSize = 50

    public init(
        scope: String? = nil, state: String? = nil, sort: Sort = .id, descending: Bool = false, page: Int = 1,
        pageSize: Int = 50
    ) {
        self.scope = scope
        self.state = state
        self.sort = sort
        self.descending = descending
        self.page = page
        self.pageSize = pageSize
    }
}

/// The configured gateways (id, scope) and a signature of the list: the store keeps a copy in its `fleet` table so
/// that the Fleet screen filters, sorts and pages in SQL; the copy is replaced when the signature changes.
public struct FleetRoster: Sendable {
    public let gateways: [(id: String, scope: String)]
    public let signature: String

    public init(_ gateways: [ServerConfig.Gateway]) {
        self.gateways = gateways.map { ($0.id, $0.scope) }
        signature = sha256Hex(Array(gateways.map { "\($0.id)\u{1F}\($0.scope)" }.joined(separator: "\u{1E}").utf8))
    }
}

extension SQLiteStore {
    static func migrateDashboard(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE fleet (id TEXT PRIMARY KEY, scope TEXT NOT NULL) WITHOUT ROWID;
                CREATE INDEX fleet_scope ON fleet (scope, id);
                CREATE TABLE fleet_signature (signature TEXT NOT NULL);
                """)
        // The Fleet page counts open alerts per gateway (every store has the table; a hand-built one may not).
        if try db.tableExists("alerts") {
            try db.execute(sql: "CREATE INDEX alerts_open_gateway ON alerts (gateway) WHERE cleared_at IS NULL")
        }
    }

    /// Figures computed for the rows of one page only: the newest monitor window's accuracy estimate and the open
    /// drift alerts.
    static let pageFigures = """
        SELECT p.*,
            (SELECT json_extract(w.document, '$.expectedAccuracy') FROM monitor_windows w WHERE w.gateway = p.id
                ORDER BY w.window_from DESC LIMIT 1) AS estimated,
            (SELECT COUNT(*) FROM alerts a WHERE a.kind = 'drift' AND a.gateway = p.id AND a.cleared_at IS NULL)
                AS drifting,
            (SELECT json_extract(w.document, '$.shadow.model') FROM monitor_windows w WHERE w.gateway = p.id
                ORDER BY w.window_from DESC LIMIT 1) AS shadow,
            COALESCE(
                (SELECT version FROM aliases WHERE scope = p.scope AND alias = 'shadow@' || p.id),
                (SELECT version FROM aliases WHERE scope = p.scope AND alias = 'shadow')) AS shadow_assigned
        """

    /// Replaces the `fleet` copy when the configuration changed.
    func syncFleet(_ roster: FleetRoster) async throws {
        let current = try await pool.read { db in try String.fetchOne(db, sql: "SELECT signature FROM fleet_signature")
        }
        guard current != roster.signature else { return }
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM fleet; DELETE FROM fleet_signature;")
            let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO fleet (id, scope) VALUES (?, ?)")
            for g in roster.gateways { try insert.execute(arguments: [g.id, g.scope]) }
            try db.execute(sql: "INSERT INTO fleet_signature (signature) VALUES (?)", arguments: [roster.signature])
        }
    }

    public func fleet(
        _ query: FleetQuery, configured: FleetRoster, now: Double, onlineWithin: Double, probation: Double
    ) async throws -> FleetDocument {
        try await syncFleet(configured)
        // One row per configured gateway: its state, last contact, active model, rollout wave, open alerts.
        let rows = """
            WITH open_alerts AS (
                SELECT gateway, COUNT(*) AS n FROM alerts WHERE cleared_at IS NULL AND gateway IS NOT NULL
                GROUP BY gateway),
            rows AS (
                SELECT f.id, f.scope, s.at AS seen, st.active, m.wave, COALESCE(a.n, 0) AS alerts,
                    CASE WHEN s.at IS NULL THEN 'never' WHEN ?1 - s.at <= ?2 THEN 'online' ELSE 'offline' END AS state
                FROM fleet f
                LEFT JOIN gateway_seen s ON s.gateway = f.id
                LEFT JOIN gateway_status st ON st.gateway = f.id
                LEFT JOIN rollout_members m ON m.scope = f.scope AND m.gateway = f.id
                LEFT JOIN open_alerts a ON a.gateway = f.id)
            """
        let column: String =
            switch query.sort {
            case .id: "id"
            case .scope: "scope, id"
            case .seen: "seen IS NULL, seen"
            case .model: "active IS NULL, active"
            case .alerts: "alerts"
            }
        let order = query.descending ? " DESC" : ""
        let orderBy =
            query.sort == .scope
            ? "scope\(order), id" : query.sort == .id ? "id\(order)" : "\(column)\(order), id"
        let filter = "WHERE (?3 IS NULL OR scope = ?3) AND (?4 IS NULL OR state = ?4)"
        let page = max(1, query.page)
        let size = max(1, min(500, query.pageSize))
        // SQLite counts the highest ?N as the statement's parameters: each statement gets exactly as many.
        let counting: StatementArguments = [now, onlineWithin]
        let filtering: StatementArguments = [now, onlineWithin, query.scope, query.state]
        let paging: StatementArguments = [now, onlineWithin, query.scope, query.state, size, (page - 1) * size]
        return try await pool.read { db in
            var states: [String: Int] = [:]
            var models: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: rows + " SELECT state, active, COUNT(*) AS n FROM rows GROUP BY state, active",
                arguments: counting)
            {
                let n: Int = row["n"]
                states[row["state"], default: 0] += n
                models[(row["active"] as String?) ?? "none", default: 0] += n
            }
            let matching =
                try Int.fetchOne(db, sql: rows + " SELECT COUNT(*) FROM rows \(filter)", arguments: filtering) ?? 0
            let gateways = try Row.fetchAll(
                db,
                sql: rows + Self.pageFigures
                    + " FROM (SELECT * FROM rows \(filter) ORDER BY \(orderBy) LIMIT ?5 OFFSET ?6) AS p ORDER BY \(orderBy)",
                arguments: paging
            ).map { row in
                let wave: Int? = row["wave"]
                let active: String? = row["active"]
                // A shadow equal to the version it runs is not scored (`ModelRegistry.shadowModel`).
                let assigned = (row["shadow_assigned"] as Int?).flatMap {
                    active?.hasSuffix("@\($0)") == true ? nil : $0
                }
                return FleetDocument.Gateway(
                    id: row["id"], scope: row["scope"], state: row["state"],
                    lastSeen: (row["seen"] as Double?).map { Instant(seconds: $0).iso8601 }, active: row["active"],
                    wave: wave.map { $0 + 1 }, openAlerts: row["alerts"], estimatedAccuracy: row["estimated"],
                    drifting: row["drifting"], shadow: row["shadow"], shadowAssigned: assigned)
            }
            // Conditions that overlap the states: an open `silent` alert; in the scope's current rollout, running
            // the new version within probation, or rolled back by its own guard.
            let conditions = try Row.fetchOne(
                db,
                sql: """
                    SELECT
                        (SELECT COUNT(DISTINCT a.gateway) FROM alerts a JOIN fleet f ON f.id = a.gateway
                            WHERE a.kind = 'silent' AND a.cleared_at IS NULL) AS silent,
                        (SELECT COUNT(*) FROM rollout_members m JOIN fleet f ON f.id = m.gateway AND f.scope = m.scope
                            JOIN rollouts r ON r.scope = m.scope
                            WHERE r.state = 'running' AND m.wave <= r.reached AND m.since IS NOT NULL
                                AND m.passed_at IS NULL AND m.rolled_back_at IS NULL AND ?1 - m.since < ?2)
                            AS inProbation,
                        (SELECT COUNT(*) FROM rollout_members m JOIN fleet f ON f.id = m.gateway AND f.scope = m.scope
                            WHERE m.rolled_back_at IS NOT NULL) AS rolledBack
                    """, arguments: [now, probation])
            return FleetDocument(
                states: states, models: models,
                conditions: [
                    "silent": conditions?["silent"] ?? 0, "inProbation": conditions?["inProbation"] ?? 0,
                    "rolledBack": conditions?["rolledBack"] ?? 0,
                ], matching: matching, page: page, pageSize: size, gateways: gateways)
        }
    }

    public func monitorWindowsEnd(gateway: String) async throws -> Double? {
        try await pool.read { db in
            try Double.fetchOne(
                db, sql: "SELECT MAX(window_to) FROM monitor_windows WHERE gateway = ?", arguments: [gateway])
        }
    }

    public func clearedAlerts(limit: Int) async throws -> [AlertDocument] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM alerts WHERE cleared_at IS NOT NULL ORDER BY cleared_at DESC, id DESC LIMIT ?",
                arguments: [limit]
            ).map(Self.alert(from:))
        }
    }
}
