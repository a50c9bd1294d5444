/// The rule Occupant replaces, kept as the fallback and the baseline: `occupied = channel > threshold`.
///
/// The EduKit cloud rule was `sound > 10` on the latest sample; this reads the latest valid value of `channel`
/// and reports probability 1 or 0.
public struct StaticRule: OccupancyScorer {
    public var channel: String
    public var limit: Double
    /// How long the last valid value may be used when a sample has none.
    public var staleAfter: Double

    private var lastValue: Double?
    private var lastAt: Instant?

    public init(channel: String = "sound", threshold: Double = 10, staleAfter: Double = 10) {
        self.channel = channel
        self.limit = threshold
        self.staleAfter = staleAfter
    }

    public var id: String { "rule:\(channel)>\(formatNumber(limit))" }
    public var channels: [String] { [channel] }
    public var threshold: Double { 0.5 }

    public mutating func score(_ sample: Sample) -> Score {
        if let value = sample.value(channel)?.number {
            lastValue = value
            lastAt = sample.at
        }
        guard let value = lastValue, let at = lastAt else {
            let reason = sample.reading(channel)?.unavailable ?? "no reading yet"
            return .stale("\(channel): \(reason)")
        }
        let age = sample.at - at
        if age > staleAfter {
            let reason = sample.reading(channel)?.unavailable ?? "no reading"
            return .stale("\(channel): no valid reading for \(formatNumber(age.rounded()))s (\(reason))")
        }
        return .probability(value > limit ? 1 : 0, inputs: .one(channel, .number(value)))
    }
}
