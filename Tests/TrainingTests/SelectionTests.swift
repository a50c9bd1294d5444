import Features
import OccupantCore
import OccupantTesting
import Testing

@testable import Training

/// Three days of two channels, one sample a minute; occupied when `light` is high.
private func threeDays() -> LabelledTable {
    let n = 3 * 1440
    let times = (0..<n).map { Instant(seconds: 1_700_000_000 + 60 * Double($0)) }
    let light = (0..<n).map { Double(($0 / 30) % 2 == 0 ? 500 : 10) }
    return LabelledTable(
        channels: ["light", "co2"], times: times, labels: light.map { $0 > 100 ? 1 : 0 },
        values: (0..<n).map { [.number(light[$0]), .number(400 + Double($0 % 7))] })
}

private func trial(_ index: Int, _ config: TrialConfig, folds: [Double]) -> Search.TrialResult {
    Search.TrialResult(
        index: index, config: config, folds: folds.count, pruned: false,
        accuracy: folds.reduce(0, +) / Double(folds.count),
        logLoss: 0.1, auc: 0.99 - 0.001 * Double(index), threshold: 0.5, treeCounts: [], foldAccuracy: folds,
        foldLogLoss: folds.map { _ in 0.1 })
}

@Test(.ownThread) func oneStandardErrorRulePrefersTheSimplestTrialWithinTheNoise() throws {
    let table = threeDays()
    let search = try Search(
        table: table, space: FeatureSpace(table: table, groups: FeatureSpace.defaultGroups(for: table)), folds: 3)
    let trees = TrialConfig.trees(BoostingParameters(maxDepth: 4), groups: ["raw", "levels"])
    let lightOnly = TrialConfig.logistic(.init(), groups: ["raw"], channels: ["light"])
    let raw = TrialConfig.logistic(.init(), groups: ["raw"])
    // Best mean 0.98 with SE 0.01; the light-only logistic model is 0.5 SE behind; `raw` is far behind.
    let results = [
        trial(0, trees, folds: [0.9627, 0.98, 0.9973]),
        trial(1, lightOnly, folds: [0.97, 0.98, 0.98]),
        trial(2, raw, folds: [0.90, 0.91, 0.92]),
    ]
    #expect(search.complexity(lightOnly).lexicographicallyPrecedes(search.complexity(raw)))
    #expect(search.complexity(raw).lexicographicallyPrecedes(search.complexity(trees)))
    let picked = search.select(results, rule: .oneStandardError)
    #expect(picked.best == 0 && picked.chosen == 1 && picked.candidates == 2)
    #expect(abs(picked.standardError - 0.01) < 1e-3)
    #expect(search.select(results, rule: .bestAUC).chosen == 0)
}

@Test(.ownThread) func channelSubsetsKeepChannelFreeFeatures() throws {
    let table = threeDays()
    let space = try FeatureSpace(table: table, groups: FeatureSpace.defaultGroups(for: table))
    let (schema, columns) = space.subset(TrialConfig.logistic(.init(), groups: ["raw", "time"], channels: ["co2"]))
    #expect(schema.names == ["co2", "tod_sin", "tod_cos", "dow"])
    #expect(columns.count == 4)
}
