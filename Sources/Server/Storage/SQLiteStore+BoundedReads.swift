import GRDB

/// Reads that answer from an index instead of a whole table: the open alerts of one kind and their counts (the
/// silence check, the metrics scrape), and how many gateways rolled one bundle back (a model's page).
extension SQLiteStore {
    static func migrateRollbacksByBundle(_ db: Database) throws {
        try db.execute(sql: "CREATE INDEX model_rollbacks_bundle ON model_rollbacks (sha256, gateway)")
    }

    public func openAlerts(kind: String) async throws -> [AlertDocument] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM alerts WHERE kind = ? AND cleared_at IS NULL ORDER BY id", arguments: [kind]
            ).map(Self.alert(from:))
        }
    }

    public func openAlertCounts() async throws -> [String: Int] {
        try await pool.read { db in
            Dictionary(
                try Row.fetchAll(db, sql: "SELECT kind, COUNT(*) AS n FROM alerts WHERE cleared_at IS NULL GROUP BY 1")
                    .map { ($0["kind"], $0["n"]) }, uniquingKeysWith: { $1 })
        }
    }

    public func rolledBackGateways(sha256: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(DISTINCT gateway) FROM model_rollbacks WHERE sha256 = ?", arguments: [sha256])
                ?? 0
        }
    }
}
