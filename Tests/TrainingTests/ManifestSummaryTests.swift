import Evaluator
import Foundation
import OccupantTesting
import Testing

@testable import Training

@Test(.ownThread) func theManifestCarriesTheTrainingSummary() throws {
    let table = thermostatTable(days: 3, seed: 4)
    let result = try Trainer.train(table, options: .init(trials: 4, seed: 8, ablation: true))
    let decoded = try ModelBundle.decode(result.bundle.encodeUnsigned())
    let summary = try #require(decoded.manifest.training)
    #expect(summary == result.report.manifestSummary)
    #expect(
        summary.chosen == result.report.chosen.description && summary.threshold == decoded.manifest.policy.threshold)
    #expect(summary.validation.accuracy == result.report.validation.accuracy)
    #expect(summary.baselineRule == result.report.baseline.rule)
    #expect(!summary.hyperParameters.isEmpty && summary.trials == 4 && summary.ablation?.isEmpty == false)
    let text = BundleInspector.summary(decoded)
    #expect(text.contains("training   \(summary.chosen)") && text.contains("rule       \(summary.baselineRule)"))
    #expect(text.contains("ablation"))

    // Bundles without the summary (imported, or written before it) still decode.
    var manifest = result.bundle.manifest
    manifest.training = nil
    let old = try ModelBundle.decode(ModelBundle(manifest: manifest, model: result.bundle.model).encodeUnsigned())
    #expect(old.manifest.training == nil)
    #expect(!BundleInspector.summary(old).contains("training "))
}
