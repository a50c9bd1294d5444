/// What the gateway decided at one instant, with everything needed to audit it.
public struct Decision: Sendable, Equatable {
    /// Occupied or not; nil when the inputs were stale and the engine would not guess.
    public var roomOccupancy: Bool?
    /// The scorer's probability of occupancy (the static rule reports 0 or 1); nil when stale.
    public var probability: Double?
    /// `rule:sound>10` or `model:<id>@<version>`; says `fallback` when a model was wanted but is not usable.
    public var decidedBy: String
    /// The input values the scorer used (names and values are put together only when read).
    public var inputs: ScoreInputs
    /// Health of every channel, in profile order.
    public var health: ChannelHealthList
    /// Why no decision could be made (a needed channel unavailable), or nil.
    public var stale: String?
    public var at: Instant

    public init(
        roomOccupancy: Bool?, probability: Double?, decidedBy: String, inputs: ScoreInputs,
        health: ChannelHealthList, stale: String?, at: Instant
    ) {
        self.roomOccupancy = roomOccupancy
        self.probability = probability
        self.decidedBy = decidedBy
        self.inputs = inputs
        self.health = health
        self.stale = stale
        self.at = at
    }
}

/// The result of scoring one instant.
public enum Score: Sendable, Equatable {
    /// A probability of occupancy in [0, 1] and the inputs that produced it.
    case probability(Double, inputs: ScoreInputs)
    /// A needed input is unavailable.
    case stale(String)
}

/// The seam between the gateway loop and whatever decides: the static rule here, a model bundle later.
///
/// A scorer sees every sample (so windowed features can update incrementally) and is asked for a score after each one.
public protocol OccupancyScorer: Sendable {
    /// `rule:sound>10`, `model:<id>@<version>`.
    var id: String { get }
    /// The channels this scorer reads.
    var channels: [String] { get }
    /// The probability at or above which the room counts as occupied.
    var threshold: Double { get }
    /// Feeds one sample; returns the score for this instant.
    mutating func score(_ sample: Sample) -> Score
}
