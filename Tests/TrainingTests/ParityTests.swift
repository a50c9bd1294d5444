import Evaluator
import Features
import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Training

/// A synthetic thermostat-like table over three days: sound, temperature, an HVAC mode; 30 s samples.
func thermostatTable(days: Int = 3, seed: UInt64 = 9) -> LabelledTable {
    var rng = TrainingRandom(seed: seed)
    var times: [Instant] = []
    var labels: [UInt8?] = []
    var values: [[ChannelValue?]] = []
    let modes = ["HEATING", "COOLING", "STANDBY"]
    var mode = 2
    for i in 0..<(days * 2880) {
        let t = 1_700_000_000 + Double(i * 30)
        let hour = (t.truncatingRemainder(dividingBy: 86_400)) / 3600
        let occupied = hour >= 8 && hour < 17 && rng.unit() < 0.9
        if rng.unit() < 0.01 { mode = rng.integer(0, 2) }
        let sound = (occupied ? 14 : 6) + rng.uniform(-5, 5) + (mode == 2 ? 0 : 4)
        times.append(Instant(seconds: t))
        labels.append(occupied ? 1 : 0)
        values.append([
            i % 97 == 0 ? nil : .number(sound), .number(20 + (occupied ? 1 : 0) + rng.uniform(-0.3, 0.3)),
            .category(modes[mode]),
        ])
    }
    return LabelledTable(
        channels: ["sound", "temperature", "hvac"], categoricalChannels: ["hvac"], times: times, labels: labels,
        values: values)
}

@Test(.ownThread) func evaluateMatchesTheIncrementalPipelineBitForBit() throws {
    let table = thermostatTable()
    for family in [ModelFamily.trees, .logistic] {
        let result = try Trainer.train(
            table,
            options: .init(trials: 3, seed: 3, featureGroups: family == .trees ? nil : ["raw", "time"], workers: 2))
        let bundle = result.bundle
        let batch = try ModelEvaluation.scores(bundle: bundle, table: table)
        var pipeline = try FeaturePipeline(schema: bundle.manifest.features)
        var incremental: [Double] = []
        for sample in table.samples {
            pipeline.update(sample)
            incremental.append(pipeline.withValues { bundle.model.probability($0) })
        }
        #expect(batch.count == incremental.count)
        let same = zip(batch, incremental).allSatisfy { $0.bitPattern == $1.bitPattern }
        #expect(same, "\(family)")
    }
}

@Test(.ownThread) func trainingIsDeterministicForASeed() throws {
    let table = thermostatTable(days: 3, seed: 4)
    let a = try Trainer.train(table, options: .init(trials: 4, seed: 8))
    let b = try Trainer.train(table, options: .init(trials: 4, seed: 8))
    #expect(a.bundle.model == b.bundle.model)
    #expect(a.bundle.manifest.policy == b.bundle.manifest.policy)
    #expect(a.report.chosen == b.report.chosen)
}
