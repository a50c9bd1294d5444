import Evaluator
import Foundation
import OccupantCore
import Synchronization

/// Random search over family × hyper-parameters × feature groups, scored by time-ordered day-blocked
/// cross-validation, with successive halving: every trial is scored on one recent fold first, the best third on up
/// to three folds, and the best third of those on every fold.
public struct Search: Sendable {
    public let space: FeatureSpace
    public let table: LabelledTable
    public let validation: CrossValidation
    /// `labels[r]` (0 for unlabelled rows, which are never used).
    let labels: [UInt8]

    /// A trial's cross-validated result.
    public struct TrialResult: Codable, Sendable {
        public var index: Int
        public var config: TrialConfig
        /// Folds scored (fewer than all when pruned).
        public var folds: Int
        public var pruned: Bool
        /// Accuracy of the out-of-fold probabilities at `threshold`.
        public var accuracy: Double
        public var logLoss: Double
        public var auc: Double
        /// Chosen on the out-of-fold probabilities.
        public var threshold: Double
        /// Trees kept by early stopping, per fold (trees only).
        public var treeCounts: [Int]
        /// Per scored fold, in fold order: accuracy at `threshold` and mean log-loss (for the fold-to-fold spread
        /// the one-standard-error rule needs).
        public var foldAccuracy: [Double] = []
        public var foldLogLoss: [Double] = []
        /// The fit seed (fold `k` fits with `seed &+ k`); the final fit reuses it, so the chosen model is the one
        /// that was scored, not a re-draw of its row and column samples.
        public var seed: UInt64? = nil
    }

    public init(table: LabelledTable, space: FeatureSpace, folds: Int) throws(OccupantError) {
        self.table = table
        self.space = space
        validation = try CrossValidation(table: table, count: folds)
        labels = table.labels.map { $0 ?? 0 }
    }

    /// One fold's out-of-fold probabilities.
    struct FoldOutcome: Sendable {
        var probabilities: [Double]
        var treeCount: Int
    }

    /// Fits `config` on fold `k`'s training rows and scores its validation rows.
    func runFold(
        _ config: TrialConfig, fold k: Int, seed: UInt64, threads: Int = 1
    ) throws(OccupantError) -> FoldOutcome {
        let fold = validation.folds[k]
        let (model, trees) = try fit(config, rows: fold.train, seed: seed, earlyStopping: true, threads: threads)
        let columns = space.subset(config).columns
        var row = [Double](repeating: 0, count: columns.count)
        let probabilities = fold.validation.map { r -> Double in
            for (i, c) in columns.enumerated() { row[i] = space.columns[c][r] }
            return model.probability(row)
        }
        return FoldOutcome(probabilities: probabilities, treeCount: trees)
    }

    /// Fits `config` on `rows`; trees stop early on the latest 15 % of `rows` when `earlyStopping`, else grow
    /// `treeLimit` trees (default: the configuration's maximum). A tree fit uses `threads` threads (the search's
    /// trials, side by side, use one each); the model is the same for any thread count.
    public func fit(
        _ config: TrialConfig, rows: [Int], seed: UInt64, earlyStopping: Bool, treeLimit: Int? = nil, threads: Int = 1
    ) throws(OccupantError) -> (model: Model, trees: Int) {
        let columns = space.subset(config).columns
        switch config.family {
        case .logistic:
            let fit = try LogisticRegression.fit(
                columns: columns.map { space.columns[$0] }, labels: labels, rows: rows, parameters: config.logistic!)
            return (.logistic(fit.model), 0)
        case .trees:
            var p = config.boosting!
            if let treeLimit { p.trees = treeLimit }
            // The latest rows stop early: by time when several streams make row order differ from time order.
            let ordered =
                table.streams.count > 1 ? rows.sorted { (table.times[$0], $0) < (table.times[$1], $1) } : rows
            let split = earlyStopping ? CrossValidation.earlyStoppingSplit(ordered) : (ordered, [])
            let fit = try GradientBoosting.fit(
                matrix: space.matrix, features: columns, labels: labels, train: split.0, validation: split.1,
                parameters: p, monotone: p.monotone == true ? columns.map { space.monotone[$0] } : [], seed: seed,
                threads: threads)
            return (.trees(fit.ensemble), fit.treeCount)
        }
    }

    /// Scores `config` on the given folds (out-of-fold probabilities pooled).
    /// Once `progress` is cancelled, the folds left are not fitted (they score as missing) and the run unwinds.
    func score(
        _ config: TrialConfig, index: Int, folds: [Int], seed: UInt64, pruned: Bool, prior: [Int: FoldOutcome] = [:],
        progress: TrainingProgress? = nil
    ) -> (TrialResult, [Int: FoldOutcome]) {
        var outcomes = prior
        for k in folds where outcomes[k] == nil {
            do {
                try progress?.checkCancelled()
                defer { progress?.fitted() }
                outcomes[k] = try runFold(config, fold: k, seed: seed &+ UInt64(k))
            } catch {
                outcomes[k] = FoldOutcome(
                    probabilities: [Double](repeating: .nan, count: validation.folds[k].validation.count), treeCount: 0)
            }
        }
        var probabilities: [Double] = []
        var ys: [UInt8] = []
        var ranges: [Range<Int>] = []
        for k in outcomes.keys.sorted() {
            let start = probabilities.count
            probabilities += outcomes[k]!.probabilities
            ys += validation.folds[k].validation.map { labels[$0] }
            ranges.append(start..<probabilities.count)
        }
        let threshold = BinaryMetrics.bestThreshold(probabilities: probabilities, labels: ys)
        let metrics = BinaryMetrics(probabilities: probabilities, labels: ys, threshold: threshold)
        var losses = [Double](repeating: 0, count: probabilities.count)
        for (i, (p, y)) in zip(probabilities, ys).enumerated() {
            let q = p.isNaN ? 0.5 : min(max(p, 1e-15), 1 - 1e-15)
            losses[i] = y == 1 ? -log(q) : -log(1 - q)
        }
        let foldAccuracy = ranges.map { range in
            Double(range.filter { (probabilities[$0] >= threshold) == (ys[$0] == 1) }.count)
                / Double(max(range.count, 1))
        }
        let foldLogLoss = ranges.map { range in range.reduce(0) { $0 + losses[$1] } / Double(max(range.count, 1)) }
        let result = TrialResult(
            index: index, config: config, folds: outcomes.count, pruned: pruned, accuracy: metrics.accuracy,
            logLoss: losses.reduce(0, +) / Double(max(ys.count, 1)), auc: metrics.auc, threshold: threshold,
            treeCounts: outcomes.keys.sorted().map { outcomes[$0]!.treeCount }, foldAccuracy: foldAccuracy,
            foldLogLoss: foldLogLoss, seed: seed)
        return (result, outcomes)
    }

    /// Runs `trials` configurations (the first two are fixed: logistic on raw channels, default trees on raw
    /// channels) on `workers` threads; returns every trial, the best first.
    /// With `monotone`, every tree trial keeps the level features' directions (`FeatureSpace.monotone`).
    public func run(
        trials: Int, seed: UInt64, groups: [String], workers: Int = 2, monotone: Bool = true,
        progress: TrainingProgress? = nil
    ) -> [TrialResult] {
        precondition(trials >= 1 && !groups.isEmpty, "at least one trial and one group")
        var rng = TrainingRandom(seed: seed)
        let base = groups.contains("raw") ? ["raw"] : groups
        var candidates: [TrialConfig] = [.logistic(.init(l2: 1e-4), groups: base)]
        if trials > 1 {
            candidates.append(.trees(BoostingParameters(trees: 300, learningRate: 0.1, maxDepth: 4), groups: base))
        }
        while candidates.count < trials {
            var config = TrialConfig.random(groups: groups, channels: table.channels, rng: &rng)
            if space.subset(config).columns.isEmpty { config.channels = nil }
            candidates.append(config)
        }
        let seeds = (0..<trials).map { i -> UInt64 in
            var g = rng.derived(UInt64(i))
            return g.next()
        }

        let configs = candidates.map { config -> TrialConfig in
            var config = config
            if monotone, config.family == .trees { config.boosting!.monotone = true }
            return config
        }
        let all = Array(validation.folds.indices)
        // Rung 1 scores on the most recent fold that can tell trials apart: both classes, and at least the median
        // fold's rows (a partial last day, or a weekend with nobody in, says little about a trial).
        let sizes = validation.folds.map(\.validation.count).sorted()
        let informative = all.filter { k in
            let rows = validation.folds[k].validation
            let positives = rows.reduce(0) { $0 + Int(labels[$1]) }
            return positives > 0 && positives < rows.count && rows.count >= sizes[sizes.count / 2]
        }
        let first = informative.last ?? all.last!
        // Successive halving: every trial on that fold; the best third on up to three folds (the others most
        // recent first); the best third of those on every fold. The fixed reference configurations always go on,
        // so the selection rule can weigh the simplest models against the best (a fold or two is too noisy to drop
        // them).
        let order = [first] + all.reversed().filter { $0 != first }
        var rungFolds: [[Int]] = []
        for count in [1, 3, all.count] where count <= all.count && count > (rungFolds.last?.count ?? 0) {
            rungFolds.append(Array(order.prefix(count)))
        }
        let references = Array(0..<min(2, trials))
        var keepCounts: [Int] = []
        var alive = trials
        for _ in rungFolds.dropFirst() {
            alive = max(1, (alive + 2) / 3)
            keepCounts.append(alive)
        }
        var fits = trials * rungFolds[0].count
        for (rung, folds) in rungFolds.enumerated().dropFirst() {
            fits += min(trials, keepCounts[rung - 1] + references.count) * (folds.count - rungFolds[rung - 1].count)
        }
        progress?.enter(.search(rung: 1, rungs: rungFolds.count, folds: rungFolds[0].count))
        progress?.plan(trials: trials, fits: fits)
        var outcomes = [[Int: FoldOutcome]](repeating: [:], count: trials)
        var results = [TrialResult?](repeating: nil, count: trials)
        var contenders = Array(0..<trials)
        for (rung, folds) in rungFolds.enumerated() {
            let last = rung == rungFolds.count - 1
            if rung > 0 {
                let ranked = contenders.sorted { better(results[$0]!, results[$1]!) }
                contenders = references + ranked.filter { !references.contains($0) }.prefix(keepCounts[rung - 1])
            }
            let current = contenders
            let priors = outcomes
            progress?.enter(.search(rung: rung + 1, rungs: rungFolds.count, folds: folds.count))
            let scored = parallelMap(current.count, workers: workers) { j in
                let i = current[j]
                let r = self.score(
                    configs[i], index: i, folds: folds, seed: seeds[i], pruned: !last, prior: priors[i],
                    progress: progress)
                progress?.scored(accuracy: r.0.accuracy, folds: folds.count, firstRung: rung == 0)
                return r
            }
            for (j, i) in current.enumerated() {
                results[i] = scored[j].0
                outcomes[i] = scored[j].1
            }
        }
        let finished = results.map { $0! }
        return finished.sorted { a, b in
            if a.pruned != b.pruned { return !a.pruned }
            return better(a, b)
        }
    }

    /// Higher AUC (ranking quality survives the calibration shifts between day-blocked folds that accuracy at one
    /// threshold does not), then higher accuracy, then lower log-loss, then the earlier trial.
    func better(_ a: TrialResult, _ b: TrialResult) -> Bool {
        if a.auc != b.auc { return a.auc > b.auc }
        if a.accuracy != b.accuracy { return a.accuracy > b.accuracy }
        if a.logLoss != b.logLoss { return a.logLoss < b.logLoss }
        return a.index < b.index
    }
}
