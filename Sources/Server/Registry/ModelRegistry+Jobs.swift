import FleetProtocol
import Foundation
import Logging
import OccupantCore

extension ModelRegistry {
    // MARK: Jobs

    /// The queue the store implies: PostgreSQL's `jobs` table (several processes), else one in memory.
    static func jobQueue(config: ServerConfig, store: any ServerStore) -> any JobQueue {
        if let pg = store as? PostgresStore, case .postgres(let settings) = config.storage {
            return PostgresJobQueue(store: pg, lease: settings.jobLease)
        }
        return InProcessJobQueue()
    }

    /// Runs `body` as the scope's retraining job: enqueued (one open job per scope across processes) and claimed,
    /// its lease renewed while it runs; a model is recorded only while the lease is this process's (`JobFence`).
    /// When another process holds the job, a command waits for its outcome; a trigger returns at once.
    func asJob(
        scope: String, trigger: String, claimed: ClaimedJob?,
        _ body: (String) async throws -> RetrainOutcome
    ) async throws -> RetrainOutcome {
        var job = claimed
        var trigger = trigger
        if let claimed {
            trigger =
                claimed.attempts > 1
                ? "\(claimed.payload) (taken over from a process that stopped holding it)" : claimed.payload
        } else {
            let (id, _) = try await jobs.enqueue(kind: Self.retrainJob, scope: scope, payload: trigger)
            job = try await jobs.claim(kind: Self.retrainJob, scope: scope)
            if job == nil {
                if trigger == "command" { return try await outcome(ofJob: id, scope: scope) }
                return RetrainOutcome(
                    scope: scope, version: nil, promoted: false,
                    reason: "a job for \(scope) is already running in another process", sha256: nil)
            }
        }
        guard let job else { throw OccupantError(.io, "jobs: no job for \(scope)") }
        if let version = job.recordedVersion {
            // The previous holder recorded its model and stopped before it ended the job.
            let outcome = RetrainOutcome(
                scope: scope, version: version, promoted: false,
                reason: "v\(version) was recorded by the process that held this job", sha256: nil)
            try await jobs.finish(job, failed: false, result: try Self.resultText(outcome))
            return outcome
        }
        if job.attempts > 1 { logger.warning("\(scope): job \(job.id) taken over (attempt \(job.attempts))") }
        let heartbeat = Task { [jobs, logger] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(jobs.lease / 3))
                if Task.isCancelled { return }
                do {
                    if try await !jobs.renew(job) {
                        logger.error("\(scope): job \(job.id) lost its lease to another process; stopping it")
                        self.cancelTraining(scope: scope)
                        return
                    }
                } catch {
                    logger.error("\(scope): job \(job.id): cannot renew its lease: \(error)")
                }
            }
        }
        defer { heartbeat.cancel() }
        do {
            let outcome = try await JobFence.$current.withValue((job, jobs.holder)) { try await body(trigger) }
            try await jobs.finish(job, failed: false, result: try Self.resultText(outcome))
            return outcome
        } catch {
            _ = try? await jobs.finish(job, failed: true, result: "\(error)")
            throw error
        }
    }

    static let retrainJob = "retrain"

    static func resultText(_ outcome: RetrainOutcome) throws -> String {
        String(decoding: try JSONEncoder().encode(outcome), as: UTF8.self)
    }

    /// Waits for a job another process holds to end: its outcome, or its error.
    func outcome(ofJob id: Int64, scope: String) async throws -> RetrainOutcome {
        while true {
            guard let (state, result) = try await jobs.status(id: id) else {
                throw OccupantError(.io, "job \(id) for \(scope) is gone")
            }
            switch state {
            case "done":
                guard let result, let outcome = try? JSONDecoder().decode(RetrainOutcome.self, from: Data(result.utf8))
                else { throw OccupantError(.io, "job \(id) for \(scope) ended without an outcome") }
                return outcome
            case "failed":
                throw OccupantError(.data, result ?? "job \(id) for \(scope) failed")
            default:
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// Stops the scope's running training at its next fold fit (its job was taken over).
    func cancelTraining(scope: String) {
        training[scope]?.cancel()
    }

    /// Runs here, one after the other, the retraining jobs no process holds: ones another process enqueued (its
    /// `NOTIFY` wakes `JobListener`), and ones whose holders stopped renewing their leases (their processes died).
    func takeOverJobs() async {
        while true {
            let job: ClaimedJob?
            do {
                job = try await jobs.claim(kind: Self.retrainJob, scope: nil)
            } catch {
                logger.error("jobs: cannot claim: \(error)")
                return
            }
            guard let job else { return }
            do {
                _ = try await retrain(scope: job.scope, trigger: job.payload, claimed: job)
            } catch {
                logger.error("\(job.scope): job \(job.id): \(error)")
                // A job that cannot run here (an unknown scope, no signing key) is not taken again and again.
                _ = try? await jobs.finish(job, failed: true, result: "\(error)")
            }
        }
    }
}
