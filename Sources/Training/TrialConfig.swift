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
    /// The channels the groups' features may read (nil = every channel); features that read no channel (time of
    /// day) are kept either way.
    public var channels: [String]? = nil

    public static func trees(_ p: BoostingParameters, groups: [String], channels: [String]? = nil) -> TrialConfig {
        TrialConfig(family: .trees, boosting: p, logistic: nil, groups: groups, channels: channels)
    }

    public static func logistic(
        _ p: LogisticRegression.Parameters, groups: [String], channels: [String]? = nil
    ) -> TrialConfig {
        TrialConfig(family: .logistic, boosting: nil, logistic: p, groups: groups, channels: channels)
    }

    public var description: String {
        let params = family == .trees ? boosting!.description : logistic!.description
        let reads = channels.map { " of \($0.joined(separator: ","))" } ?? ""
        return "\(family.rawValue) [\(groups.joined(separator: ","))]\(reads) \(params)"
    }

    /// The same trial reading other groups.
    public func with(groups: [String]) -> TrialConfig {
        var copy = self
        copy.groups = groups
        return copy
    }

    /// A random configuration; `raw` is included most of the time, never an empty group set; half the time the
    /// features read a random subset of `channels` (at least one).
    public static func random(groups available: [String], channels: [String], rng: inout TrainingRandom) -> TrialConfig
    {
        var groups = available.filter { name in rng.unit() < (name == "raw" ? 0.85 : 0.4) }
        if groups.isEmpty { groups = [available[rng.integer(0, available.count - 1)]] }
        var reads: [String]? = nil
        if channels.count > 1, rng.unit() < 0.5 {
            var subset = channels.filter { _ in rng.unit() < 0.5 }
            if subset.isEmpty { subset = [channels[rng.integer(0, channels.count - 1)]] }
            if subset.count < channels.count { reads = subset }
        }
        if rng.unit() < 0.35 {
            return .logistic(.init(l2: rng.logUniform(1e-6, 1)), groups: groups, channels: reads)
        }
        let p = BoostingParameters(
            trees: 300, learningRate: rng.logUniform(0.02, 0.3), maxDepth: rng.integer(2, 8),
            minChildWeight: rng.logUniform(0.1, 20), l2: rng.logUniform(0.01, 10),
            minSplitGain: rng.unit() < 0.5 ? 0 : rng.logUniform(0.001, 1), rowSubsample: rng.uniform(0.5, 1),
            columnSubsample: rng.uniform(0.4, 1), earlyStoppingRounds: 20)
        return .trees(p, groups: groups, channels: reads)
    }
}
