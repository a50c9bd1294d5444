import Evaluator
import Features
import OccupantCore

/// A model bundle as the gateway's scorer: the bundle's feature schema drives an incremental feature pipeline (the
/// same code the trainer replays in batch), and the evaluator turns each feature vector into a probability.
public struct ModelScorer: OccupancyScorer {
    public let bundle: ModelBundle
    private var pipeline: FeaturePipeline
    private let names: [String]

    public init(bundle: ModelBundle) throws(OccupantError) {
        self.bundle = bundle
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
        let probability = pipeline.withValues { bundle.probability($0) }
        // The inputs share the pipeline's vector; names are paired with values only if the decision is published.
        return .probability(probability, inputs: .features(names: names, values: pipeline.values))
    }
}
