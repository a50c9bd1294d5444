import Crypto
import Evaluator
import Foundation
import Logging
import OccupantCore
import Training

/// The model registry and its jobs: retrain a scope into a signed challenger, compare it with the champion and the
/// static rule on the most recent held-out window, promote by the configured rule, roll out in waves, and watch the
/// champion's quality on newly labelled data.
public actor ModelRegistry {
    public let config: ServerConfig
    public let store: any ServerStore
    public nonisolated let artifacts: ArtifactStore
    let signing: (key: Curve25519.Signing.PrivateKey, keyID: String)?
    let announcer: any FleetAnnouncer
    let logger: Logger
    let clock: any WallClock
    var running: Set<String> = []
    /// The running jobs' training runs, so a shutdown can stop them instead of waiting for them.
    var training: [String: TrainingProgress] = [:]
    var lastScheduled: [String: Double] = [:]
    /// Labelled rows seen by the last job that produced no model: the trigger counts new rows from there.
    var lastAttemptSeen: [String: Int] = [:]
    /// Labelled rows when the champion's quality was last judged: it is judged again only after `alerts.minimumRows`
    /// more, not on every check (judging reads and scores the scope's whole table).
    var lastQualitySeen: [String: Int] = [:]
    /// Each room's last room job that made no model, with its reason (`ModelRegistry+Rooms`).
    var roomRefusals: [String: RoomDecision] = [:]
    /// The server's counters for `GET /metrics`.
    public nonisolated let metrics: ServerMetrics
    /// When this registry started, by its clock: a gateway never heard from is silent from here.
    let startedAt: Double
    /// Where retraining jobs are taken, so one process of a fleet trains a scope at a time (`ModelRegistry+Jobs`).
    public nonisolated let jobs: any JobQueue
    /// Rollout steps taken once across processes (`EventLedger`).
    nonisolated let events: any EventLedger

    public init(
        config: ServerConfig, store: any ServerStore, artifacts: ArtifactStore,
        signing: (key: Curve25519.Signing.PrivateKey, keyID: String)?, announcer: any FleetAnnouncer, logger: Logger,
        clock: any WallClock = SystemClock(), metrics: ServerMetrics = ServerMetrics(), jobs: (any JobQueue)? = nil
    ) {
        self.jobs = jobs ?? Self.jobQueue(config: config, store: store)
        self.events = Self.eventLedger(store: store)
        self.clock = clock
        self.metrics = metrics
        self.startedAt = clock.now().seconds
        self.config = config
        self.store = store
        self.artifacts = artifacts
        self.signing = signing
        self.announcer = announcer
        self.logger = logger
    }

    func gateways(in scope: String) -> [String] { config.gateways.filter { $0.scope == scope }.map(\.id) }

    // MARK: Retraining

    /// Runs one job for `scope` unless one is already running. Throws for problems an operator must fix.
    /// `claimed`: a job taken over from another process (`takeOverJobs`).
    public func retrain(scope: String, trigger: String, claimed: ClaimedJob? = nil) async throws -> RetrainOutcome {
        let start = ContinuousClock.now
        func seconds() -> Double {
            let d = ContinuousClock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        do {
            let outcome = try await runJob(scope: scope, trigger: trigger, claimed: claimed)
            let result = outcome.version == nil ? "skipped" : outcome.promoted ? "promoted" : "kept"
            metrics.retrainJob(scope: scope, outcome: result, seconds: seconds())
            return outcome
        } catch {
            if config.scopes.contains(scope) { metrics.retrainJob(scope: scope, outcome: "failed", seconds: seconds()) }
            throw error
        }
    }

    /// `claimed`: a job taken over from another process (else this one enqueues and claims the scope's job).
    func runJob(scope: String, trigger: String, claimed: ClaimedJob? = nil) async throws -> RetrainOutcome {
        guard !gateways(in: scope).isEmpty else {
            throw OccupantError(.usage, "unknown scope '\(scope)' (scopes: \(config.scopes.joined(separator: ", ")))")
        }
        guard let signing else {
            throw OccupantError(.configuration, "signingKey: not set; the server cannot sign models")
        }
        // A claimed job runs even when this process is busy with the scope: the busy call is then waiting for it
        // (the job is the scope's only open one, and this process did not get to claim it).
        let inserted = running.insert(scope).inserted
        guard inserted || claimed != nil else {
            return RetrainOutcome(
                scope: scope, version: nil, promoted: false, reason: "a job for \(scope) is already running",
                sha256: nil)
        }
        defer { if inserted { running.remove(scope) } }
        return try await asJob(scope: scope, trigger: trigger, claimed: claimed) { trigger in
            let outcome = try await self.train(scope: scope, trigger: trigger, signing: signing)
            // Room models are not the job's version: recorded outside its fence (`ModelRegistry+Rooms`).
            await JobFence.$current.withValue(nil) {
                await self.trainRooms(scope: scope, trigger: trigger, signing: signing)
            }
            return outcome
        }
    }

    /// One retraining, under its job's lease.
    func train(
        scope: String, trigger: String, signing: (key: Curve25519.Signing.PrivateKey, keyID: String)
    ) async throws -> RetrainOutcome {
        lastScheduled[scope] = clock.now().seconds
        logger.info("retraining \(scope) (\(trigger))")

        let seen = try await store.labelledRowCount(gateways: gateways(in: scope))
        lastAttemptSeen[scope] = seen
        let streams = try await streamsTable(gateways: gateways(in: scope))
        let (table, skipped) = (streams.table, streams.skipped)
        if skipped > 0 {
            logger.warning("\(scope): \(skipped) stored rows skipped: a reading of the wrong kind for its channel")
        }
        guard let table, table.labelledCount > 0 else {
            return RetrainOutcome(
                scope: scope, version: nil, promoted: false, reason: "no labelled telemetry in \(scope) yet",
                sha256: nil, skippedRows: skipped)
        }
        let version = try await store.nextVersion(scope: scope)
        let championVersion = try await store.alias(scope: scope, alias: "champion")
        var champion: RetrainJob.Champion?
        if let v = championVersion, let record = try await store.model(scope: scope, version: v) {
            champion = .init(version: v, bundle: try ModelBundle.decode(try artifacts.get(sha256: record.sha256)))
        }
        let job = RetrainJob(
            scope: scope, version: version, table: table, holdout: config.retrain.holdout,
            trials: config.retrain.trials,
            seed: config.retrain.seed,
            promotion: PromotionRule(metric: config.promotion.metric, margin: config.promotion.margin),
            champion: champion, signingKey: signing.key, keyID: signing.keyID)
        let result: RetrainJob.Result
        let progress = TrainingProgress()
        training[scope] = progress
        defer { training[scope] = nil }
        switch try await job.run(progress: progress) {
        case .refused(let reason):
            if reason.hasPrefix("training refused") { logger.warning("\(scope): \(reason)") }
            return RetrainOutcome(
                scope: scope, version: nil, promoted: false, reason: reason, sha256: nil, skippedRows: skipped)
        case .trained(let trained):
            result = trained
        }
        let sha = try artifacts.put(result.bytes)
        let promoted = try await record(
            result, scope: scope, gateway: nil, trigger: trigger, version: version, sha: sha, table: table,
            seen: seen, championVersion: championVersion, skipped: skipped, contributions: streams.contributions)
        return RetrainOutcome(
            scope: scope, version: version, promoted: promoted,
            reason: promoted == result.promote ? result.reason : result.reason + "; in shadow, awaiting its evidence",
            sha256: sha, skippedRows: skipped)
    }

    /// Stops every running training at its next fold fit (a shutdown): their jobs end as refused, nothing is stored.
    public func cancelTraining() {
        for progress in training.values { progress.cancel() }
    }

    /// Stores a trained job: the model with its report, the holdout metrics, the promotion decision; then promotes
    /// the challenger or keeps it as the scope's challenger. With `promotion.shadow`, a challenger that passes goes
    /// into shadow instead while there is a champion (`awaitShadowEvidence`). Returns whether it was promoted now.
    @discardableResult
    func record(
        _ result: RetrainJob.Result, scope: String, gateway: String?, trigger: String, version: Int, sha: String,
        table: LabelledTable,
        seen: Int, championVersion: Int?, skipped: Int = 0, contributions: [StreamContribution]? = nil
    ) async throws -> Bool {
        let shadowFirst = result.promote && championVersion != nil && config.promotion.shadow != nil
        let promote = result.promote && !shadowFirst
        let reason = shadowFirst ? result.reason + "; in shadow, awaiting its evidence" : result.reason
        let now = clock.now().seconds
        let (record, _) = try await storeModel(
            result, scope: scope, gateway: gateway, trigger: trigger, version: version, sha: sha, table: table,
            seen: seen, reason: result.reason, skipped: skipped, contributions: contributions, now: now)
        let metric = config.promotion.metric
        if let champion = result.champion {
            try await store.addMetric(
                MetricRecord(
                    scope: scope, version: champion.version, at: now, kind: "holdout", metric: metric.rawValue,
                    value: metric.value(champion.metrics), rows: champion.metrics.rows))
        }
        try await store.addPromotion(
            PromotionRecord(
                scope: scope, at: now, challenger: version, champion: championVersion, promoted: promote,
                reason: reason))
        logger.info("\(scope) v\(version): \(promote ? "promoted" : "kept as challenger"): \(reason)")
        if promote {
            try await self.promote(scope: scope, record: record, previous: championVersion)
        } else if shadowFirst {
            try await awaitShadowEvidence(scope: scope, version: version)
        } else {
            try await store.setAlias(scope: scope, alias: "challenger", version: version)
        }
        return promote
    }

    /// Stores a trained model: its retrain report (saying `reason`), the model record and the challenger's holdout
    /// metric. Returns the record and the report.
    func storeModel(
        _ result: RetrainJob.Result, scope: String, gateway: String?, trigger: String, version: Int, sha: String,
        table: LabelledTable, seen: Int, reason: String, skipped: Int, contributions: [StreamContribution]?,
        now: Double
    ) async throws -> (record: ModelRecord, report: RetrainReport) {
        let report = RetrainReport(
            scope: scope, gateway: gateway, trigger: trigger, skippedRows: skipped, version: version, sha256: sha,
            holdout: .init(
                from: result.cut.iso8601, to: table.times.last!.iso8601, rows: result.holdoutRows,
                challenger: result.challenger, champion: result.champion, rule: result.rule),
            promoted: result.promote, reason: reason, training: result.training, gateways: contributions)
        let record = ModelRecord(
            scope: scope, version: version, modelID: result.bundle.manifest.modelID, sha256: sha,
            size: result.bytes.count, created: now, dataFrom: table.times.first!.seconds, dataTo: result.cut.seconds,
            labelledRowsSeen: seen, report: try report.json())
        try await store.addModel(record)
        let metric = config.promotion.metric
        try await store.addMetric(
            MetricRecord(
                scope: scope, version: version, at: now, kind: "holdout", metric: metric.rawValue,
                value: metric.value(result.challenger), rows: result.challenger.rows))
        return (record, report)
    }

    /// The scope's joined table (nil when it has no labelled telemetry): every gateway's stream, featurised on its
    /// own (`streamsTable`); and the stored rows left out (see `TrainingData.joined`).
    func scopeTable(_ scope: String) async throws -> (LabelledTable?, String?, skipped: Int) {
        let streams = try await streamsTable(gateways: gateways(in: scope))
        return (streams.table, nil, streams.skipped)
    }
}
