import OccupantCore

/// A named set of features the trainer can switch on or off as a unit (and report in its ablation table).
public enum FeatureGroup: Sendable, Equatable {
    /// Each channel's latest value, named after the channel.
    case raw(channels: [String])
    /// Short and long windows of level channels (e.g. sound): `sound_mean_10s`, `sound_max_60s`, …
    case levels(
        channels: [String], windows: [Double] = [10, 60], transforms: [FeatureSpec.Transform] = [.mean, .max, .std])
    /// Trends of slow channels (e.g. temperature): `temperature_delta_600s`, `temperature_slope_600s`.
    case trends(
        channels: [String], windows: [Double] = [600], transforms: [FeatureSpec.Transform] = [.delta, .slope])
    /// One-hot of each category of a categorical channel plus the time since it changed: `hvac_is_heating`,
    /// `hvac_since_change`.
    case categorical(channel: String, categories: [String], sinceChange: Bool = true)
    /// Time of day and week: `tod_sin`, `tod_cos`, `dow`.
    case time(dayOfWeek: Bool = true)

    /// The group's name in training reports: `raw`, `levels`, `trends`, `context:<channel>`, `time`.
    public var name: String {
        switch self {
        case .raw: return "raw"
        case .levels: return "levels"
        case .trends: return "trends"
        case .categorical(let channel, _, _): return "context:\(channel)"
        case .time: return "time"
        }
    }

    /// The group's features, predictably named.
    public var features: [FeatureSpec] {
        switch self {
        case .raw(let channels):
            return channels.map { FeatureSpec(name: $0, transform: .raw, channel: $0) }
        case .levels(let channels, let windows, let transforms), .trends(let channels, let windows, let transforms):
            var specs: [FeatureSpec] = []
            for channel in channels {
                for window in windows {
                    for transform in transforms {
                        specs.append(
                            FeatureSpec(
                                name: FeatureGroup.windowedName(channel: channel, transform: transform, window: window),
                                transform: transform, channel: channel, window: window))
                    }
                }
            }
            return specs
        case .categorical(let channel, let categories, let sinceChange):
            var specs = categories.map { category in
                FeatureSpec(
                    name: "\(channel)_is_\(FeatureGroup.slug(category))", transform: .oneHot, channel: channel,
                    category: category, minimum: 0, maximum: 1)
            }
            if sinceChange {
                specs.append(
                    FeatureSpec(
                        name: "\(channel)_since_change", transform: .sinceChange, channel: channel, units: "s"))
            }
            return specs
        case .time(let dayOfWeek):
            var specs = [
                FeatureSpec(name: "tod_sin", transform: .timeOfDaySin, minimum: -1, maximum: 1),
                FeatureSpec(name: "tod_cos", transform: .timeOfDayCos, minimum: -1, maximum: 1),
            ]
            if dayOfWeek { specs.append(FeatureSpec(name: "dow", transform: .dayOfWeek, minimum: 0, maximum: 6)) }
            return specs
        }
    }

    /// `<channel>_<transform>_<window>s`, e.g. `sound_mean_60s`, `temperature_slope_600s`, `co2_std_2p5s`.
    public static func windowedName(channel: String, transform: FeatureSpec.Transform, window: Double) -> String {
        let seconds =
            window == window.rounded() && abs(window) < 1e15
            ? String(Int64(window)) : String(String(window).map { $0 == "." ? "p" : $0 })
        return "\(channel)_\(transform.rawValue)_\(seconds)s"
    }

    /// A category as a name fragment: lowercased ASCII letters and digits, anything else as `_`.
    public static func slug(_ category: String) -> String {
        String(
            category.lowercased().map { c in
                c.isASCII && (c.isLetter || c.isNumber) ? c : "_"
            })
    }

    /// The distinct text values of `channel` in `rows`, sorted: the categories a `.categorical` group one-hot
    /// encodes.
    public static func categories(
        of channel: String, in rows: some Sequence<(Instant, [String: ChannelValue?])>
    ) -> [String] {
        var seen = Set<String>()
        for (_, values) in rows {
            if case .category(let c)?? = values[channel] { seen.insert(c) }
        }
        return seen.sorted()
    }
}
