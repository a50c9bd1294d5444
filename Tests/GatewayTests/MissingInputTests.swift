import Evaluator
import Features
import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Gateway

/// A logistic model has no path for a missing input: its probability for such a row is NaN. The gateway must treat
/// that row as stale, not as a broken model. (Seen in `tools/demo`: a logistic v2 reading a 600 s trend was rolled
/// back as `brokenOutput: the model's probability is -nan` at its first sample, when the freshly built feature
/// pipeline's window held one sample and `delta` was still undefined.)
@Suite(.serialized) struct MissingInputTests {
    /// A logistic model on raw `sound` and the 600 s `delta` of `temperature`, signed.
    static func trend(version: Int = 1) throws -> ModelBundle {
        let model = Model.logistic(try LogisticModel(validatingCoefficients: [0.3, 0.5], intercept: -9))
        let schema = try FeatureSchema.parse(
            yaml: """
                features:
                  - { name: sound, transform: raw, channel: sound }
                  - { name: temperature_delta_600s, transform: delta, channel: temperature, window: 600 }
                """)
        let rows: [[Double]] = (0..<32).map { [Double($0 % 8), Double($0) * 0.01] }
        let manifest = BundleManifest(
            modelID: "trend", version: version, created: Instant(seconds: 1_700_000_000), features: schema,
            policy: .init(threshold: 0.5, occupiedAfter: 0, vacantAfter: 0),
            golden: GoldenVectors.make(model: model, rows: rows))
        return ModelBundle(manifest: manifest, model: model)
    }

    static func sample(at t: Double, sound: Double?, temperature: Double?) -> Sample {
        Sample(
            at: Instant(seconds: t),
            readings: [
                Reading(channel: "sound", value: sound.map { .number($0) }),
                Reading(channel: "temperature", value: temperature.map { .number($0) }),
            ])
    }

    @Test func aLogisticModelIsStaleWhileAnInputIsMissing() throws {
        let bundle = try Self.trend()
        // The evaluator itself: NaN in, NaN out (by design).
        #expect(bundle.probability([3, .nan]).isNaN)
        var scorer = try ModelScorer(bundle: bundle)
        // First sample: one temperature in the window, so its delta is undefined.
        guard case .stale(let reason) = scorer.score(Self.sample(at: 1000, sound: 3, temperature: 21)) else {
            Issue.record("a row with a missing input was scored")
            return
        }
        #expect(reason == "model:trend@1 needs every input, missing: temperature_delta_600s")
        // Second sample: every input is there.
        guard case .probability(let p, _) = scorer.score(Self.sample(at: 1010, sound: 3, temperature: 21.5)) else {
            Issue.record("a complete row was not scored")
            return
        }
        #expect(p == bundle.probability([3, 0.5]) && p > 0 && p < 1)
        // A failed sound read: the raw value is still fresh (30 s), so the row is scored…
        guard case .probability = scorer.score(Self.sample(at: 1020, sound: nil, temperature: 21.5)) else {
            Issue.record("a row with a fresh raw value was not scored")
            return
        }
        // …a dead sound sensor is not.
        guard case .stale(let dead) = scorer.score(Self.sample(at: 1100, sound: nil, temperature: 21.5)) else {
            Issue.record("a row without sound was scored")
            return
        }
        #expect(dead.hasSuffix("missing: sound"))
    }

    @Test func treesStillScoreAMissingInput() throws {
        #expect(!Model.logistic(try LogisticModel(validatingCoefficients: [1], intercept: 0)).scoresMissingInputs)
        let trees = try TreeEnsemble(
            validating: .native, featureCount: 1, baseMargin: 0, treeStart: [0], splitFeature: [0, -1, -1],
            value: [0.5, -1, 1], left: [1, -1, -1], right: [2, -1, -1], flags: [1, 0, 0])
        #expect(Model.trees(trees).scoresMissingInputs)
    }

    /// On a running gateway: the logistic model installed on probation decides with probabilities from its second
    /// sample on, and is not rolled back (before the fix: rolled back at its first sample, never deciding).
    @Test func aLogisticModelWarmingUpIsNotRolledBack() async throws {
        let rig = try await ProbationTests.Rig("warmup", probation: "{ duration: 1d }")
        try await rig.decided(by: "rule:sound>10", "the rule")
        let index = rig.probe.messages.count
        let sha = try rig.install(try Self.trend())
        let scored = try await rig.probe.waitFor(rig.occupancy, timeout: 60, after: index, "a model probability") {
            let object = jsonObject($0)
            return object?["decidedBy"] as? String == "model:trend@1" && (object?["probability"] as? Double) != nil
        }
        let rolledBack = rig.probe.messages(on: rig.status).compactMap {
            (try? FleetJSON.decode(ModelStatusDocument.self, from: $0.payload))?.rolledBack?.sha256
        }
        #expect(!rolledBack.contains(sha), "rolled back before \(String(decoding: scored.payload, as: UTF8.self))")
        try await rig.stop()
    }
}
