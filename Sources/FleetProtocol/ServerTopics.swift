/// The topics the training host subscribes to and publishes on. Telemetry, labels and monitor windows come through a shared
/// subscription (`$share/<group>/…`), so several server processes split the load; every server hears each gateway's
/// retained `model/status`.
public struct ServerTopics: Sendable, Equatable {
    public let prefix: String
    public let shareGroup: String

    public static let defaultShareGroup = "occupant-server"

    public init(prefix: String, shareGroup: String = ServerTopics.defaultShareGroup) {
        self.prefix = prefix
        self.shareGroup = shareGroup
    }

    /// Every gateway's `kind` topic: `<prefix>/+/<kind>`.
    public func everyGateway(_ kind: GatewayTopicKind) -> String { "\(prefix)/+/\(kind.rawValue)" }

    /// `$share/<group>/<prefix>/+/<kind>`.
    public func shared(_ kind: GatewayTopicKind) -> String { "$share/\(shareGroup)/\(everyGateway(kind))" }

    /// What the server subscribes to on every (re)connect.
    public var subscriptions: [String] {
        [shared(.telemetry), shared(.labels), everyGateway(.modelStatus), shared(.monitor)]
    }

    /// Where a gateway hears of its model (retained `ModelAnnouncement`).
    public func modelAvailable(gateway: String) -> String {
        GatewayTopics(prefix: prefix, gatewayID: gateway).modelAvailable
    }

    /// Quality alerts (`<prefix>/alerts`).
    public var alerts: String { "\(prefix)/alerts" }
}
