import FleetProtocol
import GRDB

/// The reads behind a gateway's poll and a rollout step: a room's model and which scopes have a champion, each one
/// statement.
extension SQLiteStore {
    /// The model `scope`'s `champion` alias names, if any.
    static func champion(_ db: Database, scope: String) throws -> ModelRecord? {
        try Row.fetchOne(
            db,
            sql: """
                SELECT m.* FROM aliases a JOIN models m ON m.scope = a.scope AND m.version = a.version
                WHERE a.scope = ? AND a.alias = 'champion'
                """, arguments: [scope]
        ).map(Self.model(from:))
    }
}

extension SQLiteStore {
    public func scopes(_ scopes: [String], withAlias alias: String) async throws -> Set<String> {
        guard !scopes.isEmpty else { return [] }
        return try await pool.read { db in
            // The names as one JSON array (any count); each a primary-key lookup.
            Set(
                try String.fetchAll(
                    db,
                    sql: "SELECT scope FROM aliases WHERE alias = ? AND scope IN (SELECT value FROM json_each(?))",
                    arguments: [alias, try FleetJSON.text(scopes)]))
        }
    }
}
