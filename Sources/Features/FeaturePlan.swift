import OccupantCore

/// One feature compiled against the pipeline's channel and window tables.
enum FeaturePlan: Sendable {
    case raw(channel: Int, staleness: Double)
    case window(Int, WindowAggregate.Statistic)
    case oneHot(channel: Int, staleness: Double, match: CategoryMatch)
    case sinceChange(channel: Int, staleness: Double, cap: Double)
    case timeOfDaySin, timeOfDayCos, dayOfWeek
}

/// The category a one-hot feature compares against; a numeric channel value matches when it equals the category
/// read as a number (`"2"` matches `.number(2)`), so a table column parsed as numbers still one-hot encodes.
struct CategoryMatch: Sendable {
    let text: String
    let number: Double?

    init(_ text: String) {
        self.text = text
        self.number = Double(text).flatMap { $0.isFinite ? $0 : nil }
    }

    func matches(_ value: ChannelValue) -> Bool {
        switch value {
        case .category(let c): return c == text
        case .number(let v): return number == v
        }
    }
}

/// The compiled form of a schema: channel table, window table and one plan per feature.
struct CompiledSchema: Sendable {
    var channels: [ChannelState] = []
    var windows: [WindowAggregate] = []
    var plans: [FeaturePlan] = []

    /// Validates `schema` and compiles it; the error names the first offending feature.
    init(schema: FeatureSchema, limits: FeaturePipeline.Limits) throws(OccupantError) {
        var seenNames = Set<String>()
        for (index, spec) in schema.features.enumerated() {
            func fail(_ problem: String) -> OccupantError {
                let label = spec.name.isEmpty ? "#\(index)" : "'\(spec.name)'"
                return OccupantError(.model, "feature \(label) (\(spec.transform.rawValue)): \(problem)")
            }
            guard !spec.name.isEmpty else { throw fail("name is empty") }
            guard seenNames.insert(spec.name).inserted else { throw fail("name is used by an earlier feature") }
            if let lo = spec.minimum, let hi = spec.maximum, !(lo <= hi) {
                throw fail("minimum \(formatNumber(lo)) is above maximum \(formatNumber(hi))")
            }
            if let w = spec.window {
                guard w > 0, w.isFinite else {
                    throw fail("window must be a positive number of seconds, got \(formatNumber(w))")
                }
                guard w <= FeaturePipeline.maximumWindow else {
                    let day = Int(FeaturePipeline.maximumWindow)
                    throw fail("window \(formatNumber(w)) s is longer than one day (\(day) s)")
                }
            }
            plans.append(try plan(for: spec, limits: limits, fail: fail))
        }
    }

    private mutating func plan(
        for spec: FeatureSpec, limits: FeaturePipeline.Limits, fail: (String) -> OccupantError
    ) throws(OccupantError) -> FeaturePlan {
        func channel() throws(OccupantError) -> Int {
            guard let name = spec.channel, !name.isEmpty else { throw fail("channel is required") }
            if let i = channels.firstIndex(where: { $0.name == name }) { return i }
            channels.append(ChannelState(name: name))
            return channels.count - 1
        }
        func window(_ statistic: WindowAggregate.Statistic) throws(OccupantError) -> FeaturePlan {
            let c = try channel()
            guard let w = spec.window else { throw fail("window is required") }
            let index: Int
            if let existing = windows.firstIndex(where: { $0.channel == c && $0.window == w }) {
                index = existing
            } else {
                windows.append(WindowAggregate(channel: c, window: w, capacity: limits.windowCapacity))
                channels[c].windows.append(windows.count - 1)
                index = windows.count - 1
            }
            windows[index].require(statistic)
            return .window(index, statistic)
        }
        switch spec.transform {
        case .raw: return .raw(channel: try channel(), staleness: spec.window ?? limits.staleness)
        case .mean: return try window(.mean)
        case .max: return try window(.max)
        case .min: return try window(.min)
        case .std: return try window(.std)
        case .delta: return try window(.delta)
        case .slope: return try window(.slope)
        case .oneHot:
            let c = try channel()
            guard let category = spec.category, !category.isEmpty else { throw fail("category is required") }
            return .oneHot(channel: c, staleness: spec.window ?? limits.staleness, match: CategoryMatch(category))
        case .sinceChange:
            let cap = spec.window ?? limits.sinceChangeCap
            return .sinceChange(channel: try channel(), staleness: limits.staleness, cap: cap)
        case .timeOfDaySin: return .timeOfDaySin
        case .timeOfDayCos: return .timeOfDayCos
        case .dayOfWeek: return .dayOfWeek
        }
    }
}
