import Foundation
import OccupantCore
import PostgresNIO

/// The fleet's outbox in PostgreSQL's `outbox` table: entries are claimed with `FOR UPDATE SKIP LOCKED` and a lease on
/// the database's clock, so processes draining at once never take the same entry, and one whose holder died is taken
/// by another once its lease ran out.
public struct PostgresOutbox: Outbox {
    let store: PostgresStore

    public init(store: PostgresStore) { self.store = store }

    /// `outbox_waiting`: one waiting copy of a message per target; `outbox_target`: the older entries of a target.
    static let migration = PostgresMigrations.Migration(
        version: 7, name: "outbox of announcements and alerts",
        statements: [
            """
            CREATE TABLE outbox (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, channel text NOT NULL, target text NOT NULL,
                payload text NOT NULL, retain boolean NOT NULL, created double precision NOT NULL,
                due double precision NOT NULL, holder text, lease_until double precision,
                attempts integer NOT NULL DEFAULT 0, error text, sent double precision)
            """,
            "CREATE UNIQUE INDEX outbox_waiting ON outbox (channel, target, md5(payload)) WHERE sent IS NULL",
            "CREATE INDEX outbox_target ON outbox (channel, target, id) WHERE sent IS NULL",
            "CREATE INDEX outbox_sent ON outbox (sent) WHERE sent IS NOT NULL",
        ])

    /// Seconds a delivered entry is kept.
    static let keptFor = 86_400.0

    public func add(channel: OutboxEntry.Channel, target: String, payload: String, retain: Bool) async throws {
        try await store.transaction { tx in
            if retain {
                // Only the newest retained message counts: earlier ones nobody is delivering are dropped.
                _ = try await tx.rows(
                    """
                    DELETE FROM outbox WHERE channel = \(channel.rawValue) AND target = \(target) AND sent IS NULL
                        AND retain AND (lease_until IS NULL OR lease_until < extract(epoch from clock_timestamp()))
                    RETURNING id
                    """)
            }
            _ = try await tx.rows(
                """
                INSERT INTO outbox (channel, target, payload, retain, created, due)
                VALUES (\(channel.rawValue), \(target), \(payload), \(retain), extract(epoch from clock_timestamp()),
                    extract(epoch from clock_timestamp()))
                ON CONFLICT (channel, target, md5(payload)) WHERE sent IS NULL DO NOTHING RETURNING id
                """)
        }
    }

    public func claim(holder: String, lease: Double, limit: Int) async throws -> [OutboxEntry] {
        try await store.execute(
            "DELETE FROM outbox WHERE sent < extract(epoch from clock_timestamp()) - \(Self.keptFor)")
        let rows = try await store.rows(
            """
            UPDATE outbox SET holder = \(holder), lease_until = extract(epoch from clock_timestamp()) + \(lease),
                attempts = attempts + 1
            WHERE id IN (
                SELECT id FROM outbox o
                WHERE sent IS NULL AND due <= extract(epoch from clock_timestamp())
                    AND (lease_until IS NULL OR lease_until < extract(epoch from clock_timestamp()))
                    AND NOT EXISTS (
                        SELECT 1 FROM outbox p
                        WHERE p.sent IS NULL AND p.channel = o.channel AND p.target = o.target AND p.id < o.id)
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING id, channel, target, payload, retain, attempts
            """)
        return try rows.map { r in
            OutboxEntry(
                id: try r["id"].decode(Int64.self),
                channel: OutboxEntry.Channel(rawValue: try r["channel"].decode(String.self)) ?? .mqtt,
                target: try r["target"].decode(String.self), payload: try r["payload"].decode(String.self),
                retain: try r["retain"].decode(Bool.self), attempts: try r["attempts"].decode(Int.self))
        }.sorted { $0.id < $1.id }
    }

    public func delivered(_ entry: OutboxEntry, holder: String) async throws {
        try await store.execute(
            """
            UPDATE outbox SET sent = extract(epoch from clock_timestamp()), lease_until = NULL, error = NULL
            WHERE id = \(entry.id) AND sent IS NULL
            """)
    }

    public func failed(_ entry: OutboxEntry, holder: String, retryIn: Double, error: String) async throws {
        try await store.execute(
            """
            UPDATE outbox SET holder = NULL, lease_until = NULL, error = \(error),
                due = extract(epoch from clock_timestamp()) + \(retryIn)
            WHERE id = \(entry.id) AND holder = \(holder) AND sent IS NULL
            """)
    }

    public func retryNow(channel: OutboxEntry.Channel) async throws {
        try await store.execute(
            """
            UPDATE outbox SET due = extract(epoch from clock_timestamp())
            WHERE channel = \(channel.rawValue) AND sent IS NULL AND due > extract(epoch from clock_timestamp())
            """)
    }

    public func nextDue() async throws -> Double? {
        try await store.rows(
            """
            SELECT MIN(GREATEST(due, COALESCE(lease_until, 0))) - extract(epoch from clock_timestamp())
            FROM outbox o
            WHERE sent IS NULL AND NOT EXISTS (
                SELECT 1 FROM outbox p
                WHERE p.sent IS NULL AND p.channel = o.channel AND p.target = o.target AND p.id < o.id)
            """
        ).first?[0].decode(Double?.self).map { max(0, $0) }
    }
}
