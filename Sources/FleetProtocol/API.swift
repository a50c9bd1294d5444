/// The training host's HTTP API: paths, route patterns and header names. Ids in paths are percent-encoded here and
/// nowhere else (`pathSegment`); the server decodes its path parameters with `decodePathSegment`.
///
/// - `POST /v1/gateways/{id}/telemetry` — NDJSON of `TelemetryDocument`; `Batch-ID` makes a resend harmless →
///   `TelemetryReceipt`.
/// - `POST /v1/labels` — `LabelDocument`s (gateway: its own; admin: any), or `text/csv` (admin) → `LabelsReceipt`.
/// - `GET  /v1/gateways/{id}/model` — the bundle to run: `ETag`, `304`, `Range`/`206`; `204` when there is none.
/// - `GET  /v1/models[?scope=S]` → `RegistryListing`, `GET /v1/gateways` → `GatewayListing`,
///   `POST /v1/scopes/{scope}/retrain` → `RetrainOutcome`, `GET /v1/stats` → `ServerStats` — admin.
/// - `POST /v1/scopes/{scope}/promote` (`PromoteRequest`) → `RolloutDocument` — admin.
/// - `GET  /v1/scopes/{scope}/rollout` → `RolloutDocument`, `POST /v1/scopes/{scope}/rollout/{action}` (`abort`,
///   `resume`, `rollback`) → `RolloutDocument` — admin.
/// - `GET  /v1/alerts[?open=true]` → `AlertListing`, `POST /v1/alerts/{id}/ack` → `AlertDocument` — admin.
/// - `GET  /v1/gateways/{id}/shadow` — the bundle to score in shadow, like `…/model` (`204` when none).
/// - `GET|PUT /v1/scopes/{scope}/shadow` → `ShadowListing` / `ShadowAssignment` in — admin.
/// - `GET  /v1/gateways/{id}/monitor[?since=T]` → `MonitorListing` (the gateway's stored monitor windows) — admin.
/// - `POST /v1/gateways/{id}/monitor` — one closed `MonitorDocument` from the gateway's spool (its token, or the
///   admin's); stored once per window start, so a resend is harmless → `MonitorReceipt`.
/// - `GET  /v1/fleet[?scope=S&state=…&sort=…&order=…&page=N]` → `FleetDocument`, `POST /v1/dashboard/login-link` →
///   `DashboardLoginLink` (a one-time dashboard login) — admin.
/// - `GET  /metrics` — the Prometheus text format; admin token or `metrics.token` (or none with `metrics.open`).
public enum API {
    /// Route patterns as the server registers them (`:name` is a path parameter).
    public enum Route {
        public static let health = "/health"
        public static let gatewayTelemetry = "/v1/gateways/:id/telemetry"
        public static let gatewayModel = "/v1/gateways/:id/model"
        public static let gatewayMonitor = "/v1/gateways/:id/monitor"
        public static let gatewayShadow = "/v1/gateways/:id/shadow"
        public static let scopeShadow = "/v1/scopes/:scope/shadow"
        public static let labels = "/v1/labels"
        public static let models = "/v1/models"
        public static let gateways = "/v1/gateways"
        public static let retrain = "/v1/scopes/:scope/retrain"
        public static let rollout = "/v1/scopes/:scope/rollout"
        public static let promote = "/v1/scopes/:scope/promote"
        public static let rolloutAction = "/v1/scopes/:scope/rollout/:action"
        public static let stats = "/v1/stats"
        public static let alerts = "/v1/alerts"
        public static let alertAck = "/v1/alerts/:id/ack"
        public static let metrics = "/metrics"
        public static let fleet = "/v1/fleet"
        public static let dashboardLoginLink = "/v1/dashboard/login-link"
        public static let gatewayTimeline = "/v1/gateways/:id/timeline"
    }

    /// Header names beyond the standard ones.
    public enum Header {
        /// The spool's batch id: the same bytes under the same id are stored once.
        public static let batchID = "Batch-ID"
        /// `modelID@version` of the bundle served.
        public static let occupantModel = "X-Occupant-Model"
    }

    /// The longest `Batch-ID` the server accepts, in bytes.
    public static let maxBatchIDBytes = 200

    public static let health = Route.health
    public static let labels = Route.labels
    public static let gateways = Route.gateways
    public static let stats = Route.stats
    public static let metrics = Route.metrics

    /// `/v1/alerts`, or `/v1/alerts?open=true`.
    public static func alerts(open: Bool) -> String { open ? "\(Route.alerts)?open=true" : Route.alerts }
    /// `/v1/alerts/{id}/ack`.
    public static func alertAck(_ id: Int) -> String { "\(Route.alerts)/\(id)/ack" }

    /// `/v1/gateways/{id}/model`.
    public static func gatewayModel(_ gateway: String) -> String { "/v1/gateways/\(pathSegment(gateway))/model" }
    /// `/v1/gateways/{id}/shadow`: the bundle to score in shadow (like `…/model`; `204` when none).
    /// `/v1/gateways/{id}/timeline?hours=N` (the dashboard's Gateway screen).
    public static func gatewayTimeline(_ gateway: String, hours: Int) -> String {
        "/v1/gateways/\(pathSegment(gateway))/timeline?hours=\(hours)"
    }

    public static func gatewayShadow(_ gateway: String) -> String { "/v1/gateways/\(pathSegment(gateway))/shadow" }
    /// `/v1/scopes/{scope}/shadow`: the scope's shadow assignments and evidence (`GET`), or assign one (`PUT`).
    public static func scopeShadow(_ scope: String) -> String { "/v1/scopes/\(pathSegment(scope))/shadow" }
    /// `/v1/gateways/{id}/monitor`, or with `?since=T` (ISO-8601 or Unix seconds): windows ending after T.
    public static func gatewayMonitor(_ gateway: String, since: String? = nil) -> String {
        let path = "/v1/gateways/\(pathSegment(gateway))/monitor"
        return since.map { "\(path)?since=\(pathSegment($0))" } ?? path
    }
    /// `/v1/gateways/{id}/telemetry`.
    public static func gatewayTelemetry(_ gateway: String) -> String {
        "/v1/gateways/\(pathSegment(gateway))/telemetry"
    }
    /// `/v1/scopes/{scope}/retrain`.
    public static func retrain(scope: String) -> String { "/v1/scopes/\(pathSegment(scope))/retrain" }
    /// `/v1/scopes/{scope}/promote`.
    public static func promote(scope: String) -> String { "/v1/scopes/\(pathSegment(scope))/promote" }
    /// `/v1/scopes/{scope}/rollout`, or `/v1/scopes/{scope}/rollout/{action}`.
    public static func rollout(scope: String, action: RolloutDocument.Action? = nil) -> String {
        let path = "/v1/scopes/\(pathSegment(scope))/rollout"
        return action.map { "\(path)/\($0.rawValue)" } ?? path
    }
    /// `/v1/models`, or `/v1/models?scope=S`.
    public static func models(scope: String?) -> String {
        scope.map { "\(Route.models)?scope=\(pathSegment($0))" } ?? Route.models
    }

    /// `base` (`http://host:port`, a trailing slash tolerated) followed by `path`.
    public static func url(_ base: String, _ path: String) -> String {
        (base.hasSuffix("/") ? String(base.dropLast()) : base) + path
    }

    /// An id as one URL path segment: unreserved ASCII (`A-Z a-z 0-9 - . _ ~`) stays, every other byte of its UTF-8
    /// is `%XX`.
    public static func pathSegment(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(digits[Int(byte >> 4)])
                out.unicodeScalars.append(digits[Int(byte & 0xF)])
            }
        }
        return out
    }

    /// The inverse of `pathSegment`: `%XX` → the byte; nil when an escape is malformed or the bytes are not UTF-8.
    public static func decodePathSegment(_ text: some StringProtocol) -> String? {
        guard text.contains("%" as Character) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return Array(text.utf8) == bytes ? text : nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
