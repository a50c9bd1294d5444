import OccupantCore

/// Computes a schema's feature vector incrementally, one sample at a time, in O(1) amortised work per sample and
/// without allocating once its windows have filled.
///
/// The gateway feeds it every sample; the trainer replays a table through it row by row (`BatchFeatures`), so both
/// compute bit-identical vectors. Semantics (all times in seconds; `now` = the time of the latest update):
///
/// - **Windows** hold the valid numeric samples with `now - window < t <= now`. Mean; population standard deviation;
///   maximum; minimum; `delta` = newest − oldest value in the window; `slope` = least-squares slope per second.
///   NaN when the window holds no sample (`delta`/`slope`: fewer than two, or all at one instant). A window whose
///   values are all equal has std and slope exactly 0.
/// - **raw** is the latest valid number if it is younger than `window` (when the spec gives one) or
///   `Limits.staleness`, else NaN: one failed read does not blank the input, a dead sensor does.
/// - **oneHot** is 1 or 0 by the latest valid value under the same staleness rule (NaN when it is stale or absent).
/// - **sinceChange** is `now` − the time the value was first seen different from the previous valid value, capped at
///   `window` (or `Limits.sinceChangeCap`). Before any change has been seen it is the cap ("steady for a long time"),
///   so a restart does not look like a change. NaN while the value is stale.
/// - **timeOfDaySin/Cos** are `sin`/`cos` of 2π·secondOfDay/86400 (UTC), computed bit-identically on every
///   platform; **dayOfWeek** is 0 = Monday … 6 = Sunday (UTC).
/// - A reading is unavailable when its value is nil, missing from the sample, or a non-finite number. A category
///   value never enters numeric windows; a number counts as a category (matched against `"2"` etc.).
/// - A sample earlier than `now` resets all state (counted in `timeResets`); one with a non-finite time is ignored
///   (counted in `rejectedSamples`). Before the first sample every feature is NaN.
/// - Running sums are Neumaier-compensated and rebuilt exactly from the window whenever the evictions since the last
///   rebuild reach the window's sample count, so nothing drifts over long runs.
/// - A window holds at most `Limits.windowCapacity` samples; beyond that its oldest samples are dropped early (the
///   window then covers the newest `windowCapacity` samples).
public struct FeaturePipeline: Sendable {
    /// Tunables that are not part of a schema. The gateway and the trainer must use the same values; the defaults
    /// are what both use.
    public struct Limits: Sendable, Equatable {
        /// Seconds a raw/oneHot/sinceChange input stays valid after its last valid reading, when the spec gives no
        /// window.
        public var staleness: Double
        /// The default cap of `sinceChange`, in seconds.
        public var sinceChangeCap: Double
        /// The most samples one window holds.
        public var windowCapacity: Int

        public init(staleness: Double = 30, sinceChangeCap: Double = 86_400, windowCapacity: Int = 100_000) {
            precondition(staleness > 0 && sinceChangeCap > 0 && windowCapacity > 0, "limits must be positive")
            self.staleness = staleness
            self.sinceChangeCap = sinceChangeCap
            self.windowCapacity = windowCapacity
        }

        /// The limits the gateway and the trainer use.
        public static let standard = Limits()
    }

    /// The longest window a schema may ask for: one day.
    public static let maximumWindow: Double = 86_400

    public let schema: FeatureSchema
    public let limits: Limits
    /// Feature names, in vector order.
    public let names: [String]
    private let plans: [FeaturePlan]
    private var channelStates: [ChannelState]
    fileprivate(set) var windows: [WindowAggregate]
    private let minimums: [Double]
    private let maximums: [Double]

    /// The current feature vector (NaN = missing). Prefer `write(into:)` or `withValues` on the hot path: holding
    /// a copy of this array makes the next update copy it.
    public private(set) var values: [Double]
    /// The time of the latest update; nil before the first.
    public private(set) var now: Instant?
    /// NaN features in the current vector.
    public private(set) var missingCount = 0
    /// Features in the current vector outside their spec's [minimum, maximum].
    public private(set) var outOfRangeCount = 0
    /// Cumulative per-feature counts, for input-health and drift statistics.
    public private(set) var counters: FeatureCounters
    /// Samples whose time was earlier than the previous sample's (each reset the state).
    public private(set) var timeResets = 0
    /// Samples ignored because their time was not finite.
    public private(set) var rejectedSamples = 0

    /// Builds a pipeline; throws when a feature lacks what its transform needs (the message names the feature).
    public init(schema: FeatureSchema, limits: Limits = .standard) throws(OccupantError) {
        let compiled = try CompiledSchema(schema: schema, limits: limits)
        self.schema = schema
        self.limits = limits
        self.names = schema.names
        self.plans = compiled.plans
        self.channelStates = compiled.channels
        self.windows = compiled.windows
        self.minimums = schema.features.map { $0.minimum ?? -.infinity }
        self.maximums = schema.features.map { $0.maximum ?? .infinity }
        self.values = Array(repeating: .nan, count: schema.features.count)
        self.missingCount = schema.features.count
        self.counters = FeatureCounters(featureCount: schema.features.count)
    }

    /// Number of features in the vector.
    public var count: Int { plans.count }

    /// The channels the features read, in first-use order.
    public var channels: [String] { channelStates.map(\.name) }

    /// Feeds one gateway sample (a channel absent from the sample, or with a nil value, is unavailable).
    public mutating func update(_ sample: Sample) {
        update(at: sample.at) { name in
            // Index-based so that no `Reading` is copied on the hot path.
            for i in sample.readings.indices where sample.readings[i].channel == name {
                return sample.readings[i].value
            }
            return nil
        }
    }

    /// Feeds one table row: channel name → value (nil or absent = unavailable).
    public mutating func update(at time: Instant, values row: [String: ChannelValue?]) {
        update(at: time) { name in row[name] ?? nil }
    }

    /// Feeds one instant, asking `value` for each channel the pipeline reads (nil = unavailable).
    public mutating func update(at time: Instant, value: (String) -> ChannelValue?) {
        let t = time.seconds
        guard t.isFinite else {
            rejectedSamples += 1
            return
        }
        if let previous = now, t < previous.seconds {
            resetState()
            timeResets += 1
        }
        now = time
        for c in channelStates.indices {
            let reading = value(channelStates[c].name)
            if let v = channelStates[c].observe(reading, at: t) {
                // Indexed: a for-in over the array allocates its iterator in unoptimised builds.
                for i in 0..<channelStates[c].windows.count { windows[channelStates[c].windows[i]].push(t: t, v: v) }
            }
        }
        for w in windows.indices { windows[w].advance(to: t) }
        compute(at: t)
    }

    /// Zeroes the cumulative counters (e.g. after publishing drift statistics).
    public mutating func resetCounters() {
        counters = FeatureCounters(featureCount: count)
    }

    private mutating func resetState() {
        for c in channelStates.indices { channelStates[c].reset() }
        for w in windows.indices { windows[w].removeAll() }
    }

    private mutating func compute(at t: Double) {
        var missing = 0
        var outOfRange = 0
        let (todSin, todCos) = UnitCircle.sinCos(turns: Instant(seconds: t).secondOfDay / 86_400)
        for i in plans.indices {
            let v: Double
            switch plans[i] {
            case .raw(let c, let staleness):
                v = channelStates[c].lastNumberAt > t - staleness ? channelStates[c].lastNumber : .nan
            case .window(let w, let statistic):
                v = windows[w].value(statistic)
            case .oneHot(let c, let staleness, let match):
                if channelStates[c].lastCategoryAt > t - staleness, let category = channelStates[c].lastCategory {
                    v = match.matches(category) ? 1 : 0
                } else {
                    v = .nan
                }
            case .sinceChange(let c, let staleness, let cap):
                let fresh = channelStates[c].lastCategoryAt > t - staleness
                v = fresh ? Swift.min(t - channelStates[c].changedAt, cap) : .nan
            case .timeOfDaySin: v = todSin
            case .timeOfDayCos: v = todCos
            case .dayOfWeek: v = Double(Instant(seconds: t).dayOfWeek)
            }
            values[i] = v
            if v.isNaN {
                missing += 1
                counters.missing[i] += 1
            } else if v < minimums[i] {
                outOfRange += 1
                counters.belowMinimum[i] += 1
            } else if v > maximums[i] {
                outOfRange += 1
                counters.aboveMaximum[i] += 1
            }
        }
        counters.updates += 1
        missingCount = missing
        outOfRangeCount = outOfRange
    }
}
