/// Ground truth for a time range `[from, to)`: `{"gateway":"g","from":"…","to":"…","occupied":true}`. On a gateway's
/// own `labels` topic `gateway` may be left out; `POST /v1/labels` takes one document or an array.
public struct LabelDocument: Codable, Sendable, Equatable {
    public var gateway: String?
    public var from: TimeValue
    public var to: TimeValue
    public var occupied: Bool
    /// Who said so, when not the transport alone: `correction` for a person's press of a Home Assistant button.
    /// Stored after the transport (`mqtt:correction`); letters, digits, `_` and `-`, at most 32.
    public var source: String?

    public init(gateway: String? = nil, from: TimeValue, to: TimeValue, occupied: Bool, source: String? = nil) {
        self.gateway = gateway
        self.from = from
        self.to = to
        self.occupied = occupied
        self.source = source
    }

    /// The label sources a gateway sends.
    public static let correctionSource = "correction"
}

/// The server's answer to `POST /v1/labels`.
public struct LabelsReceipt: Codable, Sendable, Equatable {
    /// Label ranges stored.
    public var accepted: Int

    public init(accepted: Int) {
        self.accepted = accepted
    }
}
