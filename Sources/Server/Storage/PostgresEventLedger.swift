import Foundation
import OccupantCore
import PostgresNIO

/// The fleet's ledger of events acted on, in PostgreSQL's `events` table: claiming a key is an insert that does
/// nothing when any process inserted it before.
public struct PostgresEventLedger: EventLedger {
    let store: PostgresStore

    public init(store: PostgresStore) { self.store = store }

    static let migration = PostgresMigrations.Migration(
        version: 5, name: "events acted on once (rollout steps)",
        statements: [
            "CREATE TABLE events (key text PRIMARY KEY, claimed double precision NOT NULL)"
        ])

    public func claim(_ key: String) async throws -> Bool {
        !(try await store.rows(
            """
            INSERT INTO events (key, claimed) VALUES (\(key), extract(epoch from clock_timestamp()))
            ON CONFLICT DO NOTHING RETURNING 1
            """
        ).isEmpty)
    }
}
