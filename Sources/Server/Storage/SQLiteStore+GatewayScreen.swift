import FleetProtocol
import GRDB
import OccupantCore

/// The reads the dashboard's Gateway screen makes, each bounded by an index: one gateway's label spans over a span of
/// time, the points where the model its monitor windows name changed, its last status.
extension ServerStore {
    /// A fallback for a store without its own query: the gateway's spans filtered in memory.
    public func labels(gateway: String, from: Double, to: Double) async throws -> [LabelRange] {
        try await labels(gateways: [gateway]).filter { $0.from < to && $0.to > from }
    }

    public func modelChanges(gateway: String, limit: Int) async throws -> [(at: Double, decidedBy: String?)] {
        var changes: [(at: Double, decidedBy: String?)] = []
        for w in try await monitorWindows(gateway: gateway, since: nil) {
            if let at = w.window.from.seconds, changes.isEmpty || changes.last!.decidedBy != w.decidedBy {
                changes.append((at, w.decidedBy))
            }
        }
        return Array(changes.suffix(limit))
    }

    public func gatewayStatus(gateway: String) async throws -> GatewayStatus? {
        try await gatewayStatuses().first { $0.gateway == gateway }
    }
}

extension SQLiteStore {
    public func labels(gateway: String, from: Double, to: Double) async throws -> [LabelRange] {
        try await pool.read { db in
            // Spans are disjoint: the one that starts before `from` (if it reaches into the span), then those that
            // start inside it; both range scans of `labels_spans`.
            let before = try Row.fetchAll(
                db,
                sql: #"""
                    SELECT start, "end", occupied, source FROM labels WHERE gateway = ? AND start < ?
                    ORDER BY start DESC LIMIT 1
                    """#, arguments: [gateway, from])
            let inside = try Row.fetchAll(
                db,
                sql: #"""
                    SELECT start, "end", occupied, source FROM labels WHERE gateway = ? AND start >= ? AND start < ?
                    ORDER BY start
                    """#, arguments: [gateway, from, to])
            return (before + inside).map {
                LabelRange(
                    gateway: gateway, from: $0["start"], to: $0["end"], occupied: $0["occupied"], source: $0["source"])
            }.filter { $0.to > from }
        }
    }

    public func modelChanges(gateway: String, limit: Int) async throws -> [(at: Double, decidedBy: String?)] {
        try await pool.read { db in
            // One pass over the gateway's windows (its primary-key range), keeping only the changes.
            try Row.fetchAll(
                db,
                sql: """
                    SELECT at, decided FROM (
                        SELECT window_from AS at, json_extract(document, '$.decidedBy') AS decided,
                            LAG(json_extract(document, '$.decidedBy'), 1, '\u{1}') OVER (ORDER BY window_from) AS prev
                        FROM monitor_windows WHERE gateway = ?)
                    WHERE prev IS NOT decided ORDER BY at DESC LIMIT ?
                    """, arguments: [gateway, limit]
            ).map { (at: $0["at"], decidedBy: $0["decided"]) }.reversed()
        }
    }

    public func gatewayStatus(gateway: String) async throws -> GatewayStatus? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM gateway_status WHERE gateway = ?", arguments: [gateway]).map(
                Self.gatewayStatus(from:))
        }
    }
}

extension SQLiteStore {
    /// The migration: a gateway's status figures (spool backlog, process), as JSON beside the status.
    static func migrateStatusFigures(_ db: Database) throws {
        // Every store made by `migrator` has the table; a hand-built one may not (as `migrateDashboard` allows).
        guard try db.tableExists("gateway_status") else { return }
        try db.execute(sql: "ALTER TABLE gateway_status ADD COLUMN figures TEXT")
    }

    struct StatusFigures: Codable {
        var spoolBacklog: Int?
        var process: MonitorDocument.Process?
    }

    /// `figures` for a status: nil when it carries none (an older gateway).
    static func statusFigures(_ s: GatewayStatus) throws -> String? {
        guard s.spoolBacklog != nil || s.process != nil else { return nil }
        return try FleetJSON.text(StatusFigures(spoolBacklog: s.spoolBacklog, process: s.process))
    }

    /// A status row with its figures.
    static func gatewayStatus(from row: Row) -> GatewayStatus {
        withFigures(
            GatewayStatus(
                gateway: row["gateway"], active: row["active"], sha256: row["sha256"], refused: row["refused"],
                at: row["at"]),
            figures: row["figures"])
    }

    /// `status` with the figures of its `figures` column (either store), if any and readable.
    static func withFigures(_ status: GatewayStatus, figures text: String?) -> GatewayStatus {
        var status = status
        if let text, let figures = try? FleetJSON.decode(StatusFigures.self, from: Array(text.utf8)) {
            status.spoolBacklog = figures.spoolBacklog
            status.process = figures.process
        }
        return status
    }
}
