/// Turns samples into decisions: a scorer, its threshold, and hysteresis.
///
/// A decision keeps the sample's readings (for health) and the scorer's inputs as they are held; nothing is named or
/// put in a dictionary until the decision is published.
public struct DecisionEngine: Sendable {
    /// (No observer here: `decide` mutates the scorer every sample. `replace` sets `note` after it, which updates
    /// `decidedBy`.)
    public private(set) var scorer: any OccupancyScorer
    public private(set) var hysteresis: Hysteresis
    /// Appended to `decidedBy`, e.g. `(fallback: no valid model)`.
    public var note: String? {
        didSet { decidedBy = DecisionEngine.decidedBy(scorer, note) }
    }
    /// `rule:sound>10`, or `model:<id>@<version> (note)`; kept, not rebuilt every sample.
    public private(set) var decidedBy: String

    public init(scorer: any OccupancyScorer, hysteresis: Hysteresis, note: String? = nil) {
        self.scorer = scorer
        self.hysteresis = hysteresis
        self.note = note
        self.decidedBy = DecisionEngine.decidedBy(scorer, note)
    }

    /// Swaps the scorer (a new model), keeping the current debounced state so the room does not flicker.
    public mutating func replace(
        scorer: any OccupancyScorer, hysteresis newHysteresis: Hysteresis? = nil, note: String? = nil
    ) {
        self.scorer = scorer
        self.note = note
        if let newHysteresis {
            let state = hysteresis.state
            hysteresis = newHysteresis
            hysteresis.resume(from: state)
        }
    }

    private static func decidedBy(_ scorer: any OccupancyScorer, _ note: String?) -> String {
        if let note { return "\(scorer.id) (\(note))" }
        return scorer.id
    }

    /// Scores one sample and returns the decision.
    public mutating func decide(_ sample: Sample) -> Decision {
        let health = ChannelHealthList(sample.readings)
        switch scorer.score(sample) {
        case .stale(let reason):
            return Decision(
                roomOccupancy: nil, probability: nil, decidedBy: decidedBy, inputs: .none,
                health: health, stale: reason, at: sample.at)
        case .probability(let p, let inputs):
            // Not a probability (NaN, ±inf, outside [0, 1]: an evaluator bug): the state does not move; the gateway's
            // guards replace such a decision before anything is published.
            guard p >= 0 && p <= 1 else {
                return Decision(
                    roomOccupancy: hysteresis.state, probability: p, decidedBy: decidedBy, inputs: inputs,
                    health: health, stale: nil, at: sample.at)
            }
            let state = hysteresis.update(raw: p >= scorer.threshold, at: sample.at)
            return Decision(
                roomOccupancy: state, probability: p, decidedBy: decidedBy, inputs: inputs,
                health: health, stale: nil, at: sample.at)
        }
    }
}
