import Evaluator
import Foundation
import OccupantCore

extension ServerConfig {
    public static let defaultPath = "/etc/occupant/server.yaml"

    /// Reads a configuration file; every problem is reported with its key path and line.
    public static func load(path: String) throws(DocumentErrors) -> ServerConfig {
        let text = try readDocumentText(path: path, code: .configuration, what: "server configuration")
        var config = try parse(yaml: text, source: path)
        config.path = path
        return config
    }

    /// `path` if given; else the default file when it exists; else the built-in defaults.
    public static func loadOrDefault(path: String?) throws(DocumentErrors) -> ServerConfig {
        if let path { return try load(path: path) }
        if FileManager.default.isReadableFile(atPath: defaultPath) { return try load(path: defaultPath) }
        return try parse(yaml: "{}")
    }

    static let topKeys = [
        "stateDirectory", "http", "broker", "topicPrefix", "signingKey", "adminToken", "adminTokenSha256", "gateways",
        "intake", "retrain", "promotion", "alerts", "metrics", "dashboard",
        "storage",
    ]
    static let httpKeys = [
        "host", "port", "publicUrl", "tls", "idleTimeout", "bodyTimeout", "maxConnections", "uploadsPerToken",
    ]
    static let httpTLSKeys = ["certFile", "keyFile"]
    static let brokerKeys = ["enabled", "host", "port", "clientId", "username", "password", "caFile", "shareGroup"]
    static let gatewayKeys = ["id", "scope", "token", "tokenSha256"]
    static let intakeKeys = [
        "maxBodyBytes", "maxFutureSkew", "maxChannels", "maxChannelNameBytes", "maxLabelBytes", "maxLabelsPerMessage",
    ]
    static let retrainKeys = [
        "newLabelledRows", "every", "trials", "seed", "holdout", "window", "checkInterval", "rooms",
    ]
    static let promotionKeys = ["metric", "margin", "firstWave", "waves", "probation", "abortShare", "shadow"]
    static let shadowEvidenceKeys = ["rows", "margin"]
    static let waveKeys = ["gateways", "percent"]
    static let alertKeys = ["margin", "minimumRows", "webhook", "silentAfter", "driftWindows", "inputShare"]
    static let metricsKeys = ["token", "tokenSha256", "open", "monitorGateways", "monitorMaxAge"]

    /// Parses configuration YAML over the defaults.
    public static func parse(yaml: String, source: String = "server configuration") throws(DocumentErrors)
        -> ServerConfig
    {
        let reader = DocumentReader(text: yaml, source: source, code: .configuration)
        var config = ServerConfig()
        if let root = reader.root, let map = root.mapping(allowed: topKeys) {
            apply(map, to: &config)
        }
        try reader.finish()
        return config
    }

    /// Each section has its own `apply`, called in document order so the reported errors come in the same order.
    private static func apply(_ map: FieldMap, to config: inout ServerConfig) {
        if let v = map.optional("stateDirectory")?.string() { config.stateDirectory = v }
        if let http = map.optional("http")?.mapping(allowed: httpKeys) { config.apply(http: http) }
        if let broker = map.optional("broker")?.mapping(allowed: brokerKeys) { config.apply(broker: broker) }
        config.apply(access: map)
        if let list = map.optional("gateways")?.list() { config.apply(gateways: list) }
        if let intake = map.optional("intake")?.mapping(allowed: intakeKeys) { config.apply(intake: intake) }
        if let r = map.optional("retrain")?.mapping(allowed: retrainKeys) { config.apply(retrain: r) }
        if let p = map.optional("promotion")?.mapping(allowed: promotionKeys) { config.apply(promotion: p) }
        if let a = map.optional("alerts")?.mapping(allowed: alertKeys) { config.apply(alerts: a) }
        if let m = map.optional("metrics")?.mapping(allowed: metricsKeys) { config.apply(metrics: m) }
        if let d = map.optional("dashboard")?.mapping(allowed: dashboardKeys) { config.apply(dashboard: d) }
        if let s = map.optional("storage")?.mapping(allowed: storageKeys) { config.apply(storage: s) }
        // Cross-checks.
        for name in config.promotion.firstWave where config.gateway(name) == nil {
            map["promotion"]?.report("firstWave names '\(name)', which is not in gateways")
        }
        for (i, wave) in config.promotion.waves.enumerated() {
            for name in wave.gateways where config.gateway(name) == nil {
                map["promotion"]?.report("waves[\(i)] names '\(name)', which is not in gateways")
            }
        }
        if !config.promotion.waves.isEmpty
            && (!config.promotion.firstWave.isEmpty || config.promotion.firstWavePercent != nil)
        {
            map["promotion"]?.report("give either firstWave or waves, not both")
        }
        for g in config.gateways where g.tokenHash == config.adminTokenHash {
            map["gateways"]?.report("gateway '\(g.id)' has the admin token; give every gateway a token of its own")
        }
        config.checkDashboardToken(map)
    }
}

/// Tokens are stored and compared as SHA-256 hex, never in clear.
public func tokenHash(_ token: String) -> String {
    sha256Hex(Array(token.utf8))
}
