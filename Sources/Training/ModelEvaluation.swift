import Evaluator
import Features
import OccupantCore

/// Scores a bundle on a labelled table exactly as the gateway would: features from the bundle's schema through
/// `BatchFeatures` (the gateway's pipeline replayed), the bundle's model, the bundle's threshold; and the static
/// rule recorded at training time on the same rows.
public enum ModelEvaluation {
    public struct Report: Codable, Sendable {
        public struct Confusion: Codable, Sendable {
            public var tp: Int, fp: Int, tn: Int, fn: Int
        }

        public struct Baseline: Codable, Sendable {
            public var rule: String
            public var accuracy: Double
            public var f1: Double
        }

        public var rows: Int
        public var accuracy: Double
        public var precision: Double
        public var recall: Double
        public var f1: Double
        /// nil when the rows hold one class.
        public var auc: Double?
        public var confusion: Confusion
        /// nil for bundles without a recorded rule (e.g. imported models).
        public var baseline: Baseline?
        public var threshold: Double
        /// Rows the model could not score (a missing input): counted as vacant.
        public var unscoredRows: Int
        public var beatsBaseline: Bool?
        /// How well the probabilities match the observed rates (labelled rows).
        public var calibration: CalibrationSummary
        /// Flicker and delay of the state the gateway would publish (threshold and hysteresis, in time order).
        public var events: EventSummary
    }

    /// The probability for every row of `table` (unlabelled rows included), in row order.
    public static func scores(bundle: ModelBundle, table: LabelledTable) throws(OccupantError) -> [Double] {
        let rows = try table.features(schema: bundle.manifest.features)
        return rows.map { bundle.probability($0) }
    }

    /// The static rule written into the manifest by `occupant train` (`…; baseline rule: Light >= 365.125; …`).
    public static func recordedBaseline(_ manifest: BundleManifest) -> StaticRuleBaseline? {
        guard let source = manifest.provenance?.source, let range = source.range(of: "baseline rule: ") else {
            return nil
        }
        let rest = source[range.upperBound...]
        let text = rest.split(separator: ";", maxSplits: 1).first.map(String.init) ?? String(rest)
        return StaticRuleBaseline(rule: text)
    }

    public static func evaluate(bundle: ModelBundle, table: LabelledTable) throws(OccupantError) -> Report {
        try scored(bundle: bundle, table: table).report
    }

    /// The report and every row's probability (`scores`), computed once.
    public static func scored(
        bundle: ModelBundle, table: LabelledTable
    ) throws(OccupantError) -> (report: Report, probabilities: [Double]) {
        let missing = bundle.manifest.features.channels.filter { !table.channels.contains($0) }
        guard missing.isEmpty else {
            throw OccupantError(
                .data, "the data has no column for channel(s) \(missing.joined(separator: ", ")) the model reads")
        }
        let probabilities = try scores(bundle: bundle, table: table)
        let labelled = table.labels.indices.filter { table.labels[$0] != nil }
        guard !labelled.isEmpty else { throw OccupantError(.data, "no labelled rows to evaluate on") }
        let labels = labelled.map { table.labels[$0]! }
        let threshold = bundle.manifest.policy.threshold
        let p = labelled.map { probabilities[$0] }
        let m = BinaryMetrics(probabilities: p, labels: labels, threshold: threshold)
        var baseline: Report.Baseline? = nil
        if let rule = recordedBaseline(bundle.manifest), let b = rule.metrics(on: table, rows: labelled) {
            baseline = .init(rule: rule.description, accuracy: b.accuracy, f1: b.f1)
        }
        let report = Report(
            rows: labelled.count, accuracy: m.accuracy, precision: m.precision, recall: m.recall, f1: m.f1,
            auc: m.auc.isNaN ? nil : m.auc,
            confusion: .init(tp: m.truePositive, fp: m.falsePositive, tn: m.trueNegative, fn: m.falseNegative),
            baseline: baseline, threshold: threshold, unscoredRows: p.filter(\.isNaN).count,
            beatsBaseline: baseline.map { m.accuracy > $0.accuracy },
            calibration: CalibrationSummary(probabilities: p, labels: labels),
            events: EventSummary(
                times: table.times, probabilities: probabilities, labels: table.labels, threshold: threshold,
                hysteresis: Hysteresis(
                    occupiedAfter: bundle.manifest.policy.occupiedAfter,
                    vacantAfter: bundle.manifest.policy.vacantAfter)))
        return (report, probabilities)
    }
}
