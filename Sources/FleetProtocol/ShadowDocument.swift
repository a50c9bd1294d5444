/// The `shadow` member of a monitor window: how a second bundle, scored on every sample beside the active model and
/// never published, did over the window.
///
/// `runs` is the window's decision timeline of both models: a new run starts at each sample where either decision
/// changes, so a window holds about as many runs as transitions. The server joins it with label spans to count, per
/// labelled sample, which model was right (`ShadowEvidence`); samples of one run are evenly spaced from `from` to `to`.
/// At most `ShadowWindow.maxRuns` runs are kept: a window that had more says `complete: false`, and the samples past
/// the last run are in no run.
public struct ShadowWindow: Codable, Sendable, Equatable {
    /// `modelID@version` of the shadow bundle.
    public var model: String
    public var version: Int
    public var sha256: String
    /// Samples the shadow gave a probability for.
    public var scored: Int
    /// Samples where both the shadow and the active model decided.
    public var compared: Int
    /// The share of `compared` samples where the shadow's decision equals the active model's published one.
    public var agreement: Double?
    /// The shadow's own decision changes (its own threshold and hysteresis).
    public var transitions: Int
    public var meanProbability: Double?
    /// The mean of max(p, 1 − p) of the shadow's calibrated probabilities (label-free accuracy estimate).
    public var expectedAccuracy: Double?
    /// The shadow bundle's own out-of-fold accuracy, for comparison.
    public var bundleAccuracy: Double?
    /// Samples with no shadow decision (no valid input for its features).
    public var stale: Int
    public var runs: [Run]
    /// False when the window had more than `maxRuns` runs (the rest were not kept).
    public var complete: Bool
    /// Per feature of the shadow bundle, when it ships drift baselines (as the window's `drift` for the active one).
    public var drift: [String: MonitorDocument.Drift]?

    /// Runs kept per window (a model that flaps every sample would otherwise make the document as long as the window).
    public static let maxRuns = 2000

    public init(
        model: String, version: Int, sha256: String, scored: Int, compared: Int, agreement: Double?, transitions: Int,
        meanProbability: Double?, expectedAccuracy: Double?, bundleAccuracy: Double?, stale: Int, runs: [Run],
        complete: Bool, drift: [String: MonitorDocument.Drift]? = nil
    ) {
        self.drift = drift
        self.model = model
        self.version = version
        self.sha256 = sha256
        self.scored = scored
        self.compared = compared
        self.agreement = agreement
        self.transitions = transitions
        self.meanProbability = meanProbability
        self.expectedAccuracy = expectedAccuracy
        self.bundleAccuracy = bundleAccuracy
        self.stale = stale
        self.runs = runs
        self.complete = complete
    }

    /// Consecutive samples with the same pair of decisions: `n` samples from `from` to `to` (Unix seconds, gateway
    /// clock); `active`/`shadow` are nil where that model had no decision (stale).
    public struct Run: Codable, Sendable, Equatable {
        public var from: Double
        public var to: Double
        public var n: Int
        public var active: Bool?
        public var shadow: Bool?

        public init(from: Double, to: Double, n: Int, active: Bool?, shadow: Bool?) {
            self.from = from
            self.to = to
            self.n = n
            self.active = active
            self.shadow = shadow
        }

        /// How many of the run's samples lie in `[start, end)`.
        public func samples(from start: Double, to end: Double) -> Int {
            guard n > 0, end > start else { return 0 }
            if n == 1 || to <= from { return (start..<end).contains(from) ? n : 0 }
            let step = (to - from) / Double(n - 1)
            // Sample i is at from + i·step: the first i at or after start, the first i at or after end.
            let first = max(0, Int(((start - from) / step).rounded(.up)))
            let last = min(n, max(0, Int(((end - from) / step).rounded(.up))))
            return max(0, last - first)
        }
    }
}

/// The shadow assignment of a scope (`GET /v1/scopes/{scope}/shadow`): which version runs in shadow where, and the
/// evidence so far on each gateway.
public struct ShadowListing: Codable, Sendable, Equatable {
    public var scope: String
    /// The scope-wide shadow version, if any.
    public var version: Int?
    /// The version the promotion rule is waiting on shadow evidence for, if any.
    public var awaitingEvidence: Int?
    public var gateways: [Gateway]

    public init(scope: String, version: Int?, awaitingEvidence: Int?, gateways: [Gateway]) {
        self.scope = scope
        self.version = version
        self.awaitingEvidence = awaitingEvidence
        self.gateways = gateways
    }

    /// One gateway: its shadow assignment (its own or the scope's) and, per pair of active and shadow model seen in
    /// its monitor windows, the evidence.
    public struct Gateway: Codable, Sendable, Equatable {
        public var gateway: String
        /// `modelID@version` assigned as shadow; nil for none.
        public var assigned: String?
        /// True when the assignment is this gateway's own (not the scope's).
        public var own: Bool
        public var evidence: [Evidence]

        public init(gateway: String, assigned: String?, own: Bool, evidence: [Evidence]) {
            self.gateway = gateway
            self.assigned = assigned
            self.own = own
            self.evidence = evidence
        }
    }

    /// What the monitor windows of one (active, shadow) pair add up to, labels joined.
    public struct Evidence: Codable, Sendable, Equatable {
        /// The active model (`decidedBy` of the windows) and the shadow (`modelID@version`).
        public var active: String
        public var shadow: String
        public var windows: Int
        /// Samples where both decided, and the share where they agreed.
        public var compared: Int
        public var agreement: Double?
        public var shadowTransitions: Int
        public var shadowExpectedAccuracy: Double?
        /// Labelled samples where both decided, and each model's realised accuracy on them.
        public var labelled: Int
        public var activeAccuracy: Double?
        public var shadowAccuracy: Double?

        public init(
            active: String, shadow: String, windows: Int, compared: Int, agreement: Double?, shadowTransitions: Int,
            shadowExpectedAccuracy: Double?, labelled: Int, activeAccuracy: Double?, shadowAccuracy: Double?
        ) {
            self.active = active
            self.shadow = shadow
            self.windows = windows
            self.compared = compared
            self.agreement = agreement
            self.shadowTransitions = shadowTransitions
            self.shadowExpectedAccuracy = shadowExpectedAccuracy
            self.labelled = labelled
            self.activeAccuracy = activeAccuracy
            self.shadowAccuracy = shadowAccuracy
        }
    }
}

/// `PUT /v1/scopes/{scope}/shadow`: assign `version` as shadow to the scope, or to one `gateway` of it; a null
/// `version` clears that assignment.
public struct ShadowAssignment: Codable, Sendable, Equatable {
    public var version: Int?
    public var gateway: String?

    public init(version: Int?, gateway: String?) {
        self.version = version
        self.gateway = gateway
    }
}
