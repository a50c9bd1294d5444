/// A gateway's retained `occupancy` decision:
/// `{"roomOccupancy":true,"probability":0.93,"decidedBy":"rule:sound>10","inputs":{…},"health":{…},"at":"…"}`.
/// When the inputs are stale `roomOccupancy` and `probability` are null and `stale` says why. The gateway writes it
/// on every cycle with its allocation-light writer (`Payloads.decision`); readers decode this type.
public struct DecisionDocument: Codable, Sendable, Equatable {
    public var roomOccupancy: Bool?
    public var probability: Double?
    /// `rule:<text>`, `model:<id>@<version>`, or `override` while a person's Home Assistant override is in force.
    public var decidedBy: String
    public var inputs: [String: JSONReading]
    /// Channel → health (`ok`, `stale`, `failed`…).
    public var health: [String: String]
    public var stale: String?
    /// A standing warning about the room, e.g. occupied for longer than the gateway's `homeAssistant.maxOccupied`.
    public var alert: String?
    /// ISO-8601.
    public var at: String

    public init(
        roomOccupancy: Bool?, probability: Double?, decidedBy: String, inputs: [String: JSONReading],
        health: [String: String],
        stale: String?, at: String
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
