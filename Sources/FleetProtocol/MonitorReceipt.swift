/// The server's answer to `POST /v1/gateways/{id}/monitor`: the window it now holds.
public struct MonitorReceipt: Codable, Sendable, Equatable {
    public var gateway: String
    public var from: TimeValue
    public var to: TimeValue
    /// A window with this start was stored already (a resend after a lost answer, or the same window over MQTT):
    /// it is still stored once.
    public var duplicate: Bool

    public init(gateway: String, from: TimeValue, to: TimeValue, duplicate: Bool) {
        self.gateway = gateway
        self.from = from
        self.to = to
        self.duplicate = duplicate
    }
}
