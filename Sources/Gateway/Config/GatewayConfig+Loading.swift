import OccupantCore
import Sensors

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension GatewayConfig {
    /// Reads a configuration file; every problem is reported with its key path and line.
    public static func load(path: String) throws(DocumentErrors) -> GatewayConfig {
        let text = try readDocumentText(path: path, code: .configuration, what: "configuration")
        var config = try parse(yaml: text, source: path)
        config.path = path
        return config
    }

    /// `path` if given; else the default file when it exists; else the built-in defaults.
    public static func loadOrDefault(path: String?) throws(DocumentErrors) -> GatewayConfig {
        if let path { return try load(path: path) }
        if access(defaultPath, R_OK) == 0 { return try load(path: defaultPath) }
        return try parse(yaml: "{}")
    }

    static let topKeys = [
        "gatewayId", "profile", "bus", "simulate", "broker", "topics", "decision", "telemetry", "sensors",
        "stateDirectory", "trustedKeys", "server", "monitor", "homeAssistant", "models",
    ]
    static let simulateKeys = ["scenario", "speed", "seed", "labels", "labelEvery"]
    static let brokerKeys = [
        "host", "port", "clientId", "keepalive", "username", "password", "passwordFile", "tls", "queueLimit",
        "reconnect", "connectTimeout",
    ]
    static let tlsKeys = ["caFile", "certFile", "keyFile", "insecure"]
    static let reconnectKeys = ["min", "max"]
    static let topicKeys = ["prefix", "homeAssistant", "discoveryPrefix", "edukit", "edukitThing"]
    static let decisionKeys = ["channel", "threshold", "occupiedAfter", "vacantAfter", "staleAfter", "heartbeat"]
    static let telemetryKeys = ["interval", "enabled"]
    static let sensorKeys = ["degradedAfter", "failedAfter", "stuckAfter"]
    static let monitorKeys = ["window", "textfile", "stuckAfter", "enabled"]
    static let modelsKeys = ["probation"]
    static let probationKeys = [
        "duration", "maxTransitionsPerHour", "stuckAfter", "outOfRangeShare", "depthWindow", "accuracyDrop",
        "rollbackAfterProbation", "enabled",
    ]

    /// Parses configuration YAML over the defaults.
    public static func parse(yaml: String, source: String = "configuration") throws(DocumentErrors) -> GatewayConfig {
        let reader = DocumentReader(text: yaml, source: source, code: .configuration)
        var config = GatewayConfig(gatewayID: defaultGatewayID(), profile: "thermostat-mcu", source: .bus(1))
        if let root = reader.root, let map = root.mapping(allowed: topKeys) {
            apply(map, to: &config)
        }
        try reader.finish()
        return config
    }

    private static func apply(_ map: FieldMap, to config: inout GatewayConfig) {
        if let field = map.optional("gatewayId"), let id = field.string() {
            if let problem = topicLevelProblem(id) { field.report(problem) } else { config.gatewayID = id }
        }
        if let profile = map.optional("profile")?.string() { config.profile = profile }
        applySource(map, to: &config)
        if let broker = map.optional("broker")?.mapping(allowed: brokerKeys) { applyBroker(broker, to: &config) }
        if let topics = map.optional("topics")?.mapping(allowed: topicKeys) { applyTopics(topics, to: &config) }
        if let decision = map.optional("decision")?.mapping(allowed: decisionKeys) {
            applyDecision(decision, to: &config)
        }
        if let telemetry = map.optional("telemetry")?.mapping(allowed: telemetryKeys) {
            applyTelemetry(telemetry, to: &config)
        }
        if let sensors = map.optional("sensors")?.mapping(allowed: sensorKeys) { applySensors(sensors, to: &config) }
        if let server = map.optional("server")?.mapping(allowed: serverKeys) { applyServer(server, to: &config) }
        if let monitor = map.optional("monitor")?.mapping(allowed: monitorKeys) { applyMonitor(monitor, to: &config) }
        if let ha = map.optional("homeAssistant")?.mapping(allowed: homeAssistantKeys) {
            applyHomeAssistant(ha, to: &config)
        }
        if let probation = map.optional("models")?.mapping(allowed: modelsKeys)?.optional("probation")?.mapping(
            allowed: probationKeys)
        {
            applyProbation(probation, to: &config)
        }
        if let v = map.optional("stateDirectory")?.string() { config.stateDirectory = v }
        if let list = map.optional("trustedKeys")?.list() {
            config.trustedKeys = list.compactMap { $0.string() }
        }
    }

    /// The host name, which is what a gateway is usually called.
    static func defaultGatewayID() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "gateway" }
        let name = string(fromCBuffer: buffer).lowercased().map { ($0.isLetter || $0.isNumber || $0 == "-") ? $0 : "-" }
        return name.isEmpty ? "gateway" : String(name)
    }
}

/// Why `text` cannot be one MQTT topic level (no `/`, `+`, `#`, NUL, or empty).
func topicLevelProblem(_ text: String) -> String? {
    if text.isEmpty { return "must not be empty" }
    if text.contains(where: { $0 == "/" || $0 == "+" || $0 == "#" || $0 == "\0" }) {
        return "'\(text)' cannot be used in an MQTT topic level (no '/', '+' or '#')"
    }
    return nil
}

/// Why `text` cannot prefix our topics (no wildcards, no leading or trailing `/`).
func topicPrefixProblem(_ text: String) -> String? {
    if text.isEmpty { return "must not be empty" }
    if text.contains(where: { $0 == "+" || $0 == "#" || $0 == "\0" }) { return "'\(text)' must not contain '+' or '#'" }
    if text.hasPrefix("/") || text.hasSuffix("/") { return "'\(text)' must not start or end with '/'" }
    return nil
}

#if canImport(Glibc)
    import Glibc
#endif
