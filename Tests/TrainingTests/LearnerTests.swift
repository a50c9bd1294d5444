import Evaluator
import Features
import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Training

/// XOR of two features with a third, irrelevant one; a few missing values in the first.
private func xorData(_ n: Int, seed: UInt64) -> (columns: [[Double]], labels: [UInt8]) {
    var rng = TrainingRandom(seed: seed)
    var columns = [[Double]](repeating: [], count: 3)
    var labels: [UInt8] = []
    for i in 0..<n {
        let a = rng.uniform(-1, 1)
        let b = rng.uniform(-1, 1)
        columns[0].append(i % 50 == 0 ? .nan : a)
        columns[1].append(b)
        columns[2].append(rng.uniform(-1, 1))
        labels.append((a > 0) != (b > 0) ? 1 : 0)
    }
    return (columns, labels)
}

@Test func boostedTreesLearnXOR() throws {
    let (columns, labels) = xorData(2000, seed: 7)
    let matrix = BinnedMatrix(columns: columns)
    let fit = try GradientBoosting.fit(
        matrix: matrix, features: [0, 1, 2], labels: labels, train: Array(0..<1600), validation: Array(1600..<2000),
        parameters: BoostingParameters(trees: 200, learningRate: 0.2, maxDepth: 3), seed: 1)
    let model = Model.trees(fit.ensemble)
    var correct = 0
    for r in 1600..<2000 {
        let p = model.probability([columns[0][r], columns[1][r], columns[2][r]])
        if (p >= 0.5) == (labels[r] == 1) { correct += 1 }
    }
    #expect(Double(correct) / 400 > 0.95)
    #expect(fit.treeCount <= 200)
    try fit.ensemble.validate()
}

@Test func binsRouteLikeTheEvaluator() throws {
    // A tree trained on bins must score the training rows the way its flat layout does.
    let (columns, labels) = xorData(500, seed: 3)
    let matrix = BinnedMatrix(columns: columns, maximumBins: 16)
    let fit = try GradientBoosting.fit(
        matrix: matrix, features: [0, 1, 2], labels: labels, train: Array(0..<500),
        parameters: BoostingParameters(trees: 1, learningRate: 1, maxDepth: 4, minChildWeight: 0), seed: 1)
    let e = fit.ensemble
    for r in 0..<500 {
        let row = [columns[0][r], columns[1][r], columns[2][r]]
        var n = 0
        while e.splitFeature[n] >= 0 {
            let x = row[Int(e.splitFeature[n])]
            let f = Int(e.splitFeature[n])
            let byBins = x.isNaN ? e.flags[n] & 1 != 0 : Float(x) < Float(e.value[n])
            if !x.isNaN {
                // The evaluator's compare and the trainer's bin partition agree for every training row.
                let viaBins = Int(matrix.bins[f * 500 + r]) < BinnedMatrix.bin(Float(e.value[n]), matrix.edges[f])
                #expect(viaBins == byBins)
            }
            n = Int(byBins ? e.left[n] : e.right[n])
        }
    }
}

@Test func boostingIsDeterministicForASeed() throws {
    let (columns, labels) = xorData(1000, seed: 11)
    let matrix = BinnedMatrix(columns: columns)
    let p = BoostingParameters(trees: 30, maxDepth: 4, rowSubsample: 0.7, columnSubsample: 0.67)
    let a = try GradientBoosting.fit(
        matrix: matrix, features: [0, 1, 2], labels: labels, train: Array(0..<1000), parameters: p, seed: 5)
    let b = try GradientBoosting.fit(
        matrix: matrix, features: [0, 1, 2], labels: labels, train: Array(0..<1000), parameters: p, seed: 5)
    let c = try GradientBoosting.fit(
        matrix: matrix, features: [0, 1, 2], labels: labels, train: Array(0..<1000), parameters: p, seed: 6)
    #expect(a.ensemble == b.ensemble)
    #expect(a.ensemble != c.ensemble)
}

@Test func logisticRecoversKnownCoefficients() throws {
    // y ~ Bernoulli(σ(0.5 + 2·x0 − 1·x1)), x1 on a different scale to exercise the folded standardisation.
    var rng = TrainingRandom(seed: 42)
    let n = 20_000
    var x0: [Double] = []
    var x1: [Double] = []
    var labels: [UInt8] = []
    for _ in 0..<n {
        let a = rng.uniform(-2, 2)
        let b = 100 + 10 * rng.uniform(-2, 2)
        x0.append(a)
        x1.append(b)
        let p = 1 / (1 + exp(-(0.5 + 2 * a - 0.1 * (b - 100))))
        labels.append(rng.unit() < p ? 1 : 0)
    }
    let fit = try LogisticRegression.fit(
        columns: [x0, x1], labels: labels, rows: Array(0..<n), parameters: .init(l2: 0))
    #expect(abs(fit.model.coefficients[0] - 2) < 0.15)
    #expect(abs(fit.model.coefficients[1] + 0.1) < 0.01)
    #expect(abs(fit.model.intercept - 10.5) < 1.0) // 0.5 + 0.1 · 100
}

@Test func staticRuleFindsTheBestThreshold() {
    let values = (0..<100).map { Double($0) }
    let table = LabelledTable(
        channels: ["sound"], times: (0..<100).map { Instant(seconds: Double($0)) },
        labels: values.map { $0 >= 42 ? 1 : 0 }, values: values.map { [.number($0)] })
    let rule = StaticRuleBaseline.fit(table, rows: Array(0..<100))
    #expect(rule == StaticRuleBaseline(channel: "sound", above: true, threshold: 41.5))
    #expect(StaticRuleBaseline(rule: rule!.description) == rule)
}

@Test func metricsAndAUC() {
    let m = BinaryMetrics(probabilities: [0.9, 0.8, 0.3, 0.1], labels: [1, 0, 1, 0], threshold: 0.5)
    #expect(m.truePositive == 1 && m.falsePositive == 1 && m.trueNegative == 1 && m.falseNegative == 1)
    #expect(m.auc == 0.75)
}

@Test(.ownThread) func monotoneTreesNeverFallAsTheConstrainedFeatureRises() throws {
    // Occupied when x0 is in (0.2, 0.7): a bump, so an unconstrained model falls again above 0.7. Constrained to
    // be non-decreasing in x0 it must not; x1 is free and irrelevant.
    var rng = TrainingRandom(seed: 9)
    var columns = [[Double]](repeating: [], count: 2)
    var labels: [UInt8] = []
    for _ in 0..<3000 {
        let x0 = rng.unit()
        let x1 = rng.unit()
        columns[0].append(x0)
        columns[1].append(x1)
        labels.append(x0 > 0.2 && x0 < 0.7 ? 1 : 0)
    }
    let matrix = BinnedMatrix(columns: columns)
    let p = BoostingParameters(trees: 60, learningRate: 0.3, maxDepth: 4, rowSubsample: 0.8)
    func curve(_ monotone: [Int8]) throws -> [Double] {
        let fit = try GradientBoosting.fit(
            matrix: matrix, features: [0, 1], labels: labels, train: Array(0..<3000), parameters: p, monotone: monotone,
            seed: 1)
        let model = Model.trees(fit.ensemble)
        return stride(from: 0.0, through: 1.0, by: 0.01).map { model.probability([$0, 0.5]) }
    }
    let free = try curve([])
    let constrained = try curve([1, 0])
    // The free model learns the bump (high inside, low above it); the constrained one never decreases.
    #expect(free[45] > 0.9 && free[90] < 0.1)
    for (a, b) in zip(constrained, constrained.dropFirst()) { #expect(b >= a - 1e-12) }
    #expect(constrained[10] < 0.2 && constrained[45] > constrained[10])
}

@Test(
    .ownThread,
    .enabled(if: FileManager.default.fileExists(atPath: ucidir().appendingPathComponent("datatraining.txt").path)))
func levelFeaturesGetTheDirectionTheyCorrelateWith() throws {
    // Light rises with occupancy, so its level features are constrained upwards; trends and time stay free.
    let table = try UCITests.load("datatraining.txt")
    let space = try FeatureSpace(table: table, groups: FeatureSpace.defaultGroups(for: table))
    let levels: Set<FeatureSpec.Transform> = [.raw, .mean, .min, .max]
    var lightLevels = 0
    for (spec, direction) in zip(space.schema.features, space.monotone) {
        if levels.contains(spec.transform), spec.channel == "Light" {
            #expect(direction == 1, "\(spec.name)")
            lightLevels += 1
        } else if !levels.contains(spec.transform) {
            #expect(direction == 0, "\(spec.name)")
        }
    }
    #expect(lightLevels >= 3)
}
