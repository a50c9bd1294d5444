/// The topic names one gateway publishes and listens on: `<prefix>/<gateway>/<kind>`.
public struct GatewayTopics: Sendable, Equatable {
    public let prefix: String
    public let gatewayID: String
    public let discoveryPrefix: String

    /// Home Assistant's default discovery prefix.
    public static let defaultDiscoveryPrefix = "homeassistant"

    public init(prefix: String, gatewayID: String, discoveryPrefix: String = GatewayTopics.defaultDiscoveryPrefix) {
        self.prefix = prefix
        self.gatewayID = gatewayID
        self.discoveryPrefix = discoveryPrefix
    }

    public var base: String { "\(prefix)/\(gatewayID)" }
    /// Retained decision JSON (`DecisionDocument`).
    public var occupancy: String { "\(base)/\(GatewayTopicKind.occupancy.rawValue)" }
    /// Retained `online` / `offline` (the last will).
    public var status: String { "\(base)/\(GatewayTopicKind.status.rawValue)" }
    /// Raw readings at the telemetry interval (`TelemetryDocument`).
    public var telemetry: String { "\(base)/\(GatewayTopicKind.telemetry.rawValue)" }
    /// Retained model announcements from the training host (`ModelAnnouncement`).
    public var modelAvailable: String { "\(base)/\(GatewayTopicKind.modelAvailable.rawValue)" }
    /// Retained: which model runs, and the last refusal (`ModelStatusDocument`).
    public var modelStatus: String { "\(base)/\(GatewayTopicKind.modelStatus.rawValue)" }
    /// Ground truth as time ranges (`LabelDocument`).
    public var labels: String { "\(base)/\(GatewayTopicKind.labels.rawValue)" }
    /// Retained monitor window (`MonitorDocument`), one per monitor window.
    public var monitor: String { "\(base)/\(GatewayTopicKind.monitor.rawValue)" }
    /// Retained attributes of the occupancy entity for Home Assistant (model, probability, why, warnings).
    public var occupancyAttributes: String { "\(base)/occupancy/attributes" }
    /// Home Assistant's "Room is occupied" / "Room is empty" buttons press here (`occupied` / `empty`).
    public var correctionCommand: String { "\(base)/correct" }
    /// Home Assistant's override select sets `auto` / `occupied` / `empty` here.
    public var overrideCommand: String { "\(base)/override/set" }
    /// Retained: the override in force (`auto` / `occupied` / `empty`).
    public var overrideState: String { "\(base)/override" }
    /// Retained: Home Assistant `update` state (installed vs assigned model version, release summary).
    public var modelUpdate: String { "\(base)/model/update" }
    /// What the gateway publishes for Home Assistant besides discovery (retained).
    public var homeAssistantStates: [String] { [occupancyAttributes, overrideState, modelUpdate] }
    /// What Home Assistant sends the gateway.
    public var homeAssistantCommands: [String] { [correctionCommand, overrideCommand] }
    /// Home Assistant's birth message topic.
    public var homeAssistantStatus: String { "\(discoveryPrefix)/status" }

    /// The Home Assistant node id of this gateway: `occupant_<id>` with `[a-zA-Z0-9_-]` only.
    public var discoveryNode: String { "occupant_\(sanitized(gatewayID))" }

    /// `homeassistant/<component>/<node>/<object>/config`.
    public func discovery(component: String, object: String) -> String {
        "\(discoveryPrefix)/\(component)/\(discoveryNode)/\(object)/config"
    }

    /// The discovery topics of one gateway, or of every gateway when `gatewayID` is nil (a subscription filter).
    public static func discoveryFilter(discoveryPrefix: String, component: String, object: String, gatewayID: String?)
        -> String
    {
        let node =
            gatewayID.map { GatewayTopics(prefix: "", gatewayID: $0, discoveryPrefix: discoveryPrefix).discoveryNode }
            ?? "+"
        return "\(discoveryPrefix)/\(component)/\(node)/\(object)/config"
    }

    public static func edukitShadow(thing: String) -> String { "$aws/things/\(thing)/shadow/update" }

    /// `<prefix>/<gateway>/<kind>` → the gateway and the kind; nil for any other topic.
    public static func parse(_ topic: String, prefix: String) -> (gateway: String, kind: GatewayTopicKind)? {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        guard levels.count >= 3, levels[0] == prefix,
            let kind = GatewayTopicKind(rawValue: levels[2...].joined(separator: "/"))
        else { return nil }
        return (String(levels[1]), kind)
    }
}

/// What follows `<prefix>/<gateway>/` in a topic.
public enum GatewayTopicKind: String, Sendable, CaseIterable {
    case occupancy
    case status
    case telemetry
    case labels
    case monitor
    case modelAvailable = "model/available"
    case modelStatus = "model/status"
}

/// Discovery node ids allow `[a-zA-Z0-9_-]` only.
func sanitized(_ text: String) -> String {
    String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") ? $0 : "_" })
}
