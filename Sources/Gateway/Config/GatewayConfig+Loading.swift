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
        "stateDirectory", "trustedKeys", "server",
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
        if map.optional("bus") != nil && map.optional("simulate") != nil {
            map.owner.report("give either 'bus' or 'simulate', not both")
        }
        if let bus = map.optional("bus")?.int(in: 0...255) { config.source = .bus(bus) }
        if let simulate = map.optional("simulate") {
            var scenario = "day", speed = 1.0, seed: UInt64 = 1
            if case .scalar = simulate.node {
                if let text = simulate.string() { scenario = text }
            } else if let sim = simulate.mapping(allowed: simulateKeys) {
                if let s = sim.optional("scenario")?.string() { scenario = s }
                if let s = sim.optional("speed")?.double(in: 0.001...100_000) { speed = s }
                if let s = sim.optional("seed")?.int(in: 0...Int(Int32.max)) { seed = UInt64(s) }
                var labels = GatewayConfig.SimulatedLabels()
                if let field = sim.optional("labelEvery"), let v = field.duration() {
                    if v <= 0 { field.report("must be positive") } else { labels.every = v }
                }
                if sim.optional("labels")?.bool() == true { config.simulatedLabels = labels }
            }
            config.source = .simulated(scenario: scenario, speed: speed, seed: seed)
        }
        if let broker = map.optional("broker")?.mapping(allowed: brokerKeys) {
            var b = config.broker
            if let v = broker.optional("host")?.string() {
                if v.isEmpty { broker["host"]?.report("must not be empty") } else { b.host = v }
            }
            if let v = broker.optional("port")?.int(in: 1...65535) { b.port = v }
            if let v = broker.optional("clientId")?.string() { b.clientID = v }
            if let v = broker.optional("keepalive")?.int(in: 5...65535) { b.keepalive = v }
            if let v = broker.optional("username")?.string() { b.username = v }
            if let v = broker.optional("password")?.string() { b.password = v }
            if let v = broker.optional("passwordFile")?.string() { b.passwordFile = v }
            if let tls = broker.optional("tls")?.mapping(allowed: tlsKeys) {
                b.caFile = tls.required("caFile")?.string()
                b.certFile = tls.optional("certFile")?.string()
                b.keyFile = tls.optional("keyFile")?.string()
                b.tlsInsecure = tls.optional("insecure")?.bool() ?? false
                if (b.certFile == nil) != (b.keyFile == nil) {
                    tls.owner.report("certFile and keyFile go together")
                }
            }
            if let v = broker.optional("queueLimit")?.int(in: 1...1_000_000) { b.queueLimit = v }
            if let r = broker.optional("reconnect")?.mapping(allowed: reconnectKeys) {
                if let v = r.optional("min")?.duration() { b.reconnectMin = max(1, v) }
                if let v = r.optional("max")?.duration() { b.reconnectMax = v }
                if b.reconnectMax < b.reconnectMin { r.owner.report("max must not be less than min") }
            }
            if let v = broker.optional("connectTimeout")?.duration() { b.connectTimeout = v }
            if b.username == nil && (b.password != nil || b.passwordFile != nil) {
                broker.owner.report("a password needs a username")
            }
            config.broker = b
        }
        if let topics = map.optional("topics")?.mapping(allowed: topicKeys) {
            if let field = topics.optional("prefix"), let v = field.string() {
                if let problem = topicPrefixProblem(v) { field.report(problem) } else { config.topics.prefix = v }
            }
            if let v = topics.optional("homeAssistant")?.bool() { config.topics.homeAssistant = v }
            if let field = topics.optional("discoveryPrefix"), let v = field.string() {
                if let problem = topicPrefixProblem(v) { field.report(problem) } else { config.topics.discoveryPrefix = v }
            }
            if let v = topics.optional("edukit")?.bool() { config.topics.edukit = v }
            if let field = topics.optional("edukitThing"), let v = field.string() {
                if let problem = topicLevelProblem(v) { field.report(problem) } else { config.topics.edukitThing = v }
            }
        }
        if let decision = map.optional("decision")?.mapping(allowed: decisionKeys) {
            if let v = decision.optional("channel")?.string() { config.decision.channel = v }
            if let v = decision.optional("threshold")?.double() { config.decision.threshold = v }
            if let v = decision.optional("occupiedAfter")?.duration() { config.decision.occupiedAfter = v }
            if let v = decision.optional("vacantAfter")?.duration() { config.decision.vacantAfter = v }
            if let field = decision.optional("staleAfter"), let v = field.duration() {
                if v <= 0 { field.report("must be positive") } else { config.decision.staleAfter = v }
            }
            if let field = decision.optional("heartbeat"), let v = field.duration() {
                if v <= 0 { field.report("must be positive") } else { config.decision.heartbeat = v }
            }
        }
        if let telemetry = map.optional("telemetry")?.mapping(allowed: telemetryKeys) {
            if let field = telemetry.optional("interval"), let v = field.duration() {
                if v <= 0 { field.report("must be positive") } else { config.telemetryInterval = v }
            }
            if telemetry.optional("enabled")?.bool() == false { config.telemetryInterval = nil }
        }
        if let sensors = map.optional("sensors")?.mapping(allowed: sensorKeys) {
            let degraded = sensors.optional("degradedAfter")?.int(in: 1...10_000) ?? config.sensors.degradedAfter
            let failed = sensors.optional("failedAfter")?.int(in: 1...100_000) ?? config.sensors.failedAfter
            let stuck = sensors.optional("stuckAfter")?.duration() ?? config.sensors.stuckAfter
            if failed < degraded {
                sensors.owner.report("failedAfter (\(failed)) must not be less than degradedAfter (\(degraded))")
            } else {
                config.sensors = SensorSettings(degradedAfter: degraded, failedAfter: failed, stuckAfter: stuck)
            }
        }
        if let server = map.optional("server")?.mapping(allowed: serverKeys) { applyServer(server, to: &config) }
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
