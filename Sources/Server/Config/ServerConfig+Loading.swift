import Evaluator
import OccupantCore

import Foundation

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
        "intake", "retrain", "promotion", "alerts",
    ]
    static let httpKeys = ["host", "port", "publicUrl", "tls"]
    static let httpTLSKeys = ["certFile", "keyFile"]
    static let brokerKeys = ["enabled", "host", "port", "clientId", "username", "password", "caFile", "shareGroup"]
    static let gatewayKeys = ["id", "scope", "token", "tokenSha256"]
    static let intakeKeys = ["maxBodyBytes", "maxFutureSkew"]
    static let retrainKeys = ["newLabelledRows", "every", "trials", "seed", "holdout", "window", "checkInterval"]
    static let promotionKeys = ["metric", "margin", "firstWave"]
    static let waveKeys = ["gateways", "percent"]
    static let alertKeys = ["margin", "minimumRows", "webhook"]

    /// Parses configuration YAML over the defaults.
    public static func parse(yaml: String, source: String = "server configuration") throws(DocumentErrors) -> ServerConfig {
        let reader = DocumentReader(text: yaml, source: source, code: .configuration)
        var config = ServerConfig()
        if let root = reader.root, let map = root.mapping(allowed: topKeys) {
            apply(map, to: &config)
        }
        try reader.finish()
        return config
    }

    private static func apply(_ map: FieldMap, to config: inout ServerConfig) {
        if let v = map.optional("stateDirectory")?.string() { config.stateDirectory = v }
        if let http = map.optional("http")?.mapping(allowed: httpKeys) {
            if let v = http.optional("host")?.string() { config.http.host = v }
            if let v = http.optional("port")?.int(in: 0...65535) { config.http.port = v }
            if let field = http.optional("publicUrl"), let v = field.string() {
                if v.hasPrefix("http://") || v.hasPrefix("https://") {
                    config.http.publicURL = v.hasSuffix("/") ? String(v.dropLast()) : v
                } else {
                    field.report("'\(v)' is not an http:// or https:// URL")
                }
            }
            if let tls = http.optional("tls")?.mapping(allowed: httpTLSKeys) {
                config.http.certFile = tls.required("certFile")?.string()
                config.http.keyFile = tls.required("keyFile")?.string()
            }
        }
        if let broker = map.optional("broker")?.mapping(allowed: brokerKeys) {
            var b = Broker()
            if let v = broker.optional("host")?.string() { b.host = v }
            if let v = broker.optional("port")?.int(in: 1...65535) { b.port = v }
            if let v = broker.optional("clientId")?.string() { b.clientID = v }
            if let v = broker.optional("username")?.string() { b.username = v }
            if let v = broker.optional("password")?.string() { b.password = v }
            if let v = broker.optional("caFile")?.string() { b.caFile = v }
            if let field = broker.optional("shareGroup"), let v = field.string() {
                if v.isEmpty || v.contains(where: { "/+#".contains($0) }) {
                    field.report("'\(v)' cannot be a shared-subscription group (no '/', '+' or '#')")
                } else {
                    b.shareGroup = v
                }
            }
            config.broker = broker.optional("enabled")?.bool() == false ? nil : b
        }
        if let v = map.optional("topicPrefix")?.string() { config.topicPrefix = v }
        if let v = map.optional("signingKey")?.string() { config.signingKey = v }
        if let v = map.optional("adminToken")?.string() { config.adminTokenHash = tokenHash(v) }
        if let field = map.optional("adminTokenSha256"), let v = field.string() {
            if isSHA256Hex(v.lowercased()) { config.adminTokenHash = v.lowercased() } else { field.report("must be 64 hex digits") }
        }
        if let list = map.optional("gateways")?.list() {
            var seen = Set<String>()
            for item in list {
                guard let g = item.mapping(allowed: gatewayKeys), let id = g.required("id")?.string() else { continue }
                if id.isEmpty || id.contains(where: { "/+#".contains($0) }) {
                    g["id"]?.report("'\(id)' cannot be a gateway id (it is a topic level: no '/', '+' or '#')")
                    continue
                }
                if !seen.insert(id).inserted { g["id"]?.report("gateway '\(id)' is listed twice") }
                let scope = g.optional("scope")?.string() ?? "default"
                var hash: String?
                if let t = g.optional("token")?.string() { hash = tokenHash(t) }
                if let field = g.optional("tokenSha256"), let v = field.string() {
                    if isSHA256Hex(v.lowercased()) { hash = v.lowercased() } else { field.report("must be 64 hex digits") }
                }
                guard let hash else {
                    g.owner.report("gateway '\(id)' needs 'token' or 'tokenSha256'")
                    continue
                }
                config.gateways.append(Gateway(id: id, scope: scope, tokenHash: hash))
            }
        }
        if let intake = map.optional("intake")?.mapping(allowed: intakeKeys) {
            if let v = intake.optional("maxBodyBytes")?.int(in: 1024...(1 << 30)) { config.intake.maxBodyBytes = v }
            if let v = intake.optional("maxFutureSkew")?.duration() { config.intake.maxFutureSkew = v }
        }
        if let r = map.optional("retrain")?.mapping(allowed: retrainKeys) {
            if let v = r.optional("newLabelledRows")?.int(in: 0...100_000_000) { config.retrain.newLabelledRows = v }
            if let field = r.optional("every"), let v = field.duration() {
                if v <= 0 { field.report("must be positive") } else { config.retrain.every = v }
            }
            if let v = r.optional("trials")?.int(in: 1...10_000) { config.retrain.trials = v }
            if let v = r.optional("seed")?.int(in: 0...Int(Int32.max)) { config.retrain.seed = UInt64(v) }
            if let v = r.optional("holdout")?.double(in: 0.05...0.5) { config.retrain.holdout = v }
            if let field = r.optional("window"), let v = field.duration() {
                if v <= 0 { field.report("must be positive") } else { config.retrain.window = v }
            }
            if let field = r.optional("checkInterval"), let v = field.duration() {
                if v <= 0 { field.report("must be positive") } else { config.retrain.checkInterval = v }
            }
        }
        if let p = map.optional("promotion")?.mapping(allowed: promotionKeys) {
            if let v = p.optional("metric")?.choice(Promotion.Metric.allCases.map(\.rawValue)) {
                config.promotion.metric = Promotion.Metric(rawValue: v)!
            }
            if let v = p.optional("margin")?.double(in: -1...1) { config.promotion.margin = v }
            if let wave = p.optional("firstWave")?.mapping(allowed: waveKeys) {
                if let list = wave.optional("gateways")?.list() { config.promotion.firstWave = list.compactMap { $0.string() } }
                if let v = wave.optional("percent")?.double(in: 0...100) { config.promotion.firstWavePercent = v }
            }
        }
        if let a = map.optional("alerts")?.mapping(allowed: alertKeys) {
            if let v = a.optional("margin")?.double(in: 0...1) { config.alerts.margin = v }
            if let v = a.optional("minimumRows")?.int(in: 1...100_000_000) { config.alerts.minimumRows = v }
            if let field = a.optional("webhook"), let v = field.string() {
                if v.hasPrefix("http://") || v.hasPrefix("https://") {
                    config.alerts.webhook = v
                } else {
                    field.report("'\(v)' is not an http:// or https:// URL")
                }
            }
        }
        // Cross-checks.
        for name in config.promotion.firstWave where config.gateway(name) == nil {
            map["promotion"]?.report("firstWave names '\(name)', which is not in gateways")
        }
    }
}

/// Tokens are stored and compared as SHA-256 hex, never in clear.
public func tokenHash(_ token: String) -> String {
    sha256Hex(Array(token.utf8))
}

