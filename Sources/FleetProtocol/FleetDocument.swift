/// `GET /v1/fleet[?scope=S&state=online|offline|never&sort=id|scope|seen|model|alerts&order=asc|desc&page=N]`: counts
/// of the configured gateways by state and by active model, and one page of them (the dashboard's Fleet screen).
public struct FleetDocument: Codable, Sendable, Equatable {
    /// One gateway's row. `state`: `online` (heard from within `dashboard.onlineWithin`), `offline` (heard from
    /// before that) or `never`.
    public struct Gateway: Codable, Sendable, Equatable {
        public var id: String
        public var scope: String
        public var state: String
        /// When it was last heard from (ISO-8601).
        public var lastSeen: String?
        /// What it reported running (`modelID@version`), if it reported.
        public var active: String?
        /// Its wave in the scope's rollout (1-based), if it is in one.
        public var wave: Int?
        public var openAlerts: Int
        /// Its newest monitor window's label-free accuracy estimate (0…1), if any.
        public var estimatedAccuracy: Double?
        /// Features with an open `drift` alert.
        public var drifting: Int
        /// The shadow bundle its newest monitor window says it scored (`modelID@version`), if any.
        public var shadow: String?
        /// The registry version assigned to it as shadow (its own assignment, else its scope's), unless it is the
        /// version it reports running.
        public var shadowAssigned: Int?

        public init(
            id: String, scope: String, state: String, lastSeen: String?, active: String?, wave: Int?, openAlerts: Int,
            estimatedAccuracy: Double? = nil, drifting: Int = 0, shadow: String? = nil, shadowAssigned: Int? = nil
        ) {
            self.shadow = shadow
            self.shadowAssigned = shadowAssigned
            self.id = id
            self.scope = scope
            self.state = state
            self.lastSeen = lastSeen
            self.active = active
            self.wave = wave
            self.openAlerts = openAlerts
            self.estimatedAccuracy = estimatedAccuracy
            self.drifting = drifting
        }
    }

    /// Every configured gateway (no filter) by state.
    public var states: [String: Int]
    /// Every configured gateway by active model (`none` for those that never reported one).
    public var models: [String: Int]
    /// Gateways in conditions that overlap the states: `silent` (an open silent alert), `inProbation` (running the
    /// version of the scope's running rollout, probation not over), `rolledBack` (their guard took it back).
    public var conditions: [String: Int]
    /// Gateways that match the filter (all pages).
    public var matching: Int
    /// 1-based.
    public var page: Int
    public var pageSize: Int
    public var gateways: [Gateway]

    public init(
        states: [String: Int], models: [String: Int], conditions: [String: Int] = [:], matching: Int, page: Int,
        pageSize: Int, gateways: [Gateway]
    ) {
        self.states = states
        self.models = models
        self.conditions = conditions
        self.matching = matching
        self.page = page
        self.pageSize = pageSize
        self.gateways = gateways
    }
}

/// `POST /v1/dashboard/login-link` (admin): a one-time link that logs a browser into the dashboard.
public struct DashboardLoginLink: Codable, Sendable, Equatable {
    public var url: String
    /// The same without the server's base URL (`/dashboard/login?once=…`).
    public var path: String
    /// When the link stops working (ISO-8601); it works once.
    public var expires: String

    public init(url: String, path: String, expires: String) {
        self.url = url
        self.path = path
        self.expires = expires
    }
}
