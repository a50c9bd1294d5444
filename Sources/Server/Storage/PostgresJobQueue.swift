import Foundation
import Logging
import OccupantCore
import PostgresNIO

/// The fleet's job queue in PostgreSQL's `jobs` table: a job is claimed with `SELECT … FOR UPDATE SKIP LOCKED`, so
/// processes claiming at once never take the same one; the claim is a lease on the database's clock, renewed by the
/// holder while it works; a job whose lease expired is claimed again by the next process that looks.
public struct PostgresJobQueue: JobQueue {
    let store: PostgresStore
    public let holder: String
    public let lease: Double

    public init(store: PostgresStore, lease: Double = 30, holder: String = PostgresJobQueue.processHolder()) {
        self.store = store
        self.lease = lease
        self.holder = holder
    }

    /// One open job per (kind, scope) (`jobs_open`): enqueueing is an insert that does nothing while one is open.
    static let migration = PostgresMigrations.Migration(
        version: 4, name: "jobs (retraining) with leases",
        statements: [
            """
            CREATE TABLE jobs (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text NOT NULL,
                scope text COLLATE "C" NOT NULL,
                state text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
                holder text, lease_until double precision, attempts integer NOT NULL DEFAULT 0,
                payload text NOT NULL, result text, recorded_version bigint,
                created double precision NOT NULL, updated double precision NOT NULL)
            """,
            "CREATE UNIQUE INDEX jobs_open ON jobs (kind, scope) WHERE state IN ('pending', 'running')",
            "CREATE INDEX jobs_claimable ON jobs (kind, id) WHERE state IN ('pending', 'running')",
        ])

    /// Seconds an ended job is kept.
    static let keptFor = 30.0 * 86_400

    /// The `NOTIFY` channel of new jobs.
    public static let channel = "occupant_jobs"

    /// The database's clock, in Unix seconds: every process judges leases by the same clock.
    static let now = "extract(epoch from clock_timestamp())"

    public func enqueue(kind: String, scope: String, payload: String) async throws -> (id: Int64, created: Bool) {
        // The open job can end between the insert that found it and the select: then try again.
        for _ in 0..<5 {
            // A new job wakes the idle processes (`JobListener`) when it commits.
            let made = try await store.rows(
                """
                WITH made AS (
                    INSERT INTO jobs (kind, scope, state, payload, created, updated)
                    VALUES (\(kind), \(scope), 'pending', \(payload), extract(epoch from clock_timestamp()),
                        extract(epoch from clock_timestamp()))
                    ON CONFLICT (kind, scope) WHERE state IN ('pending', 'running') DO NOTHING RETURNING id)
                SELECT id, pg_notify(\(Self.channel), \(kind) || ' ' || \(scope)) FROM made
                """)
            if let r = made.first { return (try r[0].decode(Int64.self), true) }
            let open = try await store.rows(
                """
                SELECT id FROM jobs WHERE kind = \(kind) AND scope = \(scope) AND state IN ('pending', 'running')
                """)
            if let r = open.first { return (try r[0].decode(Int64.self), false) }
        }
        throw OccupantError(.io, "jobs: cannot enqueue \(kind) for \(scope)")
    }

    public func claim(kind: String, scope: String?) async throws -> ClaimedJob? {
        let rows = try await store.rows(
            """
            UPDATE jobs SET state = 'running', holder = \(holder),
                lease_until = extract(epoch from clock_timestamp()) + \(lease), attempts = attempts + 1,
                updated = extract(epoch from clock_timestamp())
            WHERE id = (
                SELECT id FROM jobs
                WHERE kind = \(kind) AND (\(scope)::text IS NULL OR scope = \(scope))
                    AND (state = 'pending'
                        OR (state = 'running' AND lease_until < extract(epoch from clock_timestamp())))
                ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING id, kind, scope, payload, attempts, recorded_version
            """)
        guard let r = rows.first else { return nil }
        return ClaimedJob(
            id: try r["id"].decode(Int64.self), kind: try r["kind"].decode(String.self),
            scope: try r["scope"].decode(String.self), payload: try r["payload"].decode(String.self),
            attempts: try r["attempts"].decode(Int.self), recordedVersion: try r["recorded_version"].decode(Int?.self))
    }

    public func renew(_ job: ClaimedJob) async throws -> Bool {
        !(try await store.rows(
            """
            UPDATE jobs SET lease_until = extract(epoch from clock_timestamp()) + \(lease),
                updated = extract(epoch from clock_timestamp())
            WHERE id = \(job.id) AND holder = \(holder) AND state = 'running' RETURNING 1
            """
        ).isEmpty)
    }

    @discardableResult
    public func finish(_ job: ClaimedJob, failed: Bool, result: String) async throws -> Bool {
        let state = failed ? "failed" : "done"
        // Ended jobs are kept 30 days, to look into (`SELECT * FROM jobs`), then removed.
        try await store.execute(
            """
            DELETE FROM jobs WHERE state IN ('done', 'failed')
                AND updated < extract(epoch from clock_timestamp()) - \(Self.keptFor)
            """)
        return
            !(try await store.rows(
                """
                UPDATE jobs SET state = \(state), result = \(result), lease_until = NULL,
                    updated = extract(epoch from clock_timestamp())
                WHERE id = \(job.id) AND holder = \(holder) AND state = 'running' RETURNING 1
                """
            ).isEmpty)
    }

    public func status(id: Int64) async throws -> (state: String, result: String?)? {
        guard let r = try await store.rows("SELECT state, result FROM jobs WHERE id = \(id)").first else { return nil }
        return (try r["state"].decode(String.self), try r["result"].decode(String?.self))
    }

    /// In the transaction that records a model under `JobFence.current`: the job must still be this holder's (the
    /// row is locked until the commit, so it cannot be taken over meanwhile), and it notes the version recorded, so
    /// a process that takes the job over later does not train it again.
    static func fence(_ tx: PostgresStore.Tx, version: Int) async throws {
        guard let fence = JobFence.current else { return }
        let (job, holder) = fence
        let held = try await tx.rows(
            """
            UPDATE jobs SET recorded_version = \(version), updated = extract(epoch from clock_timestamp())
            WHERE id = \(job.id) AND holder = \(holder) AND state = 'running' RETURNING 1
            """)
        if held.isEmpty {
            throw OccupantError(
                .io, "job \(job.id) (\(job.kind) \(job.scope)): lease lost to another process; v\(version) not recorded"
            )
        }
    }
}
