import Foundation
import OccupantCore

/// A job taken from a `JobQueue`: run it while its lease holds, renew the lease by `renew`, end it by `finish`.
public struct ClaimedJob: Sendable, Equatable {
    public var id: Int64
    public var kind: String
    public var scope: String
    public var payload: String
    /// Times the job was taken, this one included (2 or more: taken over from a process that lost its lease).
    public var attempts: Int
    /// The model version a previous holder recorded under this job before it lost its lease (nil: none).
    public var recordedVersion: Int?
}

/// The work only one process of a fleet may do at a time — retraining a scope — as jobs with a lease.
///
/// `enqueue` is idempotent per (kind, scope) while a job is pending or running: the same command given to two
/// processes at once gives one job. A holder renews its lease while it works; a job whose lease expired (its process
/// died) is taken by the next `claim`.
public protocol JobQueue: Sendable {
    /// Who claims jobs through this queue (a process).
    var holder: String { get }
    /// How long a claim lasts unless renewed, in seconds.
    var lease: Double { get }
    /// The open job for (kind, scope), made if there is none; `created`: this call made it.
    func enqueue(kind: String, scope: String, payload: String) async throws -> (id: Int64, created: Bool)
    /// Takes a pending job, or a running one whose lease expired, of `kind` (and `scope`, when given); nil: none.
    func claim(kind: String, scope: String?) async throws -> ClaimedJob?
    /// Extends the lease; false: the job is no longer this holder's (its lease expired and it was taken over).
    func renew(_ job: ClaimedJob) async throws -> Bool
    /// Ends the job (`failed`: false) with its result text; false: it was no longer this holder's.
    @discardableResult
    func finish(_ job: ClaimedJob, failed: Bool, result: String) async throws -> Bool
    /// The job's state (`pending`, `running`, `done`, `failed`) and result; nil: no such job.
    func status(id: Int64) async throws -> (state: String, result: String?)?
}

/// The job a task runs under: a store records a model only while this job is still its holder's (PostgreSQL).
public enum JobFence {
    @TaskLocal public static var current: (job: ClaimedJob, holder: String)?
}

extension JobQueue {
    /// A process's name for claims: host, process id and a random part (a restarted process is another holder).
    public static func processHolder() -> String {
        "\(ProcessInfo.processInfo.hostName)/\(getpid())/\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// One process's queue (the SQLite store: one process per state directory): jobs live in memory.
public actor InProcessJobQueue: JobQueue {
    struct Entry {
        var job: ClaimedJob
        var state: String
        var result: String?
    }
    public nonisolated let holder: String
    public nonisolated let lease: Double
    var entries: [Int64: Entry] = [:]
    var nextID: Int64 = 1

    public init(lease: Double = 30) {
        self.holder = InProcessJobQueue.processHolder()
        self.lease = lease
    }

    public func enqueue(kind: String, scope: String, payload: String) -> (id: Int64, created: Bool) {
        if let open = entries.values.first(where: {
            $0.job.kind == kind && $0.job.scope == scope && ($0.state == "pending" || $0.state == "running")
        }) {
            return (open.job.id, false)
        }
        let id = nextID
        nextID += 1
        entries[id] = Entry(
            job: ClaimedJob(id: id, kind: kind, scope: scope, payload: payload, attempts: 0), state: "pending")
        return (id, true)
    }

    public func claim(kind: String, scope: String?) -> ClaimedJob? {
        guard
            let id = entries.values.filter({
                $0.state == "pending" && $0.job.kind == kind && (scope == nil || $0.job.scope == scope)
            }).map(\.job.id).min()
        else { return nil }
        entries[id]!.state = "running"
        entries[id]!.job.attempts += 1
        return entries[id]!.job
    }

    public func renew(_ job: ClaimedJob) -> Bool { entries[job.id]?.state == "running" }

    @discardableResult
    public func finish(_ job: ClaimedJob, failed: Bool, result: String) -> Bool {
        guard entries[job.id]?.state == "running" else { return false }
        // Ended jobs are not kept: the process's memory is their only record.
        entries[job.id] = nil
        return true
    }

    public func status(id: Int64) -> (state: String, result: String?)? {
        entries[id].map { ($0.state, $0.result) }
    }
}
