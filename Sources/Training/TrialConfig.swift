/// The model families the search tries.
public enum ModelFamily: String, Codable, Sendable, CaseIterable {
    case trees
    case logistic
}

/// One point of the search space: a family, its hyper-parameters and the feature groups it reads.
public struct TrialConfig: Codable, Sendable, Equatable, CustomStringConvertible {
    public var family: ModelFamily
    public var boosting: BoostingParameters?
    public var logistic: LogisticRegression.Parameters?
    /// Feature group names, e.g. `["raw", "time"]`.
    public var groups: [String]

    public static func trees(_ p: BoostingParameters, groups: [String]) -> TrialConfig {
        TrialConfig(family: .trees, boosting: p, logistic: nil, groups: groups)
    }

    public static func logistic(_ p: LogisticRegression.Parameters, groups: [String]) -> TrialConfig {
        TrialConfig(family: .logistic, boosting: nil, logistic: p, groups: groups)
    }

    public var description: String {
        let params = family == .trees ? boosting!.description : logistic!.description
        return "\(family.rawValue) [\(groups.joined(separator: ","))] \(params)"
    }

    /// The same trial reading other groups.
    public func with(groups: [String]) -> TrialConfig {
        var copy = self
        copy.groups = groups
        return copy
    }

    /// A random configuration; `raw` is included most of the time, never an empty group set.
    public static func random(groups available: [String], rng: inout TrainingRandom) -> TrialConfig {
        var groups = available.filter { name in rng.unit() < (name == "raw" ? 0.85 : 0.4) }
        if groups.isEmpty { groups = [available[rng.integer(0, available.count - 1)]] }
        if rng.unit() < 0.35 {
            return .logistic(.init(l2: rng.logUniform(1e-6, 1)), groups: groups)
        }
        let p = BoostingParameters(
            trees: 300, learningRate: rng.logUniform(0.02, 0.3), maxDepth: rng.integer(2, 8),
            minChildWeight: rng.logUniform(0.1, 20), l2: rng.logUniform(0.01, 10),
            minSplitGain: rng.unit() < 0.5 ? 0 : rng.logUniform(0.001, 1), rowSubsample: rng.uniform(0.5, 1),
            columnSubsample: rng.uniform(0.4, 1), earlyStoppingRounds: 20)
        return .trees(p, groups: groups)
    }
}
