import Crypto
import Evaluator
import Foundation
import Logging
import OccupantCore
import Training

/// Where the registry says things to the fleet: model announcements (MQTT push) and alerts (MQTT and webhook).
public protocol FleetAnnouncer: Sendable {
    func modelAvailable(gateway: String, model: ModelRecord, url: String) async
    func alert(_ alert: QualityAlert) async
}

/// The champion of a scope measured worse on newly labelled rows than on its training holdout.
public struct QualityAlert: Codable, Sendable, Equatable {
    public var scope: String
    public var model: String
    public var version: Int
    public var metric: String
    public var baseline: Double
    public var measured: Double
    public var rows: Int
    public var at: String
    public var message: String

    public init(
        scope: String, model: String, version: Int, metric: String, baseline: Double, measured: Double, rows: Int, at: String,
        message: String
    ) {
        self.scope = scope
        self.model = model
        self.version = version
        self.metric = metric
        self.baseline = baseline
        self.measured = measured
        self.rows = rows
        self.at = at
        self.message = message
    }
}

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
    private var running: Set<String> = []
    private var lastScheduled: [String: Double] = [:]
    /// Labelled rows seen by the last job that produced no model: the trigger counts new rows from there.
    private var lastAttemptSeen: [String: Int] = [:]
    /// Labelled rows when the champion's quality was last judged: it is judged again only after `alerts.minimumRows`
    /// more, not on every check (judging reads and scores the scope's whole table).
    private var lastQualitySeen: [String: Int] = [:]

    public init(
        config: ServerConfig, store: any ServerStore, artifacts: ArtifactStore,
        signing: (key: Curve25519.Signing.PrivateKey, keyID: String)?, announcer: any FleetAnnouncer, logger: Logger
    ) {
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
    public func retrain(scope: String, trigger: String) async throws -> RetrainOutcome {
        guard !gateways(in: scope).isEmpty else { throw OccupantError(.usage, "unknown scope '\(scope)' (scopes: \(config.scopes.joined(separator: ", ")))") }
        guard let signing else { throw OccupantError(.configuration, "signingKey: not set; the server cannot sign models") }
        guard running.insert(scope).inserted else {
            return RetrainOutcome(scope: scope, version: nil, promoted: false, reason: "a job for \(scope) is already running", sha256: nil)
        }
        defer { running.remove(scope) }
        let started = Date().timeIntervalSince1970
        lastScheduled[scope] = started
        logger.info("retraining \(scope) (\(trigger))")

        let members = gateways(in: scope)
        let seen = try await store.labelledRowCount(gateways: members)
        lastAttemptSeen[scope] = seen
        let (table, gateway) = try await scopeTable(scope)
        guard let table, table.labelledCount > 0 else {
            return RetrainOutcome(scope: scope, version: nil, promoted: false, reason: "no labelled telemetry in \(scope) yet", sha256: nil)
        }
        guard let (trainingTable, cut) = TrainingData.split(table, holdout: config.retrain.holdout) else {
            return RetrainOutcome(scope: scope, version: nil, promoted: false, reason: "too few labelled rows to hold any out", sha256: nil)
        }
        let version = try await store.nextVersion(scope: scope)
        let options = Trainer.Options(
            trials: config.retrain.trials, seed: config.retrain.seed, workers: 2, modelID: "occupancy-\(scope)", version: version)
        let result: Trainer.Result
        do {
            result = try await runOffThePool { try Trainer.train(trainingTable, options: options) }
        } catch let error as OccupantError {
            let reason = "training refused: \(error.message)"
            logger.warning("\(scope): \(reason)")
            return RetrainOutcome(scope: scope, version: nil, promoted: false, reason: reason, sha256: nil)
        }
        var bundle = result.bundle
        bundle.manifest.scope = .init(kind: .site, id: scope)
        let bytes = bundle.encode(signingKey: signing.key, keyID: signing.keyID)
        let sha = try artifacts.put(bytes)

        // The held-out window: challenger, champion and the rule chosen on the training rows.
        let holdoutRows = table.labels.indices.filter { table.labels[$0] != nil && table.times[$0] >= cut }
        let labels = holdoutRows.map { table.labels[$0]! }
        let challenger = try measure(bundle, table: table, rows: holdoutRows, labels: labels)
        var champion: (version: Int, metrics: BinaryMetrics)?
        let championVersion = try await store.alias(scope: scope, alias: "champion")
        if let v = championVersion, let record = try await store.model(scope: scope, version: v) {
            let championBundle = try ModelBundle.decode(try artifacts.get(sha256: record.sha256))
            champion = (v, try measure(championBundle, table: table, rows: holdoutRows, labels: labels))
        }
        let trainingLabelled = trainingTable.labels.indices.filter { trainingTable.labels[$0] != nil }
        var rule: (String, BinaryMetrics)?
        if let r = StaticRuleBaseline.fit(trainingTable, rows: trainingLabelled), let column = table.numbers(of: r.channel) {
            let values = holdoutRows.map { column[$0] }
            rule = (r.description, BinaryMetrics(
                decisions: values.map(r.decide), scores: values.map(r.score), labels: labels))
        }

        let decision = PromotionRule(metric: config.promotion.metric, margin: config.promotion.margin)
            .decide(challenger: challenger, champion: champion.map { ($0.version, $0.metrics) }, rule: rule)
        let now = Date().timeIntervalSince1970
        let report = RetrainReport(
            scope: scope, gateway: gateway, trigger: trigger, version: version, sha256: sha,
            holdout: .init(
                from: cut.iso8601, to: table.times.last!.iso8601, rows: holdoutRows.count, challenger: challenger,
                champion: champion.map { .init(version: $0.version, metrics: $0.metrics) },
                rule: rule.map { .init(rule: $0.0, metrics: $0.1) }),
            promoted: decision.promote, reason: decision.reason, training: result.report)
        let record = ModelRecord(
            scope: scope, version: version, modelID: bundle.manifest.modelID, sha256: sha, size: bytes.count, created: now,
            dataFrom: table.times.first!.seconds, dataTo: cut.seconds, labelledRowsSeen: seen, report: try report.json())
        try await store.addModel(record)
        let metric = config.promotion.metric
        try await store.addMetric(MetricRecord(
            scope: scope, version: version, at: now, kind: "holdout", metric: metric.rawValue,
            value: metric.value(challenger), rows: challenger.rows))
        if let champion {
            try await store.addMetric(MetricRecord(
                scope: scope, version: champion.version, at: now, kind: "holdout", metric: metric.rawValue,
                value: metric.value(champion.metrics), rows: champion.metrics.rows))
        }
        try await store.addPromotion(PromotionRecord(
            scope: scope, at: now, challenger: version, champion: championVersion, promoted: decision.promote, reason: decision.reason))
        logger.info("\(scope) v\(version): \(decision.promote ? "promoted" : "kept as challenger"): \(decision.reason)")
        if decision.promote {
            try await promote(scope: scope, record: record, previous: championVersion)
        } else {
            try await store.setAlias(scope: scope, alias: "challenger", version: version)
        }
        return RetrainOutcome(scope: scope, version: version, promoted: decision.promote, reason: decision.reason, sha256: sha)
    }

    /// The scope's joined table (nil when it has no labelled telemetry) and the gateway it came from: the one with
    /// the most labelled rows (see `TrainingData.table`).
    func scopeTable(_ scope: String) async throws -> (LabelledTable?, String?) {
        var best: (gateway: String, labelled: Int)?
        for g in gateways(in: scope) {
            let n = try await store.labelledRowCount(gateways: [g])
            if n > (best?.labelled ?? 0) { best = (g, n) }
        }
        guard let best else { return (nil, nil) }
        let from = config.retrain.window.map { Date().timeIntervalSince1970 - $0 }
        let rows = try await store.telemetry(gateways: [best.gateway], from: from)
        guard !rows.isEmpty else { return (nil, nil) }
        return (TrainingData.table(rows: rows, labels: try await store.labels(gateways: [best.gateway])), best.gateway)
    }

    func measure(_ bundle: ModelBundle, table: LabelledTable, rows: [Int], labels: [UInt8]) throws -> BinaryMetrics {
        let p = try ModelEvaluation.scores(bundle: bundle, table: table)
        return BinaryMetrics(probabilities: rows.map { p[$0] }, labels: labels, threshold: bundle.manifest.policy.threshold)
    }

    // MARK: Promotion and rollout

    /// Makes `record` the champion and starts its rollout: the first wave now, everyone once the wave runs it.
    public func promote(scope: String, record: ModelRecord, previous: Int?) async throws {
        try await store.setAlias(scope: scope, alias: "champion", version: record.version)
        lastQualitySeen[scope] = nil  // a new champion is judged at the next check
        try await store.setAlias(scope: scope, alias: "challenger", version: nil)
        let members = gateways(in: scope)
        var wave = Set(config.promotion.firstWave.filter(members.contains))
        if let percent = config.promotion.firstWavePercent {
            // A stable choice: the gateways whose hashed id sorts first.
            let count = Int((Double(members.count) * percent / 100).rounded(.up))
            wave.formUnion(members.sorted { tokenHash($0) < tokenHash($1) }.prefix(count))
        }
        let staged = previous != nil && !wave.isEmpty && wave.count < members.count
        try await store.setRollout(Rollout(
            scope: scope, version: record.version, previous: previous, wave: wave.sorted(), widened: !staged))
        for g in members where !staged || wave.contains(g) {
            await announcer.modelAvailable(gateway: g, model: record, url: modelURL(g))
        }
        if staged { logger.info("\(scope) v\(record.version): first wave \(wave.sorted().joined(separator: ", "))") }
    }

    public func modelURL(_ gateway: String) -> String { API.url(config.baseURL, API.gatewayModel(gateway)) }

    /// The model `gateway` should run, or nil (keep the rule). Not isolated: the poll path reads the store directly.
    public nonisolated func model(for gateway: String) async throws -> ModelRecord? {
        guard let scope = config.gateway(gateway)?.scope else { return nil }
        return try await store.assignedModel(scope: scope, gateway: gateway)
    }

    /// A gateway's `model/status` report: stored, and once every first-wave gateway runs the new model, the rollout
    /// widens to the rest of the scope.
    public func gatewayReported(_ status: GatewayStatus) async throws {
        try await store.setGatewayStatus(status)
        guard let scope = config.gateway(status.gateway)?.scope, let r = try await store.rollout(scope: scope), !r.widened,
            let record = try await store.model(scope: scope, version: r.version)
        else { return }
        let statuses = Dictionary(try await store.gatewayStatuses().map { ($0.gateway, $0) }, uniquingKeysWith: { $1 })
        guard r.wave.allSatisfy({ statuses[$0]?.sha256 == record.sha256 }) else { return }
        var widened = r
        widened.widened = true
        try await store.setRollout(widened)
        logger.info("\(scope) v\(r.version): first wave runs it; rolling out to the rest of the scope")
        for g in gateways(in: scope) where !r.wave.contains(g) {
            await announcer.modelAvailable(gateway: g, model: record, url: modelURL(g))
        }
    }

    // MARK: Triggers and alerts

    /// Starts the jobs whose trigger fired: enough newly labelled rows, or the schedule.
    public func checkTriggers() async {
        for scope in config.scopes where !running.contains(scope) {
            do {
                var trigger: String?
                let latest = try await store.models(scope: scope).last
                let labelled = try await store.labelledRowCount(gateways: gateways(in: scope))
                if config.retrain.newLabelledRows > 0 {
                    let fresh = labelled - max(latest?.labelledRowsSeen ?? 0, lastAttemptSeen[scope] ?? 0)
                    if fresh >= config.retrain.newLabelledRows { trigger = "\(fresh) newly labelled rows" }
                }
                if trigger == nil, let every = config.retrain.every {
                    let last = lastScheduled[scope] ?? latest?.created ?? 0
                    if Date().timeIntervalSince1970 - last >= every { trigger = "schedule" }
                }
                if let trigger { _ = try await retrain(scope: scope, trigger: trigger) }
                if labelled >= (lastQualitySeen[scope] ?? 0) + config.alerts.minimumRows {
                    lastQualitySeen[scope] = labelled
                    try await checkQuality(scope: scope)
                }
            } catch {
                logger.error("\(scope): \(error)")
            }
        }
    }

    /// Scores the champion on rows labelled after its training data; alerts once per version when it falls below its
    /// holdout baseline by the configured margin.
    public func checkQuality(scope: String) async throws {
        guard let v = try await store.alias(scope: scope, alias: "champion"),
            let record = try await store.model(scope: scope, version: v),
            let baseline = try await store.metrics(scope: scope).last(where: { $0.version == v && $0.kind == "holdout" && $0.metric == "accuracy" })
        else { return }
        let (table, _) = try await scopeTable(scope)
        guard let table else { return }
        let rows = table.labels.indices.filter { table.labels[$0] != nil && table.times[$0].seconds > record.dataTo }
        let previous = try await store.metrics(scope: scope).last { $0.version == v && $0.kind == "live" }
        guard rows.count >= config.alerts.minimumRows, rows.count >= (previous?.rows ?? 0) + config.alerts.minimumRows else { return }
        let bundle = try ModelBundle.decode(try artifacts.get(sha256: record.sha256))
        let m = try measure(bundle, table: table, rows: rows, labels: rows.map { table.labels[$0]! })
        let now = Date().timeIntervalSince1970
        try await store.addMetric(MetricRecord(scope: scope, version: v, at: now, kind: "live", metric: "accuracy", value: m.accuracy, rows: m.rows))
        guard m.accuracy < baseline.value - config.alerts.margin else { return }
        let alerted = try await store.alerts(scope: scope).contains { $0.message.contains("\(record.modelID)@\(v) ") }
        guard !alerted else { return }
        let message = String(
            format: "%@@%d accuracy %.4f on %d newly labelled rows, below its holdout %.4f by more than %.3f",
            record.modelID, v, m.accuracy, m.rows, baseline.value, config.alerts.margin)
        try await store.addAlert(scope: scope, at: now, message: message)
        logger.warning("\(scope): \(message)")
        await announcer.alert(QualityAlert(
            scope: scope, model: record.modelID, version: v, metric: "accuracy", baseline: baseline.value, measured: m.accuracy,
            rows: m.rows, at: Instant(seconds: now).iso8601, message: message))
    }
}

/// The challenger replaces the champion only if it beats it by `margin` on `metric` and beats the static rule.
public struct PromotionRule: Sendable {
    public var metric: ServerConfig.Promotion.Metric
    public var margin: Double

    public init(metric: ServerConfig.Promotion.Metric, margin: Double) {
        self.metric = metric
        self.margin = margin
    }

    public func decide(
        challenger: BinaryMetrics, champion: (version: Int, metrics: BinaryMetrics)?, rule: (String, BinaryMetrics)?
    ) -> (promote: Bool, reason: String) {
        let name = metric.rawValue
        let c = metric.value(challenger)
        var parts = [String(format: "challenger %@ %.4f on %d held-out rows", name, c, challenger.rows)]
        var promote = true
        if let (text, r) = rule {
            let rv = metric.value(r)
            parts.append(String(format: "rule (%@) %.4f", text, rv))
            if !(c > rv) {
                promote = false
                parts.append("does not beat the rule")
            }
        }
        if let champion {
            let p = metric.value(champion.metrics)
            parts.append(String(format: "champion v%d %.4f, margin %.4f", champion.version, p, margin))
            if !(c >= p + margin) {
                promote = false
                parts.append("does not beat the champion by the margin")
            }
        } else {
            parts.append("no champion yet")
        }
        return (promote, parts.joined(separator: "; "))
    }
}

extension ServerConfig.Promotion.Metric {
    func value(_ m: BinaryMetrics) -> Double {
        switch self {
        case .accuracy: m.accuracy
        case .f1: m.f1
        case .auc: m.auc.isNaN ? 0.5 : m.auc
        }
    }
}

/// The full record of one job, stored with the model and served by `GET /v1/models`.
public struct RetrainReport: Codable, Sendable {
    public struct Scored: Codable, Sendable {
        public var version: Int
        public var metrics: BinaryMetrics
    }

    public struct Rule: Codable, Sendable {
        public var rule: String
        public var metrics: BinaryMetrics
    }

    public struct Holdout: Codable, Sendable {
        public var from: String
        public var to: String
        public var rows: Int
        public var challenger: BinaryMetrics
        public var champion: Scored?
        public var rule: Rule?
    }

    public var scope: String
    public var gateway: String?
    public var trigger: String
    public var version: Int
    public var sha256: String
    public var holdout: Holdout
    public var promoted: Bool
    public var reason: String
    public var training: TrainingReport

    func json() throws -> String {
        String(decoding: try serverJSONEncoder().encode(self), as: UTF8.self)
    }
}

func serverJSONEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return encoder
}

/// CPU-bound work on its own thread, so HTTP and MQTT keep answering while a model trains.
func runOffThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
