/// `POST /v1/scopes/{scope}/promote` with `{"version": N, "by": "name"}`: an operator makes a stored version the
/// champion; its rollout starts as a promotion's would.
public struct PromoteRequest: Codable, Sendable, Equatable {
    public var version: Int
    public var by: String?

    public init(version: Int, by: String?) {
        self.version = version
        self.by = by
    }
}

/// `GET /v1/scopes/{scope}/rollout`: the scope's staged rollout wave by wave, and the gateways behind each number.
/// `POST /v1/scopes/{scope}/rollout/{action}` (`abort`, `resume`, `rollback`) answers the same document.
public struct RolloutDocument: Codable, Sendable, Equatable {
    /// What an operator can do to a rollout.
    public enum Action: String, Codable, Sendable, CaseIterable {
        /// Stop widening and take the version back from the current wave (earlier waves keep it).
        case abort
        /// Go on from the current wave after an abort.
        case resume
        /// Every gateway back to the previous version, the champion alias with it; final.
        case rollback
    }

    /// One gateway's place in the rollout. `state`: `pending` (its wave has not been offered the version),
    /// `installing` (offered, not yet reported running), `inProbation`, `passed`, `rolledBack` (its own guard took
    /// the version back: `reason` says which), `alerted` (an alert about it was raised while it ran the version), or
    /// `withdrawn` (an abort or rollback took it back).
    public struct Member: Codable, Sendable, Equatable {
        public var gateway: String
        public var state: String
        /// When it was first seen running the version (ISO-8601).
        public var since: String?
        public var reason: String?

        public init(gateway: String, state: String, since: String?, reason: String?) {
            self.gateway = gateway
            self.state = state
            self.since = since
            self.reason = reason
        }
    }

    public struct Wave: Codable, Sendable, Equatable {
        /// 1-based, as operators count.
        public var number: Int
        /// `pending`, `inProbation` (offered, not every gateway passed yet), `passed`, `aborted` or `rolledBack`.
        public var state: String
        /// Gateways per member state.
        public var counts: [String: Int]
        public var gateways: [Member]

        public init(number: Int, state: String, counts: [String: Int], gateways: [Member]) {
            self.number = number
            self.state = state
            self.counts = counts
            self.gateways = gateways
        }
    }

    public var scope: String
    public var version: Int
    /// The version the waves not yet reached run (nil: the static rule).
    public var previous: Int?
    /// `running`, `aborted`, `rolledBack` or `complete`.
    public var state: String
    public var reason: String?
    public var started: String
    public var probationSeconds: Double
    public var abortShare: Double
    public var waves: [Wave]

    public init(
        scope: String, version: Int, previous: Int?, state: String, reason: String?, started: String,
        probationSeconds: Double, abortShare: Double, waves: [Wave]
    ) {
        self.scope = scope
        self.version = version
        self.previous = previous
        self.state = state
        self.reason = reason
        self.started = started
        self.probationSeconds = probationSeconds
        self.abortShare = abortShare
        self.waves = waves
    }
}
