/// What `occupant train` did and how well the result scores: printed, stored beside the bundle and (in part) in
/// its manifest.
public struct TrainingReport: Codable, Sendable {
    public struct Fold: Codable, Sendable {
        public var from: String
        public var to: String
        public var trainRows: Int
        public var validationRows: Int
    }

    public struct Baseline: Codable, Sendable {
        /// The rule chosen on all training rows, e.g. `Light >= 365.125`; the one `evaluate` compares against.
        public var rule: String
        /// Out-of-fold: the rule re-chosen on each fold's training rows, scored on its validation rows.
        public var validation: BinaryMetrics
    }

    /// One row of the ablation table: the chosen configuration with one group removed (or added).
    public struct Ablation: Codable, Sendable {
        public var group: String
        /// `removed` or `added`.
        public var change: String
        public var accuracy: Double
        public var logLoss: Double
        /// Accuracy with the change minus the chosen configuration's accuracy.
        public var accuracyDelta: Double
        public var logLossDelta: Double
    }

    public var source: String
    public var dataFrom: String
    public var dataTo: String
    public var rows: Int
    public var labelledRows: Int
    public var occupiedRows: Int
    public var folds: [Fold]
    public var chosen: TrialConfig
    public var threshold: Double
    /// Trees in the final model (trees only).
    public var treeCount: Int?
    public var featureNames: [String]
    /// Out-of-fold metrics of the chosen configuration at `threshold`.
    public var validation: BinaryMetrics
    /// Out-of-fold calibration and published-state events (nil in reports written before they were measured).
    public var calibration: CalibrationSummary?
    public var events: EventSummary?
    /// How the calibrator and the threshold were chosen (nil in older reports).
    public var calibrator: CalibratorFit.Choice?
    public var baseline: Baseline
    public var beatsBaseline: Bool
    public var trials: Int
    public var prunedTrials: Int
    /// The best trials, best first.
    public var leaderboard: [Search.TrialResult]
    public var ablation: [Ablation]?
    /// How the chosen trial was picked among the leaderboard (nil in reports written before the rule).
    public var selection: Search.Selection?
    public var searchSeconds: Double
    public var finalFitSeconds: Double
    public var seed: UInt64

    /// A few lines for the terminal.
    public var summary: String {
        func pct(_ x: Double) -> String { x.isNaN ? "n/a" : "\(short(100 * x))%" }
        var lines = [
            "data: \(rows) rows (\(labelledRows) labelled, \(occupiedRows) occupied), \(dataFrom) → \(dataTo)",
            "search: \(trials) trials (\(prunedTrials) pruned before the last rung), \(folds.count) day-blocked folds, "
                + "\(short(searchSeconds)) s; final fit \(short(finalFitSeconds)) s",
            selection.map { "selection: \($0.summary)" } ?? "selection: best out-of-fold AUC",
            "chosen: \(chosen)" + (treeCount.map { ", \($0) trees" } ?? "") + ", threshold \(short(threshold))",
            "features: \(featureNames.joined(separator: ", "))",
            "validation (out-of-fold): accuracy \(pct(validation.accuracy)), precision \(pct(validation.precision)), "
                + "recall \(pct(validation.recall)), F1 \(pct(validation.f1)), AUC \(short(validation.auc))",
            "confusion: tp \(validation.truePositive), fp \(validation.falsePositive), tn \(validation.trueNegative), "
                + "fn \(validation.falseNegative)",
            "static rule \(baseline.rule): accuracy \(pct(baseline.validation.accuracy)), F1 \(pct(baseline.validation.f1)) (out-of-fold)",
        ]
        if let calibrator {
            lines.append(
                "calibrator: \(calibrator.kind) (forward log-loss: "
                    + ["none", "platt", "isotonic"].compactMap { k in calibrator.logLoss[k].map { "\(k) \(short($0))" }
                    }
                    .joined(separator: ", ")
                    + "); threshold \(short(calibrator.threshold)) on the accuracy plateau "
                    + "(\(pct(calibrator.chosenAccuracy)) vs \(pct(calibrator.peakAccuracy)) at the sharpest peak)")
        }
        if let calibration { lines.append(calibration.summary + " (out-of-fold)") }
        if let events { lines.append(events.summary + " (out-of-fold)") }
        if let ablation, !ablation.isEmpty {
            lines.append("ablation (accuracy Δ, log-loss Δ vs the chosen configuration):")
            for a in ablation {
                lines.append(
                    "  \(a.change == "removed" ? "-" : "+")\(a.group): \(short(100 * a.accuracyDelta)) pt, \(short(a.logLossDelta))"
                )
            }
        }
        lines.append(
            beatsBaseline
                ? "the model beats the static rule on validation data"
                : "WARNING: the model does NOT beat the static rule \(baseline.rule) on validation data")
        return lines.joined(separator: "\n")
    }
}
