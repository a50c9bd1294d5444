import Evaluator
import Features
import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Training

/// Trains on the UCI training file with the default 250-trial search and scores both test files.
@Suite(.serialized, .ownThread) struct UCITests {
    static let columns = TableReader.Columns(time: "date", label: "Occupancy")

    static func load(_ name: String) throws -> LabelledTable {
        try TableReader.load(path: ucidir().appendingPathComponent(name).path, columns: columns)
    }

    @Test(
        .enabled(if: FileManager.default.fileExists(atPath: ucidir().appendingPathComponent("datatraining.txt").path)))
    func trainsAndEvaluatesOnUCI() throws {
        let train = try Self.load("datatraining.txt")
        #expect(train.count == 8143 && train.channels.count == 5)
        let result = try Trainer.train(train, options: .init(seed: 1, workers: 2))
        try result.bundle.checkGoldenVectors()
        // Round trip through the container, as a gateway would read it.
        let bundle = try ModelBundle.decode(
            ModelBundle(manifest: result.bundle.manifest, model: result.bundle.model).encodeUnsigned())
        withKnownIssue("the search does not always beat the Light rule out of fold", isIntermittent: true) {
            #expect(result.report.validation.accuracy > result.report.baseline.validation.accuracy)
        }
        for name in ["datatest.txt", "datatest2.txt"] {
            let report = try ModelEvaluation.evaluate(bundle: bundle, table: try Self.load(name))
            print(
                "UCI \(name): accuracy \(report.accuracy), baseline \(report.baseline?.rule ?? "-") \(report.baseline?.accuracy ?? .nan)"
            )
            // Within a point of the paper's best (97.9 % / 98.8 %, Candanedo & Feldheim 2016). Measured (seed 1):
            // 97.41 % / 99.16 %.
            #expect(report.accuracy >= (name == "datatest.txt" ? 0.969 : 0.978), "\(name)")
            // The Light threshold chosen on the training week (97.86 % / 99.31 %) is not beaten on the test weeks.
            withKnownIssue("the model does not beat the Light rule on \(name)", isIntermittent: true) {
                #expect(report.accuracy > report.baseline!.accuracy, "\(name)")
            }
        }
    }

    @Test(
        .enabled(if: FileManager.default.fileExists(atPath: ucidir().appendingPathComponent("datatraining.txt").path)))
    func logisticOnRawChannelsMatchesThePublishedNumbers() throws {
        let train = try Self.load("datatraining.txt")
        let space = try FeatureSpace(table: train, groups: [FeatureSpace.defaultGroups(for: train)[0]])
        let search = try Search(table: train, space: space, folds: 3)
        let labelled = Array(0..<train.count)
        let (model, _) = try search.fit(
            .logistic(.init(l2: 1e-4), groups: ["raw"]), rows: labelled, seed: 1, earlyStopping: false)
        let test = try Self.load("datatest.txt")
        let rows = try BatchFeatures.rows(schema: space.schema, rows: test.featureRows)
        let m = BinaryMetrics(
            probabilities: rows.map { model.probability($0) }, labels: test.labels.map { $0! }, threshold: 0.5)
        #expect(m.accuracy > 0.97)
    }
}
