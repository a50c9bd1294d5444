import GRDB

/// A model a gateway's guards rolled back on their own (its `model/status` `rolledBack` member), as the server keeps
/// it: one row per (gateway, bundle, time), so a retained status delivered again is stored once.
public struct ModelRollbackRecord: Sendable, Equatable {
    public var gateway: String
    public var version: Int?
    public var sha256: String
    /// `flapping`, `stuck`, `outOfRange`, `brokenOutput`, `drift` or `accuracy`.
    public var guardName: String
    public var reason: String
    /// When the gateway rolled back (its clock, seconds since 1970).
    public var at: Double
    /// When the server stored it (its clock).
    public var received: Double

    public init(
        gateway: String, version: Int?, sha256: String, guardName: String, reason: String, at: Double,
        received: Double
    ) {
        self.gateway = gateway
        self.version = version
        self.sha256 = sha256
        self.guardName = guardName
        self.reason = reason
        self.at = at
        self.received = received
    }

    /// `v5 stuck: probability 0.5 unchanged …`.
    public var summary: String {
        [version.map { "v\($0)" }, "\(guardName): \(reason)"].compactMap { $0 }.joined(separator: " ")
    }
}

extension SQLiteStore {
    /// The migration that adds the table (registered last in `migrator`).
    static func migrateRollbacks(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE model_rollbacks (
                    gateway TEXT NOT NULL, sha256 TEXT NOT NULL, at REAL NOT NULL, version INTEGER,
                    guard TEXT NOT NULL, reason TEXT NOT NULL, received REAL NOT NULL,
                    PRIMARY KEY (gateway, sha256, at)) WITHOUT ROWID;
                """)
    }

    public func addRollback(_ r: ModelRollbackRecord) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO model_rollbacks (gateway, sha256, at, version, guard, reason, received)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [r.gateway, r.sha256, r.at, r.version, r.guardName, r.reason, r.received])
            return db.changesCount > 0
        }
    }

    public func rollbacks(gateway: String?) async throws -> [ModelRollbackRecord] {
        try await pool.read { db in
            let rows =
                if let gateway {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM model_rollbacks WHERE gateway = ? ORDER BY at", arguments: [gateway])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM model_rollbacks ORDER BY at")
                }
            return rows.map {
                ModelRollbackRecord(
                    gateway: $0["gateway"], version: $0["version"], sha256: $0["sha256"], guardName: $0["guard"],
                    reason: $0["reason"], at: $0["at"], received: $0["received"])
            }
        }
    }
}
