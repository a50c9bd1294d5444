import Evaluator
import Features
import Foundation
import OccupantCore

/// Server-mode training: features with the gateway's pipeline, a cross-validated search, a final fit on every
/// labelled row, and a bundle whose manifest carries the evaluation report.
public enum Trainer {
    /// Fewest labelled rows `train` accepts (the seed's Autopilot minimum).
    public static let minimumRows = 500

    public struct Options: Sendable {
        public var trials: Int
        public var seed: UInt64
        public var folds: Int
        /// Feature groups to search over (nil = all for this data).
        public var featureGroups: [String]?
        public var ablation: Bool
        /// Threads; trials run side by side, each fit is single-threaded.
        public var workers: Int
        public var modelID: String
        public var version: Int
        /// How the model is picked among the trials (see `Search.SelectionRule`).
        public var selection: Search.SelectionRule
        /// Trees keep the level features' directions (`FeatureSpace.monotone`).
        public var monotone: Bool
        /// Threads of each fit outside the search (the final fit and the out-of-fold refits, one after another);
        /// the model does not depend on it.
        public var fitThreads: Int = GradientBoosting.availableCores

        public init(
            trials: Int = 250, seed: UInt64 = 1, folds: Int = 7, featureGroups: [String]? = nil, ablation: Bool = false,
            workers: Int = 2, modelID: String = "occupancy", version: Int = 1,
            selection: Search.SelectionRule = .bestAUC,
            monotone: Bool = true
        ) {
            self.monotone = monotone
            self.selection = selection
            self.trials = trials
            self.seed = seed
            self.folds = folds
            self.featureGroups = featureGroups
            self.ablation = ablation
            self.workers = workers
            self.modelID = modelID
            self.version = version
        }
    }

    /// The unsigned bundle (sign it with `ModelBundle.encode(signingKey:keyID:)`) and the report.
    public struct Result: Sendable {
        public var bundle: ModelBundle
        public var report: TrainingReport
    }

    /// Refuses tables with too few labelled rows or one class, naming what is missing.
    public static func checkTrainable(_ table: LabelledTable) throws(OccupantError) {
        let labelled = table.labelledCount
        guard labelled >= minimumRows else {
            throw OccupantError(
                .data,
                "\(labelled) labelled rows; training needs at least \(minimumRows) (add \(minimumRows - labelled) more)"
            )
        }
        let occupied = table.labels.reduce(0) { $0 + Int($1 ?? 0) }
        if occupied == 0 || occupied == labelled {
            let have = occupied == 0 ? "vacant" : "occupied"
            let missing = occupied == 0 ? "occupied" : "vacant"
            throw OccupantError(
                .data, "all \(labelled) labelled rows are \(have); training needs \(missing) rows too")
        }
    }

    public static func train(
        _ table: LabelledTable, options: Options, progress: TrainingProgress? = nil
    ) throws(OccupantError) -> Result {
        try checkTrainable(table)
        let clock = ContinuousClock()
        let searchStart = clock.now
        var groups = FeatureSpace.defaultGroups(for: table)
        if let names = options.featureGroups { groups = try FeatureSpace.select(groups, names: names) }
        let space = try FeatureSpace(table: table, groups: groups)
        let search = try Search(table: table, space: space, folds: options.folds)
        let names = groups.map(\.name)
        let foldCount = search.validation.folds.count
        // After the search: the ablation (at most one variant per group, each on every fold), the out-of-fold
        // refit of the chosen configuration and the final fit.
        let ablationEstimate = options.ablation ? names.count * foldCount : 0
        progress?.replan(addingFits: ablationEstimate + foldCount + 1)
        let results = search.run(
            trials: options.trials, seed: options.seed, groups: names, workers: options.workers,
            monotone: options.monotone,
            progress: progress)
        try progress?.checkCancelled()
        let selection = search.select(results, rule: options.selection)
        let best = results.first { $0.index == selection.chosen }!
        var ablation: [TrainingReport.Ablation]? = nil
        if options.ablation {
            let variants = ablationVariants(best: best, groups: names)
            progress?.replan(addingFits: variants.count * foldCount - ablationEstimate)
            progress?.enter(.ablation)
            ablation = runAblation(
                search, best: best, variants: variants, seed: best.seed ?? options.seed, workers: options.workers,
                progress: progress)
            try progress?.checkCancelled()
        }
        progress?.enter(.finalFit)
        let searchSeconds = seconds(clock.now - searchStart)

        // Final fit on every labelled row.
        let fitStart = clock.now
        let labelled = table.labels.indices.filter { table.labels[$0] != nil }
        let treeLimit = best.treeCounts.isEmpty ? nil : max(1, best.treeCounts.reduce(0, +) / best.treeCounts.count)
        let trialSeed = best.seed ?? options.seed
        let (model, _) = try search.fit(
            best.config, rows: labelled, seed: trialSeed, earlyStopping: false, treeLimit: treeLimit,
            threads: options.fitThreads)
        progress?.fitted()
        let finalFitSeconds = seconds(clock.now - fitStart)

        // Out-of-fold metrics of the chosen configuration, and of the static rule chosen per fold.
        // Out-of-fold probabilities of the chosen configuration → the calibrator and the threshold; then every
        // validation figure on the calibrated probabilities at that threshold, as the gateway will decide.
        let oof = try outOfFold(
            search, config: best.config, seed: trialSeed, threads: options.fitThreads, progress: progress)
        let (calibrator, calibration) = CalibratorFit.fit(
            probabilities: oof.probabilities, labels: oof.labels, folds: oof.folds)
        let threshold = calibration.threshold
        let policy = BundleManifest.DecisionPolicy(threshold: threshold)
        let calibrated = oof.probabilities.map { p in calibrator.map { $0.apply(p) } ?? p }
        let validationMetrics = BinaryMetrics(probabilities: calibrated, labels: oof.labels, threshold: threshold)
        let events = EventSummary(
            times: oof.rows.map { table.times[$0] }, probabilities: calibrated, labels: oof.labels.map { $0 },
            threshold: threshold,
            hysteresis: Hysteresis(occupiedAfter: policy.occupiedAfter, vacantAfter: policy.vacantAfter))
        var baselineDecisions: [Bool] = []
        var baselineScores: [Double] = []
        var baselineLabels: [UInt8] = []
        for fold in search.validation.folds {
            guard let rule = StaticRuleBaseline.fit(table, rows: fold.train),
                let column = table.numbers(of: rule.channel)
            else { continue }
            for r in fold.validation {
                baselineDecisions.append(rule.decide(column[r]))
                baselineScores.append(rule.score(column[r]))
                baselineLabels.append(table.labels[r]!)
            }
        }
        let baselineMetrics = BinaryMetrics(
            decisions: baselineDecisions, scores: baselineScores, labels: baselineLabels)
        guard let rule = StaticRuleBaseline.fit(table, rows: labelled) else {
            throw OccupantError(.data, "no numeric channel to build the static-rule baseline from")
        }

        let (schema, columns) = space.subset(best.config)
        let treeCount: Int? = if case .trees(let e) = model { e.treeCount } else { nil }
        let source = "occupant-train \(occupantVersion); baseline rule: \(rule); model: \(best.config)"
        let report = TrainingReport(
            source: source, dataFrom: table.times.first!.iso8601, dataTo: table.times.last!.iso8601, rows: table.count,
            labelledRows: labelled.count, occupiedRows: table.labels.reduce(0) { $0 + Int($1 ?? 0) },
            folds: search.validation.folds.map {
                .init(
                    from: $0.from.iso8601, to: $0.to.iso8601, trainRows: $0.train.count,
                    validationRows: $0.validation.count)
            },
            chosen: best.config, threshold: threshold, treeCount: treeCount, featureNames: schema.names,
            validation: validationMetrics,
            calibration: CalibrationSummary(probabilities: calibrated, labels: oof.labels), events: events,
            calibrator: calibration,
            baseline: .init(rule: rule.description, validation: baselineMetrics),
            beatsBaseline: validationMetrics.accuracy > baselineMetrics.accuracy,
            trials: results.count, prunedTrials: results.filter(\.pruned).count, leaderboard: Array(results.prefix(10)),
            ablation: ablation, selection: selection, searchSeconds: searchSeconds, finalFitSeconds: finalFitSeconds,
            seed: options.seed)

        let drift = statistics(schema, columns: columns, space: space, rows: labelled, times: table.times)
        var manifest = BundleManifest(
            modelID: options.modelID, version: options.version, created: Instant(seconds: realtimeSeconds()),
            features: withRanges(schema, columns: columns, space: space, rows: labelled),
            policy: policy, calibration: calibrator,
            provenance: .init(
                source: source, dataFrom: report.dataFrom, dataTo: report.dataTo, trainingRows: labelled.count,
                validationRows: validationMetrics.rows, metrics: validationMetrics.manifestMetrics,
                staticRuleBaseline: baselineMetrics.manifestMetrics),
            featureStatistics: drift.statistics,
            golden: golden(model, columns: columns, space: space, rows: labelled), training: report.manifestSummary)
        manifest.drift = drift.calibration
        let bundle = ModelBundle(manifest: manifest, model: model)
        do {
            try bundle.checkGoldenVectors()
        } catch {
            throw OccupantError(.model, "the trained model fails its own golden vectors: \(error.message)")
        }
        return Result(bundle: bundle, report: report)
    }

    /// Re-scores a configuration on every fold: its out-of-fold probabilities in time order, with each row's
    /// label and fold (folds renumbered in time order, 0 first).
    static func outOfFold(
        _ search: Search, config: TrialConfig, seed: UInt64, threads: Int = 1, progress: TrainingProgress? = nil
    ) throws(OccupantError) -> (probabilities: [Double], labels: [UInt8], rows: [Int], folds: [Int]) {
        var probabilities: [Double] = []
        var rows: [Int] = []
        var folds: [Int] = []
        let chronological = search.validation.folds.indices.sorted {
            (search.validation.folds[$0].validation.min() ?? 0) < (search.validation.folds[$1].validation.min() ?? 0)
        }
        for (rank, k) in chronological.enumerated() {
            try progress?.checkCancelled()
            let outcome = try search.runFold(config, fold: k, seed: seed &+ UInt64(k), threads: threads)
            progress?.fitted()
            probabilities += outcome.probabilities
            rows += search.validation.folds[k].validation
            folds += Array(repeating: rank, count: outcome.probabilities.count)
        }
        let order = rows.indices.sorted { rows[$0] < rows[$1] }
        return (
            order.map { probabilities[$0] }, order.map { search.table.labels[rows[$0]]! }, order.map { rows[$0] },
            order.map { folds[$0] }
        )
    }

    /// The chosen configuration with each of its groups removed (when it has several) and each other group added.
    static func ablationVariants(best: Search.TrialResult, groups: [String]) -> [(String, String, [String])] {
        var candidates: [(String, String, [String])] = []
        if best.config.groups.count > 1 {
            for g in best.config.groups { candidates.append((g, "removed", best.config.groups.filter { $0 != g })) }
        }
        for g in groups where !best.config.groups.contains(g) {
            candidates.append((g, "added", groups.filter { best.config.groups.contains($0) || $0 == g }))
        }
        return candidates
    }

    static func runAblation(
        _ search: Search, best: Search.TrialResult, variants: [(String, String, [String])], seed: UInt64,
        workers: Int, progress: TrainingProgress? = nil
    ) -> [TrainingReport.Ablation] {
        let folds = Array(search.validation.folds.indices)
        let seeds = UInt64(seed)
        return parallelMap(variants.count, workers: workers) { i in
            let (group, change, set) = variants[i]
            let r = search.score(
                best.config.with(groups: set), index: i, folds: folds, seed: seeds, pruned: false, progress: progress
            ).0
            return TrainingReport.Ablation(
                group: group, change: change, accuracy: r.accuracy, logLoss: r.logLoss,
                accuracyDelta: r.accuracy - best.accuracy, logLossDelta: r.logLoss - best.logLoss)
        }
    }

    /// The schema with each feature's training range filled in where the spec has none (for out-of-range counts).
    static func withRanges(_ schema: FeatureSchema, columns: [Int], space: FeatureSpace, rows: [Int]) -> FeatureSchema {
        var schema = schema
        for (i, c) in columns.enumerated() {
            let values = rows.map { space.columns[c][$0] }.filter { !$0.isNaN }
            guard let lo = values.min(), let hi = values.max() else { continue }
            if schema.features[i].minimum == nil { schema.features[i].minimum = lo }
            if schema.features[i].maximum == nil { schema.features[i].maximum = hi }
        }
        return schema
    }

    /// Quantiles, the drift histogram and the calibrated drift threshold of each feature (see `DriftBaseline`), over
    /// the labelled rows in time order.
    static func statistics(
        _ schema: FeatureSchema, columns: [Int], space: FeatureSpace, rows: [Int], times: [Instant]
    ) -> (statistics: [BundleManifest.FeatureStatistics], calibration: BundleManifest.DriftCalibration) {
        let ps = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
        let streams = columns.map { c in rows.map { space.columns[c][$0] } }
        let (baselines, calibration) = DriftBaseline.calibrate(
            streams, spacing: DriftBaseline.medianSpacing(rows.map { times[$0] }))
        let statistics = columns.indices.map { i in
            let values = streams[i]
            let present = values.filter { !$0.isNaN }.sorted()
            let quantiles =
                present.isEmpty
                ? nil
                : ps.map { p in
                    BundleManifest.Quantile(
                        p: p, value: present[min(present.count - 1, Int(p * Double(present.count)))])
                }
            return BundleManifest.FeatureStatistics(
                name: schema.features[i].name, count: values.count, missing: values.count - present.count,
                quantiles: quantiles, histogram: baselines[i]?.0, driftThreshold: baselines[i]?.threshold)
        }
        return (statistics, calibration)
    }

    /// 64 labelled rows spread over the table (rows the model can score, i.e. without NaN for logistic models).
    static func golden(_ model: Model, columns: [Int], space: FeatureSpace, rows: [Int]) -> [GoldenVector] {
        let vectors = rows.map { r in columns.map { space.columns[$0][r] } }
        var usable = vectors.filter { !model.probability($0).isNaN }
        if usable.count < 64 { usable = vectors.filter { !model.probability($0).isNaN } }
        let step = max(1, usable.count / 64)
        let picked = stride(from: 0, to: usable.count, by: step).prefix(64).map { usable[$0] }
        return GoldenVectors.make(model: model, rows: Array(picked))
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
