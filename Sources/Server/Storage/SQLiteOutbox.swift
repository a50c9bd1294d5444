import Foundation
import GRDB
import OccupantCore

/// The outbox in the SQLite store (one process per state directory): the same entries as `PostgresOutbox`, so an
/// announcement or alert that could not be sent is still sent after a restart.
public struct SQLiteOutbox: Outbox {
    let store: SQLiteStore

    public init(store: SQLiteStore) { self.store = store }

    static func migrate(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, target TEXT NOT NULL,
                    payload TEXT NOT NULL, retain INTEGER NOT NULL, created REAL NOT NULL, due REAL NOT NULL,
                    holder TEXT, lease_until REAL, attempts INTEGER NOT NULL DEFAULT 0, error TEXT, sent REAL);
                CREATE INDEX outbox_target ON outbox (channel, target, id) WHERE sent IS NULL;
                """)
    }

    /// Outbox times are the wall clock's (delivery retries are about real time, whatever the store's clock).
    static var now: Double { Date().timeIntervalSince1970 }

    public func add(channel: OutboxEntry.Channel, target: String, payload: String, retain: Bool) async throws {
        let now = Self.now
        try await store.pool.write { db in
            if retain {
                try db.execute(
                    sql: """
                        DELETE FROM outbox WHERE channel = ? AND target = ? AND sent IS NULL AND retain
                            AND (lease_until IS NULL OR lease_until < ?)
                        """, arguments: [channel.rawValue, target, now])
            }
            let waiting =
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT count(*) FROM outbox WHERE channel = ? AND target = ? AND payload = ? AND sent IS NULL",
                    arguments: [channel.rawValue, target, payload]) ?? 0
            guard waiting == 0 else { return }
            try db.execute(
                sql: "INSERT INTO outbox (channel, target, payload, retain, created, due) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [channel.rawValue, target, payload, retain, now, now])
        }
    }

    public func claim(holder: String, lease: Double, limit: Int) async throws -> [OutboxEntry] {
        let now = Self.now
        return try await store.pool.write { db in
            try db.execute(sql: "DELETE FROM outbox WHERE sent < ?", arguments: [now - PostgresOutbox.keptFor])
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, channel, target, payload, retain, attempts FROM outbox o
                    WHERE sent IS NULL AND due <= ? AND (lease_until IS NULL OR lease_until < ?)
                        AND NOT EXISTS (
                            SELECT 1 FROM outbox p
                            WHERE p.sent IS NULL AND p.channel = o.channel AND p.target = o.target AND p.id < o.id)
                    ORDER BY id LIMIT ?
                    """, arguments: [now, now, limit])
            var entries: [OutboxEntry] = []
            for r in rows {
                let id: Int64 = r["id"]
                try db.execute(
                    sql: "UPDATE outbox SET holder = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?",
                    arguments: [holder, now + lease, id])
                let attempts: Int = r["attempts"]
                let channel: String = r["channel"]
                entries.append(
                    OutboxEntry(
                        id: id, channel: OutboxEntry.Channel(rawValue: channel) ?? .mqtt, target: r["target"],
                        payload: r["payload"], retain: r["retain"], attempts: attempts + 1))
            }
            return entries
        }
    }

    public func delivered(_ entry: OutboxEntry, holder: String) async throws {
        let now = Self.now
        try await store.pool.write { db in
            try db.execute(
                sql: "UPDATE outbox SET sent = ?, lease_until = NULL, error = NULL WHERE id = ? AND sent IS NULL",
                arguments: [now, entry.id])
        }
    }

    public func failed(_ entry: OutboxEntry, holder: String, retryIn: Double, error: String) async throws {
        let now = Self.now
        try await store.pool.write { db in
            try db.execute(
                sql: """
                    UPDATE outbox SET holder = NULL, lease_until = NULL, error = ?, due = ?
                    WHERE id = ? AND holder = ? AND sent IS NULL
                    """, arguments: [error, now + retryIn, entry.id, holder])
        }
    }

    public func retryNow(channel: OutboxEntry.Channel) async throws {
        let now = Self.now
        try await store.pool.write { db in
            try db.execute(
                sql: "UPDATE outbox SET due = ? WHERE channel = ? AND sent IS NULL AND due > ?",
                arguments: [now, channel.rawValue, now])
        }
    }

    public func nextDue() async throws -> Double? {
        let now = Self.now
        return try await store.pool.read { db in
            try Double.fetchOne(
                db,
                sql: """
                    SELECT MIN(MAX(due, COALESCE(lease_until, 0))) FROM outbox o
                    WHERE sent IS NULL AND NOT EXISTS (
                        SELECT 1 FROM outbox p
                        WHERE p.sent IS NULL AND p.channel = o.channel AND p.target = o.target AND p.id < o.id)
                    """)
        }.map { max(0, $0 - now) }
    }
}
