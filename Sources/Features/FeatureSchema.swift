/// The ordered inputs of a model: which channel each feature is computed from, how, and over what window.
///
/// The schema travels inside the model bundle; the gateway builds its incremental pipeline from it and the trainer
/// builds its batch pipeline from the same schema, so the two compute the same numbers.
public struct FeatureSchema: Codable, Sendable, Equatable {
    public var features: [FeatureSpec]
    /// Firmware profiles (by name, with an optional version range) the model may run on; empty means any profile
    /// that has the channels the features need.
    public var profiles: [ProfileCompatibility]

    public init(features: [FeatureSpec], profiles: [ProfileCompatibility] = []) {
        self.features = features
        self.profiles = profiles
    }

    /// A schema of raw columns in order (the common case for a model trained on a table).
    public static func raw(columns: [String]) -> FeatureSchema {
        FeatureSchema(features: columns.map { FeatureSpec(name: $0, transform: .raw, channel: $0) })
    }

    public var names: [String] { features.map(\.name) }

    /// Channels any feature reads.
    public var channels: [String] {
        var seen: [String] = []
        for f in features { if let c = f.channel, !seen.contains(c) { seen.append(c) } }
        return seen
    }
}

/// One feature.
public struct FeatureSpec: Codable, Sendable, Equatable {
    public enum Transform: String, Codable, Sendable, CaseIterable {
        /// The channel's latest value.
        case raw
        /// Over the last `window` seconds.
        case mean, max, min, std
        /// Latest value minus the value `window` seconds ago.
        case delta
        /// Least-squares slope per second over the window.
        case slope
        /// Seconds since a categorical channel last changed value.
        case sinceChange
        /// 1 when a categorical channel equals `category`, else 0.
        case oneHot
        /// Time of day as a point on the unit circle.
        case timeOfDaySin, timeOfDayCos
        /// 0 = Monday … 6 = Sunday.
        case dayOfWeek
    }

    public var name: String
    public var transform: Transform
    public var channel: String?
    public var window: Double?
    public var category: String?
    public var units: String?
    /// The range seen in training; values outside it are still scored but counted as out of range.
    public var minimum: Double?
    public var maximum: Double?

    public init(
        name: String, transform: Transform, channel: String? = nil, window: Double? = nil, category: String? = nil,
        units: String? = nil, minimum: Double? = nil, maximum: Double? = nil
    ) {
        self.name = name
        self.transform = transform
        self.channel = channel
        self.window = window
        self.category = category
        self.units = units
        self.minimum = minimum
        self.maximum = maximum
    }
}

/// A firmware profile a model is compatible with.
public struct ProfileCompatibility: Codable, Sendable, Equatable {
    public var name: String
    /// e.g. `>=2.1, <3`; nil for any version.
    public var firmware: String?

    public init(name: String, firmware: String? = nil) {
        self.name = name
        self.firmware = firmware
    }
}
