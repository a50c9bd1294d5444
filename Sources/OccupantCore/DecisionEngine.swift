/// Turns samples into decisions: a scorer, its threshold, and hysteresis.
public struct DecisionEngine: Sendable {
    public private(set) var scorer: any OccupancyScorer
    public private(set) var hysteresis: Hysteresis
    /// Appended to `decidedBy`, e.g. `(fallback: no valid model)`.
    public var note: String?

    public init(scorer: any OccupancyScorer, hysteresis: Hysteresis, note: String? = nil) {
        self.scorer = scorer
        self.hysteresis = hysteresis
        self.note = note
    }

    /// Swaps the scorer (a new model), keeping the current debounced state so the room does not flicker.
    public mutating func replace(scorer: any OccupancyScorer, hysteresis newHysteresis: Hysteresis? = nil, note: String? = nil) {
        self.scorer = scorer
        self.note = note
        if let newHysteresis {
            let state = hysteresis.state
            hysteresis = newHysteresis
            hysteresis.resume(from: state)
        }
    }

    public var decidedBy: String {
        if let note { return "\(scorer.id) (\(note))" }
        return scorer.id
    }

    /// Scores one sample and returns the decision.
    public mutating func decide(_ sample: Sample) -> Decision {
        var health: [String: ChannelHealth] = [:]
        for reading in sample.readings { health[reading.channel] = reading.health }
        switch scorer.score(sample) {
        case .stale(let reason):
            return Decision(
                roomOccupancy: nil, probability: nil, decidedBy: decidedBy, inputs: [:],
                health: health, stale: reason, at: sample.at)
        case .probability(let p, let inputs):
            let state = hysteresis.update(raw: p >= scorer.threshold, at: sample.at)
            return Decision(
                roomOccupancy: state, probability: p, decidedBy: decidedBy, inputs: inputs,
                health: health, stale: nil, at: sample.at)
        }
    }
}
