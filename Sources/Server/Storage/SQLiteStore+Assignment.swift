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
