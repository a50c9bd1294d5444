/// The topic names one gateway publishes and listens on.
public struct GatewayTopics: Sendable, Equatable {
    public let prefix: String
    public let gatewayID: String
    public let discoveryPrefix: String

    public init(prefix: String, gatewayID: String, discoveryPrefix: String) {
        self.prefix = prefix
        self.gatewayID = gatewayID
        self.discoveryPrefix = discoveryPrefix
    }

    public var base: String { "\(prefix)/\(gatewayID)" }
    /// Retained decision JSON.
    public var occupancy: String { "\(base)/occupancy" }
    /// Retained `online` / `offline` (the last will).
    public var status: String { "\(base)/status" }
    /// Raw readings at the telemetry interval.
    public var telemetry: String { "\(base)/telemetry" }
    /// Retained model announcements from the training host (`{"modelID":…,"version":…,"sha256":…,"url":…}`).
    public var modelAvailable: String { "\(base)/model/available" }
    /// Retained: which model runs, and the last refusal.
    public var modelStatus: String { "\(base)/model/status" }
    /// Ground truth as time ranges (`{"from":…,"to":…,"occupied":true}`).
    public var labels: String { "\(base)/labels" }
    /// Home Assistant's birth message topic.
    public var homeAssistantStatus: String { "\(discoveryPrefix)/status" }

    /// `homeassistant/<component>/<node>/<object>/config`.
    public func discovery(component: String, object: String) -> String {
        "\(discoveryPrefix)/\(component)/occupant_\(sanitized(gatewayID))/\(object)/config"
    }

    public static func edukitShadow(thing: String) -> String { "$aws/things/\(thing)/shadow/update" }
}

/// Discovery node ids allow `[a-zA-Z0-9_-]` only.
func sanitized(_ text: String) -> String {
    String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") ? $0 : "_" })
}
