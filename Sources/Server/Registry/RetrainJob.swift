import Crypto
import Evaluator
import Foundation
import OccupantCore
import Training

/// One retraining job as a pure function of its inputs: a scope's labelled table in; the signed challenger, its
/// scores, the champion's and the static rule's on the most recent held-out window, and the promotion decision
/// out. No store, no clock: the registry gathers the inputs and records the result.
public struct RetrainJob: Sendable {
    /// The current champion, scored on the same held-out window.
    public struct Champion: Sendable {
        public var version: Int
        public var bundle: ModelBundle

        public init(version: Int, bundle: ModelBundle) {
            self.version = version
            self.bundle = bundle
        }
    }

    /// What the job made of the table.
    public enum Outcome: Sendable {
        /// No model: the reason says why (too few rows to hold any out, or the trainer refused the table).
        case refused(reason: String)
        case trained(Result)
    }

    /// A signed challenger and how it, the champion and the rule did on the held-out window.
    public struct Result: Sendable {
        /// The challenger, as signed.
        public var bundle: ModelBundle
        public var bytes: [UInt8]
        /// The first held-out instant: rows at or after it were held out.
        public var cut: Instant
        public var holdoutRows: Int
        public var challenger: BinaryMetrics
        public var champion: RetrainReport.Scored?
        public var rule: RetrainReport.Rule?
        public var promote: Bool
        public var reason: String
        public var training: TrainingReport
    }

    public var scope: String
    public var version: Int
    public var table: LabelledTable
    public var holdout: Double
    public var trials: Int
    public var seed: UInt64
    public var promotion: PromotionRule
    public var champion: Champion?
    public var signingKey: Curve25519.Signing.PrivateKey
    public var keyID: String
    /// The held-out window starts no earlier than this (a room job: after the fleet model's training data, so
    /// neither model has seen the rows they are compared on).
    public var notBefore: Instant?
    /// Where the bundle applies (default: the site `scope`); a room model names its gateway as the room.
    public var manifestScope: BundleManifest.Scope?
    /// The bundle's model id (default `occupancy-<scope>`).
    public var modelID: String?

    public init(
        scope: String, version: Int, table: LabelledTable, holdout: Double, trials: Int, seed: UInt64,
        promotion: PromotionRule,
        champion: Champion?, signingKey: Curve25519.Signing.PrivateKey, keyID: String
    ) {
        self.scope = scope
        self.version = version
        self.table = table
        self.holdout = holdout
        self.trials = trials
        self.seed = seed
        self.promotion = promotion
        self.champion = champion
        self.signingKey = signingKey
        self.keyID = keyID
    }

    /// Runs the job on a thread of its own, so HTTP and MQTT keep answering while the model trains. Cancelling the
    /// calling task, or `progress`, stops the training at its next fold fit.
    public func run(progress: TrainingProgress = TrainingProgress()) async throws -> Outcome {
        try await withTaskCancellationHandler {
            try await runOffThePool { try compute(progress: progress) }
        } onCancel: {
            progress.cancel()
        }
    }

    /// The job, on the calling thread (CPU-bound: call `run()` from async code).
    public func compute(progress: TrainingProgress? = nil) throws -> Outcome {
        guard let (trainingTable, cut) = TrainingData.split(table, holdout: holdout, notBefore: notBefore),
            table.labels.indices.contains(where: { table.labels[$0] != nil && table.times[$0] >= cut })
        else {
            if let notBefore {
                return .refused(reason: "no labelled rows after \(notBefore.iso8601) to hold out")
            }
            return .refused(reason: "too few labelled rows to hold any out")
        }
        let options = Trainer.Options(
            trials: trials, seed: seed, workers: 2, modelID: modelID ?? "occupancy-\(scope)", version: version)
        let trained: Trainer.Result
        do {
            trained = try Trainer.train(trainingTable, options: options, progress: progress)
        } catch {
            if progress?.isCancelled == true { return .refused(reason: "training cancelled (the server is stopping)") }
            return .refused(reason: "training refused: \(error.message)")
        }
        var bundle = trained.bundle
        bundle.manifest.scope = manifestScope ?? .init(kind: .site, id: scope)
        let bytes = bundle.encode(signingKey: signingKey, keyID: keyID)

        // The held-out window: challenger, champion and the rule chosen on the training rows.
        let holdoutRows = table.labels.indices.filter { table.labels[$0] != nil && table.times[$0] >= cut }
        let labels = holdoutRows.map { table.labels[$0]! }
        let challenger = try Self.measure(bundle, table: table, rows: holdoutRows, labels: labels)
        let champion = try self.champion.map {
            RetrainReport.Scored(
                version: $0.version,
                metrics: try Self.measure($0.bundle, table: table, rows: holdoutRows, labels: labels))
        }
        let trainingLabelled = trainingTable.labels.indices.filter { trainingTable.labels[$0] != nil }
        var rule: RetrainReport.Rule?
        if let r = StaticRuleBaseline.fit(trainingTable, rows: trainingLabelled),
            let column = table.numbers(of: r.channel)
        {
            let values = holdoutRows.map { column[$0] }
            rule = .init(
                rule: r.description,
                metrics: BinaryMetrics(decisions: values.map(r.decide), scores: values.map(r.score), labels: labels))
        }
        let decision = promotion.decide(
            challenger: challenger, champion: champion.map { ($0.version, $0.metrics) },
            rule: rule.map { ($0.rule, $0.metrics) })
        return .trained(
            Result(
                bundle: bundle, bytes: bytes, cut: cut, holdoutRows: holdoutRows.count, challenger: challenger,
                champion: champion,
                rule: rule, promote: decision.promote, reason: decision.reason, training: trained.report))
    }

    /// `bundle`'s metrics on `rows` of `table`, at the bundle's own threshold.
    static func measure(_ bundle: ModelBundle, table: LabelledTable, rows: [Int], labels: [UInt8]) throws
        -> BinaryMetrics
    {
        let p = try ModelEvaluation.scores(bundle: bundle, table: table)
        return BinaryMetrics(
            probabilities: rows.map { p[$0] }, labels: labels, threshold: bundle.manifest.policy.threshold)
    }
}
