import OccupantCore

/// `occupant server run`'s settings: where state lives, the HTTP and MQTT endpoints, the gateways it knows and
/// their tokens, and the retraining, promotion and alert rules.
public struct ServerConfig: Sendable, Equatable {
    /// Holds the SQLite file `server.sqlite` and the content-addressed `artifacts/` folder.
    public var stateDirectory = "/var/lib/occupant-server"
    public var http = HTTP()
    /// nil: no MQTT (intake and delivery over HTTP only; no push).
    public var broker: Broker? = Broker()
    /// Topic prefix shared with the gateways (`occupant`).
    public var topicPrefix = "occupant"
    /// Private key from `occupant keys generate`; bundles are signed with it. Required to train.
    public var signingKey: String?
    /// SHA-256 (hex) of the admin token, or the token itself via `adminToken` (hashed when loaded).
    public var adminTokenHash: String?
    public var gateways: [Gateway] = [] {
        didSet { gatewayIndex = ServerConfig.index(gateways) }
    }
    /// `gateways` by id (the first of a repeated id, which loading refuses anyway): every request looks one up.
    private var gatewayIndex: [String: Int] = [:]
    public var intake = Intake()
    public var retrain = Retrain()
    public var promotion = Promotion()
    public var alerts = Alerts()
    public var metrics = Metrics()
    public var dashboard = Dashboard()
    /// SQLite in `stateDirectory` (the default), or a shared PostgreSQL database.
    public var storage = Storage.sqlite
    /// The file this was read from, if any.
    public var path: String?

    public init() {}

    public struct HTTP: Sendable, Equatable {
        public var host = "127.0.0.1"
        /// 0 = any free port (printed at start and written to `<stateDirectory>/http.port`).
        public var port = 8080
        /// The base URL gateways are told to download from; default `http(s)://host:port`.
        public var publicURL: String?
        public var certFile: String?
        public var keyFile: String?
        public var isTLS: Bool { certFile != nil }
        /// A connection that sends nothing for this long (no request, or a stalled body) is closed (seconds).
        public var idleTimeout = 30.0
        /// A request body must arrive in full within this long of its head, or the connection is closed (seconds).
        public var bodyTimeout = 120.0
        /// Open connections at most; nil: derived from the process's file limit at start (`HTTPLimits`).
        public var maxConnections: Int?
        /// Uploads (telemetry and labels) one token may have in progress at once; more get 429.
        public var uploadsPerToken = 4
    }

    public struct Broker: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 1883
        public var clientID = "occupant-server"
        public var username: String?
        public var password: String?
        public var caFile: String?
        /// Shared-subscription group: several server processes split the telemetry between them.
        public var shareGroup = "occupant-server"
    }

    public struct Gateway: Sendable, Equatable {
        public var id: String
        public var scope: String
        /// SHA-256 (hex) of the gateway's bearer token.
        public var tokenHash: String
        /// The token itself when the file gives `token` (not `tokenSha256`): also the gateway's MQTT password, which
        /// `occupant server broker-config` hashes into the broker's password file.
        public var token: String? = nil
    }

    public struct Intake: Sendable, Equatable {
        /// Largest request body accepted (bytes, after gzip is undone).
        public var maxBodyBytes = 8 << 20
        /// Readings stamped further than this in the future are refused (seconds).
        public var maxFutureSkew = 300.0
        /// Most channels in one telemetry row.
        public var maxChannels = 256
        /// Longest channel name (bytes).
        public var maxChannelNameBytes = 64
        /// Largest label message (bytes): one MQTT `labels` message or one label request body (JSON or CSV).
        public var maxLabelBytes = 1 << 20
        /// Most label ranges in one message.
        public var maxLabelsPerMessage = 10_000
    }

    public struct Retrain: Sendable, Equatable {
        /// Retrain once this many newly labelled telemetry rows have arrived since the last training (0 = never).
        public var newLabelledRows = 2_000
        /// Retrain on a schedule as well (seconds; nil = only on new rows or command).
        public var every: Double?
        /// Search budget per job.
        public var trials = 40
        public var seed: UInt64 = 1
        /// The most recent fraction of labelled rows held out to compare challenger, champion and rule.
        public var holdout = 0.25
        /// Only rows from this far back are used (seconds; nil = all).
        public var window: Double?
        /// How often the trigger conditions are checked (seconds).
        public var checkInterval = 10.0
        /// Room models: when a gateway has enough labels of its own (`retrain.rooms`, `ModelRegistry+Rooms`).
        public var rooms = Rooms()
    }

    public struct Promotion: Sendable, Equatable {
        public enum Metric: String, Sendable, CaseIterable { case accuracy, f1, auc }
        public var metric = Metric.accuracy
        /// The challenger must beat the champion by at least this much on `metric`.
        public var margin = 0.005
        /// Staged rollout: the first wave, by name and/or by percentage of the scope's gateways (shorthand for
        /// `waves: [first, 100 %]`).
        public var firstWave: [String] = []
        public var firstWavePercent: Double?
        /// Staged rollout in waves, each by name and/or by cumulative percentage of the scope's gateways; a last wave
        /// of every gateway is implied. Empty: `firstWave` (or everyone at once).
        public var waves: [Wave] = []
        /// How long a wave's gateways run the new model, without rolling back or raising an alert, before the next
        /// wave gets it (seconds; match the gateways' `models.probation.duration`).
        public var probation = 24 * 3600.0
        /// The rollout stops, and the current wave goes back to the previous model, when more than this share of the
        /// wave rolled back or raised an alert.
        public var abortShare = 0.1

        public struct Wave: Sendable, Equatable {
            public var gateways: [String]
            public var percent: Double?

            public init(gateways: [String] = [], percent: Double? = nil) {
                self.gateways = gateways
                self.percent = percent
            }
        }

        /// The configured waves: `waves`, or `firstWave` followed by everyone, or everyone at once.
        public var plannedWaves: [Wave] {
            if !waves.isEmpty { return waves }
            if firstWave.isEmpty && firstWavePercent == nil { return [] }
            return [Wave(gateways: firstWave, percent: firstWavePercent)]
        }
        /// Promotion also needs shadow evidence on the first wave (nil: the holdout decides alone).
        public var shadow: ShadowEvidenceRule?
    }

    /// `promotion.shadow`: a challenger that passes the holdout rule first runs in shadow on the first wave (every
    /// gateway of the scope without one); it is promoted only once each of those gateways has at least `rows`
    /// labelled samples of it in shadow and its realised accuracy there is at least the champion's plus `margin`.
    public struct ShadowEvidenceRule: Sendable, Equatable {
        public var rows = 500
        public var margin = 0.0
    }

    public struct Alerts: Sendable, Equatable {
        /// Alert when the champion's accuracy on newly labelled rows falls this far below its training baseline.
        public var margin = 0.05
        /// Fewest newly labelled rows before the champion's quality is judged.
        public var minimumRows = 500
        /// POSTed a JSON alert (the seeds used SNS for this).
        public var webhook: String?
        /// A `silent` alert for a configured gateway that sent no telemetry and no status for this long (seconds);
        /// nil: no such alert.
        public var silentAfter: Double?
        /// A `drift` alert when a feature drifted in this many consecutive monitor windows of a gateway.
        public var driftWindows = 3
        /// An `input` alert when a channel is missing or stuck in more than this share of a monitor window.
        public var inputShare = 0.5
    }

    /// Who may read `GET /metrics`: the admin token, `token` (a scraper's own), or anyone when `open`.
    public struct Metrics: Sendable, Equatable {
        public var tokenHash: String?
        public var open = false
        /// Per-gateway monitor gauges for at most this many gateways (those with the newest windows)…
        public var monitorGateways = 200
        /// …whose newest monitor window ended at most this long ago (seconds).
        public var monitorMaxAge = 86_400.0
    }

    public func gateway(_ id: String) -> Gateway? { gatewayIndex[id].map { gateways[$0] } }

    private static func index(_ gateways: [Gateway]) -> [String: Int] {
        var index: [String: Int] = [:]
        for (i, g) in gateways.enumerated() where index[g.id] == nil { index[g.id] = i }
        return index
    }
    public var scopes: [String] { Array(Set(gateways.map(\.scope))).sorted() }

    public var baseURL: String {
        if let url = http.publicURL { return url }
        return "\(http.isTLS ? "https" : "http")://\(http.host):\(http.port)"
    }
}
