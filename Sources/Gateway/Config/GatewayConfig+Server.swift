import OccupantCore

extension GatewayConfig {
    /// The training host this gateway pulls models from and uploads telemetry to (`server:` in the configuration).
    public struct Server: Sendable, Equatable {
        /// `http://host:port` or `https://…`, without a trailing slash.
        public var url: String
        /// The gateway's bearer token, given inline…
        public var token: String?
        /// …or read from this file at start (trailing white space removed).
        public var tokenFile: String?
        /// Seconds between model polls, each randomly shortened or lengthened by up to `pollJitter` of it.
        public var pollInterval = 300.0
        public var pollJitter = 0.1
        /// Seconds between telemetry uploads, and the most rows one request carries.
        public var uploadInterval = 30.0
        public var uploadBatch = 500
        /// The most telemetry rows kept on disk while the server is away; the oldest go first.
        public var spoolLimit = 100_000
        /// Where telemetry goes: the server over HTTP, the broker, or both.
        public var telemetry = TelemetryRoute.http
        /// For `https://`: trust this CA (PEM) instead of the system's roots (a training host with a private CA).
        public var caFile: String?

        public init(url: String) { self.url = url }
    }

    /// Where telemetry samples are sent once a server is configured.
    public enum TelemetryRoute: String, Sendable, Equatable, CaseIterable {
        case http, mqtt, both

        public var usesHTTP: Bool { self != .mqtt }
        public var usesMQTT: Bool { self != .http }
    }

    /// Whether telemetry samples go to the broker (always, without a server).
    public var telemetryOverMQTT: Bool { server?.telemetry.usesMQTT ?? true }

    static let serverKeys = [
        "url", "token", "tokenFile", "pollInterval", "pollJitter", "uploadInterval", "uploadBatch", "spoolLimit",
        "telemetry", "caFile",
    ]

    static func applyServer(_ map: FieldMap, to config: inout GatewayConfig) {
        guard let urlField = map.required("url"), let url = urlField.string() else { return }
        var trimmed = url
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        if let problem = serverURLProblem(trimmed) {
            urlField.report(problem)
            return
        }
        var server = Server(url: trimmed)
        server.token = map.optional("token")?.string()
        server.tokenFile = map.optional("tokenFile")?.string()
        if server.token != nil && server.tokenFile != nil {
            map.owner.report("give either 'token' or 'tokenFile', not both")
        } else if server.token == nil && server.tokenFile == nil {
            map.owner.report("a server needs 'token' or 'tokenFile' (the gateway's bearer token)")
        } else if server.token?.isEmpty == true {
            map["token"]?.report("must not be empty")
        }
        if let field = map.optional("pollInterval"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { server.pollInterval = v }
        }
        if let v = map.optional("pollJitter")?.double(in: 0...0.5) { server.pollJitter = v }
        if let field = map.optional("uploadInterval"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { server.uploadInterval = v }
        }
        if let v = map.optional("uploadBatch")?.int(in: 1...100_000) { server.uploadBatch = v }
        if let v = map.optional("spoolLimit")?.int(in: 1...100_000_000) { server.spoolLimit = v }
        if let field = map.optional("telemetry"), let v = field.string() {
            if let route = TelemetryRoute(rawValue: v) {
                server.telemetry = route
            } else {
                field.report("expected one of http, mqtt, both, got '\(v)'")
            }
        }
        if let field = map.optional("caFile"), let v = field.string() {
            if !trimmed.hasPrefix("https://") {
                field.report("caFile is for an https:// url")
            } else {
                server.caFile = v
            }
        }
        config.server = server
    }
}

/// Why `url` cannot be the server's base URL.
func serverURLProblem(_ url: String) -> String? {
    let rest: Substring
    if url.hasPrefix("http://") {
        rest = url.dropFirst("http://".count)
    } else if url.hasPrefix("https://") {
        rest = url.dropFirst("https://".count)
    } else {
        return "expected an http:// or https:// URL, got '\(url)'"
    }
    let host = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    if host.isEmpty || host.hasPrefix(":") { return "'\(url)' has no host" }
    if url.contains(where: { "?# ".contains($0) }) {
        return "'\(url)' must be a plain base URL (no query, fragment or spaces)"
    }
    return nil
}
