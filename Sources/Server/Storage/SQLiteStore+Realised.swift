import FleetProtocol
import GRDB
import OccupantCore

/// Realised accuracy of monitor windows, and the reads the monitor figures need.
extension SQLiteStore {
    /// The migration: one row per measured window, beside (not inside) the gateway's document, so the document stays
    /// what the gateway sent.
    static func registerRealisedAccuracy(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE monitor_realised (
                    gateway TEXT NOT NULL, window_from REAL NOT NULL, document TEXT NOT NULL,
                    PRIMARY KEY (gateway, window_from)) WITHOUT ROWID;
                """)
    }

    /// A stored window with its realised accuracy, if measured (`document`, `realised` columns).
    static func monitorWindow(from row: Row) throws -> MonitorDocument {
        let text: String = row["document"]
        var document = try FleetJSON.decode(MonitorDocument.self, from: text.utf8)
        if let realised: String = row["realised"] {
            document.realised = try? FleetJSON.decode(MonitorDocument.Realised.self, from: realised.utf8)
        }
        return document
    }

    public func monitorWindows(gateway: String, last: Int) async throws -> [MonitorDocument] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT w.document, r.document AS realised FROM monitor_windows w
                    LEFT JOIN monitor_realised r ON r.gateway = w.gateway AND r.window_from = w.window_from
                    WHERE w.gateway = ? ORDER BY w.window_from DESC LIMIT ?
                    """,
                arguments: [gateway, last]
            ).map(Self.monitorWindow(from:)).reversed()
        }
    }

    public func setRealised(gateway: String, windowFrom: Double, _ realised: MonitorDocument.Realised) async throws {
        let text = try FleetJSON.text(realised)
        try await pool.write { db in
            // Only for a stored window (a window replaced meanwhile keeps its start, so its row stays its own).
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO monitor_realised (gateway, window_from, document)
                    SELECT gateway, window_from, ?3 FROM monitor_windows WHERE gateway = ?1 AND window_from = ?2
                    """,
                arguments: [gateway, windowFrom, text])
        }
    }

    public func telemetry(gateway: String, from: Double, to: Double) async throws -> [TelemetryRow] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT at, readings FROM telemetry WHERE gateway = ? AND at >= ? AND at < ? ORDER BY at",
                arguments: [gateway, from, to]
            ).map { TelemetryRow(gateway: gateway, at: $0["at"], readings: decodeReadings($0["readings"])) }
        }
    }

    public func latestMonitorWindows(gateways: [String], endingAfter: Double) async throws -> [(
        window: MonitorDocument, realised: MonitorDocument.Realised?
    )] {
        try await pool.read { db in
            let newest = try db.cachedStatement(
                sql: "SELECT document FROM monitor_windows WHERE gateway = ? ORDER BY window_from DESC LIMIT 1")
            let measured = try db.cachedStatement(
                sql: "SELECT document FROM monitor_realised WHERE gateway = ? ORDER BY window_from DESC LIMIT 1")
            var latest: [(to: Double, window: MonitorDocument, realised: MonitorDocument.Realised?)] = []
            for g in gateways {
                guard let text = try String.fetchOne(newest, arguments: [g]) else { continue }
                let window = try FleetJSON.decode(MonitorDocument.self, from: text.utf8)
                guard let to = window.window.to.seconds, to > endingAfter else { continue }
                let realised = try String.fetchOne(measured, arguments: [g]).flatMap {
                    try? FleetJSON.decode(MonitorDocument.Realised.self, from: $0.utf8)
                }
                latest.append((to, window, realised))
            }
            return latest.sorted { $0.to > $1.to }.map { ($0.window, $0.realised) }
        }
    }
}
