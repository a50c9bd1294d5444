import OccupantCore
import Sensors

/// One `apply` per section of the gateway configuration (see `GatewayConfig.parse(yaml:)`).
extension GatewayConfig {
    /// `bus:` or `simulate:` — where samples come from.
    static func applySource(_ map: FieldMap, to config: inout GatewayConfig) {
        if map.optional("bus") != nil && map.optional("simulate") != nil {
            map.owner.report("give either 'bus' or 'simulate', not both")
        }
        if let bus = map.optional("bus")?.int(in: 0...255) { config.source = .bus(bus) }
        if let simulate = map.optional("simulate") {
            var scenario = "day"
            var speed = 1.0
            var seed: UInt64 = 1
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
    }

    /// `broker:` — host, port, credentials, TLS, reconnect and queue settings.
    static func applyBroker(_ broker: FieldMap, to config: inout GatewayConfig) {
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

    /// `topics:` — prefix, Home Assistant discovery and the EduKit shadow.
    static func applyTopics(_ topics: FieldMap, to config: inout GatewayConfig) {
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

    /// `decision:` — the static rule and the hysteresis.
    static func applyDecision(_ decision: FieldMap, to config: inout GatewayConfig) {
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

    /// `telemetry:` — how often a telemetry row is kept, or none.
    static func applyTelemetry(_ telemetry: FieldMap, to config: inout GatewayConfig) {
        if let field = telemetry.optional("interval"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { config.telemetryInterval = v }
        }
        if telemetry.optional("enabled")?.bool() == false { config.telemetryInterval = nil }
    }

    /// `sensors:` — when a channel counts as degraded, failed or stuck.
    static func applySensors(_ sensors: FieldMap, to config: inout GatewayConfig) {
        let degraded = sensors.optional("degradedAfter")?.int(in: 1...10_000) ?? config.sensors.degradedAfter
        let failed = sensors.optional("failedAfter")?.int(in: 1...100_000) ?? config.sensors.failedAfter
        let stuck = sensors.optional("stuckAfter")?.duration() ?? config.sensors.stuckAfter
        if failed < degraded {
            sensors.owner.report("failedAfter (\(failed)) must not be less than degradedAfter (\(degraded))")
        } else {
            config.sensors = SensorSettings(degradedAfter: degraded, failedAfter: failed, stuckAfter: stuck)
        }
    }

    /// `models.probation:` — how long a new model is on probation and the limits of its guards.
    static func applyProbation(_ p: FieldMap, to config: inout GatewayConfig) {
        func positive(_ key: String, _ set: (Double) -> Void) {
            guard let field = p.optional(key), let v = field.duration() else { return }
            if v <= 0 { field.report("must be positive") } else { set(v) }
        }
        positive("duration") { config.probation.duration = $0 }
        positive("stuckAfter") { config.probation.stuckAfter = $0 }
        positive("depthWindow") { config.probation.depthWindow = $0 }
        if let v = p.optional("maxTransitionsPerHour")?.int(in: 1...3600) { config.probation.maxTransitionsPerHour = v }
        if let v = p.optional("outOfRangeShare")?.double(in: 0...1) { config.probation.outOfRangeShare = v }
        if let v = p.optional("accuracyDrop")?.double(in: 0...1) { config.probation.accuracyDrop = v }
        if let v = p.optional("rollbackAfterProbation")?.bool() { config.probation.rollbackAfterProbation = v }
        if let v = p.optional("enabled")?.bool() { config.probation.enabled = v }
    }

    /// `monitor:` — the monitor's window (gateway clock), its Prometheus textfile, when a value counts as stuck.
    static func applyMonitor(_ monitor: FieldMap, to config: inout GatewayConfig) {
        if let field = monitor.optional("window"), let v = field.duration() {
            if v < 1 || v > 7 * 86_400 {
                field.report("must be between 1s and 7d, got \(formatNumber(v))s")
            } else {
                config.monitor.window = v
            }
        }
        if let field = monitor.optional("textfile"), let v = field.string() {
            if v.isEmpty || v.hasSuffix("/") {
                field.report("must be a file path, got '\(v)'")
            } else if !v.hasSuffix(".prom") {
                field.report("node_exporter's textfile collector reads only *.prom files, got '\(v)'")
            } else {
                config.monitor.textfile = v
            }
        }
        if let field = monitor.optional("stuckAfter"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { config.monitor.stuckAfter = v }
        }
        if let v = monitor.optional("enabled")?.bool() { config.monitor.enabled = v }
    }
}
