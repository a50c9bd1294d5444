import Evaluator
import Features
import OccupantCore

/// A model bundle as the gateway's scorer: the bundle's feature schema drives an incremental feature pipeline (the
/// same code the trainer replays in batch), and the evaluator turns each feature vector into a probability.
public struct ModelScorer: OccupancyScorer {
    public let bundle: ModelBundle
    private var pipeline: FeaturePipeline
    private let names: [String]
    /// `bundle.model.scoresMissingInputs`, read every sample.
    private let scoresMissingInputs: Bool

    public init(bundle: ModelBundle) throws(OccupantError) {
        self.bundle = bundle
        scoresMissingInputs = bundle.model.scoresMissingInputs
        pipeline = try FeaturePipeline(schema: bundle.manifest.features)
        names = bundle.manifest.features.names
    }

    public var id: String { "model:\(bundle.manifest.modelID)@\(bundle.manifest.version)" }
    public var channels: [String] { bundle.manifest.features.channels }
    public var threshold: Double { bundle.manifest.policy.threshold }

    /// The bundle's hysteresis.
    public var hysteresis: Hysteresis {
        Hysteresis(occupiedAfter: bundle.manifest.policy.occupiedAfter, vacantAfter: bundle.manifest.policy.vacantAfter)
    }

    public mutating func score(_ sample: Sample) -> Score {
        pipeline.update(sample)
        // With nothing valid to go on the model would only echo its missing-value paths: say so instead.
        if pipeline.count > 0 && pipeline.missingCount == pipeline.count {
            return .stale("no valid input for any of \(names.joined(separator: ", "))")
        }
        // A model without a missing-value path (logistic) has no score for a row with a missing input: its NaN
        // would read as a broken model to the probation guard and be rolled back (a freshly installed model sees its
        // first sample with delta/slope windows still empty). That row is stale, as the model documents.
        if pipeline.missingCount > 0 && !scoresMissingInputs {
            return .stale("\(id) needs every input, missing: \(missingNames())")
        }
        let probability = pipeline.withValues { bundle.probability($0) }
        // The inputs share the pipeline's vector; names are paired with values only if the decision is published.
        return .probability(probability, inputs: .features(names: names, values: pipeline.values))
    }

    /// The names of the features missing from the current vector, comma-separated.
    private func missingNames() -> String {
        pipeline.withValues { values in
            values.indices.filter { values[$0].isNaN }.map { names[$0] }.joined(separator: ", ")
        }
    }
}
