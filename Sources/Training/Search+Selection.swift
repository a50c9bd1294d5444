import Foundation

/// Model selection by the one-standard-error rule (Breiman et al. 1984, *Classification and Regression Trees*;
/// Hastie, Tibshirani & Friedman, *The Elements of Statistical Learning* §7.10): among the fully scored trials, find
/// the best mean per-fold accuracy and its standard error across folds, then choose the simplest trial whose mean
/// is within one standard error of it. A day-blocked fold is one period of the room's life; trials that differ by
/// less than the fold-to-fold spread are not distinguishable on this data, and the simpler one is the safer bet on
/// the next period.
extension Search {
    /// How `Trainer` picks the model among the trials.
    public enum SelectionRule: String, Codable, Sendable, CaseIterable {
        /// The trial ranked first by `run` (out-of-fold AUC, then accuracy, then log-loss).
        case bestAUC = "best-auc"
        /// The simplest trial within one standard error (across folds) of the best mean fold accuracy.
        case oneStandardError = "one-se"
    }

    /// How the chosen trial was picked, for the report.
    public struct Selection: Codable, Sendable {
        /// `index` of the trial with the best mean per-fold accuracy.
        public var best: Int
        /// `index` of the chosen trial.
        public var chosen: Int
        /// Mean per-fold accuracy of the best trial and its standard error (sample sd / √folds).
        public var bestMean: Double
        public var standardError: Double
        /// Mean per-fold accuracy of the chosen trial.
        public var chosenMean: Double
        /// Fully scored trials within one standard error of the best.
        public var candidates: Int
        public var rule: String

        /// One line for the report.
        public var summary: String {
            candidates == 1 && best == chosen
                ? "\(rule): #\(chosen) (mean fold accuracy \(short(100 * chosenMean))% ± \(short(100 * standardError)) pt)"
                : best == chosen
                    ? "\(rule): the best trial (#\(best), mean fold accuracy \(short(100 * bestMean))%) is also the simplest within one SE"
                    : "\(rule): chose #\(chosen) (mean fold accuracy \(short(100 * chosenMean))%), the simplest of \(candidates) "
                        + "trials within one SE of the best #\(best) (\(short(100 * bestMean))% ± \(short(100 * standardError)) pt)"
        }
    }

    /// Mean and standard error of a trial's per-fold accuracies (SE 0 with one fold).
    static func foldMean(_ r: TrialResult) -> (mean: Double, standardError: Double) {
        let xs = r.foldAccuracy.map { $0.isNaN ? 0 : $0 }
        guard !xs.isEmpty else { return (r.accuracy.isNaN ? 0 : r.accuracy, 0) }
        let mean = xs.reduce(0, +) / Double(xs.count)
        guard xs.count > 1 else { return (mean, 0) }
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count - 1)
        return (mean, (variance / Double(xs.count)).squareRoot())
    }

    /// How complex a trial is, compared lexicographically: channels read (each input channel is one more way for
    /// the next period's data to differ from the training week's), then feature columns, then the family (logistic
    /// regression before trees), then tree depth.
    public func complexity(_ config: TrialConfig) -> [Int] {
        let (schema, columns) = space.subset(config)
        let family = config.family == .logistic ? 0 : 1
        let depth = config.boosting?.maxDepth ?? 0
        return [schema.channels.count, columns.count, family, depth]
    }

    /// Picks a trial from `results` (from `run`, best first) by `rule`.
    public func select(_ results: [TrialResult], rule: SelectionRule) -> Selection {
        switch rule {
        case .oneStandardError:
            return selectOneStandardError(results)
        case .bestAUC:
            let best = results[0]
            let fold = Search.foldMean(best)
            return Selection(
                best: best.index, chosen: best.index, bestMean: fold.mean, standardError: fold.standardError,
                chosenMean: fold.mean, candidates: 1, rule: "best out-of-fold AUC over \(best.folds) day-blocked folds")
        }
    }

    /// Applies the one-standard-error rule to `results`; pruned trials are never chosen unless no trial was fully
    /// scored.
    func selectOneStandardError(_ results: [TrialResult]) -> Selection {
        precondition(!results.isEmpty, "at least one trial")
        let full = results.filter { !$0.pruned }
        let pool = full.isEmpty ? results : full
        let scored = pool.map { (result: $0, fold: Search.foldMean($0)) }
        let best = scored.max { a, b in
            a.fold.mean != b.fold.mean ? a.fold.mean < b.fold.mean : better(b.result, a.result)
        }!
        let floor = best.fold.mean - best.fold.standardError
        let within = scored.filter { $0.fold.mean >= floor }
        let chosen = within.min { a, b in
            let ca = complexity(a.result.config)
            let cb = complexity(b.result.config)
            if ca != cb { return ca.lexicographicallyPrecedes(cb) }
            if a.fold.mean != b.fold.mean { return a.fold.mean > b.fold.mean }
            return better(a.result, b.result)
        }!
        return Selection(
            best: best.result.index, chosen: chosen.result.index, bestMean: best.fold.mean,
            standardError: best.fold.standardError, chosenMean: chosen.fold.mean, candidates: within.count,
            rule: "one-standard-error rule over \(best.result.folds) day-blocked folds")
    }
}
