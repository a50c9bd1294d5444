/// One alert with its lifecycle: raised once when its condition becomes true, cleared once when it stops, and
/// optionally acknowledged by an operator in between (or after). The same document is listed by `GET /v1/alerts`,
/// answered by `POST /v1/alerts/{id}/ack`, published on `<prefix>/alerts` and POSTed to the webhook — when raised
/// (`state: open`) and again when cleared (`state: cleared`).
public struct AlertDocument: Codable, Sendable, Equatable {
    /// What an alert is about. `accuracy`: the champion's realised accuracy on newly labelled rows is below its holdout
    /// by more than the margin; `silent`: a configured gateway sent no telemetry and no status for longer than
    /// `alerts.silentAfter`.
    public enum Kind {
        public static let accuracy = "accuracy"
        public static let silent = "silent"
        /// A feature drifted in `alerts.driftWindows` consecutive monitor windows (subject `<gateway>/<feature>`).
        public static let drift = "drift"
        /// A channel missing or stuck in more than `alerts.inputShare` of a monitor window (`<gateway>/<channel>`).
        public static let input = "input"
        /// A monitor window's label-free accuracy estimate below the bundle's out-of-fold accuracy by more than
        /// `alerts.margin` (subject `<gateway>`).
        public static let estimatedAccuracy = "estimatedAccuracy"
        /// A rollout stopped because too much of its current wave rolled back or raised alerts (subject `<scope>`);
        /// cleared when an operator resumes it.
        public static let rollout = "rollout"
        /// A gateway's guard tripped on a model past its probation, which keeps deciding (`guardAlert` on its
        /// `model/status`; subject `<gateway>/<guard>`); cleared when a status no longer carries it.
        public static let guardTripped = "guard"
        /// Every kind, for listings that count by kind.
        public static let all = [accuracy, silent, drift, input, estimatedAccuracy, rollout, guardTripped]
    }

    public var id: Int
    public var kind: String
    /// `open` or `cleared`.
    public var state: String
    public var scope: String
    /// The gateway it is about, when it is about one.
    public var gateway: String?
    /// The numbers that raised it (for `accuracy`: `measured`, `baseline`, `margin`, `rows`, `version`; for `silent`:
    /// `silentSeconds`, `silentAfterSeconds`).
    public var numbers: [String: Double]
    public var message: String
    public var raisedAt: String
    public var clearedAt: String?
    public var acknowledgedAt: String?
    public var acknowledgedBy: String?

    public init(
        id: Int, kind: String, scope: String, gateway: String?, numbers: [String: Double], message: String,
        raisedAt: String, clearedAt: String? = nil, acknowledgedAt: String? = nil, acknowledgedBy: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.state = clearedAt == nil ? "open" : "cleared"
        self.scope = scope
        self.gateway = gateway
        self.numbers = numbers
        self.message = message
        self.raisedAt = raisedAt
        self.clearedAt = clearedAt
        self.acknowledgedAt = acknowledgedAt
        self.acknowledgedBy = acknowledgedBy
    }

    public var isOpen: Bool { clearedAt == nil }
}

/// `GET /v1/alerts[?open=true]`: alerts, oldest first.
public struct AlertListing: Codable, Sendable, Equatable {
    public var alerts: [AlertDocument]

    public init(alerts: [AlertDocument]) { self.alerts = alerts }
}

/// `POST /v1/alerts/{id}/ack`'s optional body: who acknowledges (default `admin`).
public struct AlertAcknowledgement: Codable, Sendable, Equatable {
    public var by: String

    public init(by: String) { self.by = by }
}
