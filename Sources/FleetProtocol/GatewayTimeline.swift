/// `GET /v1/gateways/{id}/timeline[?hours=24]` (admin or viewer token): what the dashboard's Gateway screen shows for
/// the span up to the gateway's newest monitor window (its clock). Times are Unix seconds.
///
/// The server does not receive the states a gateway publishes: `states` and `probability` are the gateway's telemetry
/// replayed through the bundle its monitor windows name (`replayedWith`), as realised accuracy measures it; spans
/// decided by a rule or by a bundle the registry does not have are in `unreplayed`. A person's Home Assistant
/// override is not reported to the server, so the replay shows the model's own decision there.
public struct GatewayTimeline: Codable, Sendable, Equatable {
    /// A replayed state held from `from` to `to` (nil `occupied`: the model could not score those rows, or the state
    /// changed inside a merged run).
    public struct StateRun: Codable, Sendable, Equatable {
        public var from: Double
        public var to: Double
        public var occupied: Bool?
        /// `model:<id>@<version>` replayed.
        public var model: String
        /// When more than 1,000 runs fell in the span (a flapping model), runs shorter than 1/1,000 of it were merged:
        /// how many runs this one stands for (absent when it is one).
        public var merged: Int? = nil

        public init(from: Double, to: Double, occupied: Bool?, model: String) {
            self.from = from
            self.to = to
            self.occupied = occupied
            self.model = model
        }
    }

    /// A span the server could not replay, and why.
    public struct Gap: Codable, Sendable, Equatable {
        public var from: Double
        public var to: Double
        /// The windows' `decidedBy` (`rule:…`, a model), nil when they name none.
        public var decidedBy: String?
        public var reason: String

        public init(from: Double, to: Double, decidedBy: String?, reason: String) {
            self.from = from
            self.to = to
            self.decidedBy = decidedBy
            self.reason = reason
        }
    }

    /// One time bucket of a series: the lowest, highest and mean value of its rows.
    public struct Bucket: Codable, Sendable, Equatable {
        public var from: Double
        public var to: Double
        public var min: Double
        public var max: Double
        public var mean: Double
        public var rows: Int

        public init(from: Double, to: Double, min: Double, max: Double, mean: Double, rows: Int) {
            self.from = from
            self.to = to
            self.min = min
            self.max = max
            self.mean = mean
            self.rows = rows
        }
    }

    /// A label span; `correction` when a person pressed a correction button in Home Assistant.
    public struct Label: Codable, Sendable, Equatable {
        public var from: Double
        public var to: Double
        public var occupied: Bool
        public var source: String
        public var correction: Bool

        public init(from: Double, to: Double, occupied: Bool, source: String, correction: Bool) {
            self.from = from
            self.to = to
            self.occupied = occupied
            self.source = source
            self.correction = correction
        }
    }

    /// An input channel over the span: numbers bucketed (`buckets`), text as its values' changes (`changes`).
    public struct Channel: Codable, Sendable, Equatable {
        public var name: String
        public var rows: Int
        public var buckets: [Bucket]
        /// Text channels: each value and when it began (at most `maxPoints`).
        public var changes: [Change]

        public init(name: String, rows: Int, buckets: [Bucket], changes: [Change]) {
            self.name = name
            self.rows = rows
            self.buckets = buckets
            self.changes = changes
        }

        public struct Change: Codable, Sendable, Equatable {
            public var at: Double
            public var value: String

            public init(at: Double, value: String) {
                self.at = at
                self.value = value
            }
        }
    }

    /// One monitor window's accuracy: the gateway's label-free estimate and, once labels arrived, the realised one.
    public struct Accuracy: Codable, Sendable, Equatable {
        public var to: Double
        public var estimated: Double?
        public var realised: Double?
        public var realisedRows: Int?

        public init(to: Double, estimated: Double?, realised: Double?, realisedRows: Int?) {
            self.to = to
            self.estimated = estimated
            self.realised = realised
            self.realisedRows = realisedRows
        }
    }

    /// An event in the gateway's model history: `decides` (its windows name a new `decidedBy`), `rolledBack` (its
    /// guard took a version back), `probation` (started or passed in the scope's rollout), `refused` (its last status
    /// refused a bundle).
    /// A person's override in force on the gateway (from its monitor windows), forcing `occupied`.
    public struct Override: Codable, Sendable, Equatable {
        public var from: Double
        public var to: Double
        public var occupied: Bool
        public init(from: Double, to: Double, occupied: Bool) {
            self.from = from
            self.to = to
            self.occupied = occupied
        }
    }

    public struct Event: Codable, Sendable, Equatable {
        public var at: Double
        public var kind: String
        /// `modelID@version`, `rule:…`, or `v<N>`.
        public var model: String?
        /// The registry version it names, when it does (for a link to the Models screen).
        public var version: Int?
        public var detail: String

        public init(at: Double, kind: String, model: String?, version: Int?, detail: String) {
            self.at = at
            self.kind = kind
            self.model = model
            self.version = version
            self.detail = detail
        }
    }

    /// The gateway process as last reported: from its newest monitor window (CPU, RSS, uptime) and its status
    /// (`spoolBacklog`, newer gateways only).
    public struct Process: Codable, Sendable, Equatable {
        public var at: Double?
        public var cpuSeconds: Double?
        public var rssBytes: Int?
        public var uptimeSeconds: Double?
        public var spoolBacklog: Int?

        public init(at: Double?, cpuSeconds: Double?, rssBytes: Int?, uptimeSeconds: Double?, spoolBacklog: Int?) {
            self.at = at
            self.cpuSeconds = cpuSeconds
            self.rssBytes = rssBytes
            self.uptimeSeconds = uptimeSeconds
            self.spoolBacklog = spoolBacklog
        }
    }

    /// Points kept per series (buckets of the span).
    public static let maxPoints = 300

    public var gateway: String
    public var scope: String
    public var from: Double
    public var to: Double
    /// The bundles replayed (`model:<id>@<version>`), in time order.
    public var replayedWith: [String]
    public var states: [StateRun]
    /// The replayed probability of occupancy (0…1), bucketed.
    public var probability: [Bucket]
    public var unreplayed: [Gap]
    public var labels: [Label]
    /// The shadow's decision runs from the windows' `shadow` members (the gateway's own record, not a replay).
    public var shadow: [ShadowWindow.Run]
    /// `modelID@version` of the shadow bundle(s) scored in the span.
    public var shadowModels: [String]
    public var channels: [Channel]
    public var accuracy: [Accuracy]
    public var history: [Event]
    public var process: Process
    /// Overrides in force in the span, from the windows' `overrides` (gateways before them send none).
    public var overrides: [Override] = []

    public init(
        gateway: String, scope: String, from: Double, to: Double, replayedWith: [String], states: [StateRun],
        probability: [Bucket], unreplayed: [Gap], labels: [Label], shadow: [ShadowWindow.Run], shadowModels: [String],
        channels: [Channel], accuracy: [Accuracy], history: [Event], process: Process
    ) {
        self.gateway = gateway
        self.scope = scope
        self.from = from
        self.to = to
        self.replayedWith = replayedWith
        self.states = states
        self.probability = probability
        self.unreplayed = unreplayed
        self.labels = labels
        self.shadow = shadow
        self.shadowModels = shadowModels
        self.channels = channels
        self.accuracy = accuracy
        self.history = history
        self.process = process
    }
}
