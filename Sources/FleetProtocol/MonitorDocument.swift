/// What a gateway's monitor saw over one window of its clock: retained on `occupant/<gateway>/monitor`.
///
/// Shares are fractions of the window's samples (0…1). Figures that cannot be computed (no value in the window, no
/// model running, no baseline in the bundle) are absent rather than made up.
public struct MonitorDocument: Codable, Sendable, Equatable {
    public var gateway: String
    public var window: Window
    /// Input quality per channel of the profile.
    public var inputs: [String: Input]
    public var predictions: Predictions
    /// Per feature of the running bundle, when the bundle ships drift baselines.
    public var drift: [String: Drift]?
    /// The mean of max(p, 1 − p) over the window's probabilities (a label-free accuracy estimate); nil without any.
    public var expectedAccuracy: Double?
    /// The running bundle's own out-of-fold accuracy, for comparison with `expectedAccuracy`.
    public var bundleAccuracy: Double?
    /// `model:<id>@<version>` or `rule:…` at the end of the window.
    public var decidedBy: String?
    public var process: Process
    /// Realised accuracy against labels, added by the training host (see `Realised`); nil until measured.
    public var realised: Realised? = nil
    /// The shadow bundle's window, when one ran beside the active model.
    public var shadow: ShadowWindow?
    /// Stretches of the window in which a person's override (Home Assistant's select) forced the published decision;
    /// absent when there was none.
    public var overrides: [OverrideSpan]? = nil

    public init(
        gateway: String, window: Window, inputs: [String: Input], predictions: Predictions, drift: [String: Drift]?,
        expectedAccuracy: Double?, bundleAccuracy: Double?, decidedBy: String?, process: Process,
        shadow: ShadowWindow? = nil
    ) {
        self.gateway = gateway
        self.window = window
        self.inputs = inputs
        self.predictions = predictions
        self.drift = drift
        self.expectedAccuracy = expectedAccuracy
        self.bundleAccuracy = bundleAccuracy
        self.decidedBy = decidedBy
        self.process = process
        self.shadow = shadow
    }

    /// An override in force from `from` to `to` (clipped to the window), forcing `occupied`.
    public struct OverrideSpan: Codable, Sendable, Equatable {
        public var from: TimeValue
        public var to: TimeValue
        public var occupied: Bool
        public init(from: TimeValue, to: TimeValue, occupied: Bool) {
            self.from = from
            self.to = to
            self.occupied = occupied
        }
    }

    public struct Window: Codable, Sendable, Equatable {
        public var from: TimeValue
        public var to: TimeValue
        public var samples: Int
        public init(from: TimeValue, to: TimeValue, samples: Int) {
            self.from = from
            self.to = to
            self.samples = samples
        }
    }

    /// One channel's quality: `missing` (no valid value), `outOfRange` (rejected as outside the profile's range;
    /// also counted in `missing`), `stuck` (the value had not changed for at least the monitor's stuck time) as
    /// shares; `mean`, `min`, `max` of the numeric values (absent for categorical channels or without values).
    public struct Input: Codable, Sendable, Equatable {
        public var missing: Double
        public var outOfRange: Double
        public var stuck: Double
        public var mean: Double?
        public var min: Double?
        public var max: Double?
        public init(missing: Double, outOfRange: Double, stuck: Double, mean: Double?, min: Double?, max: Double?) {
            self.missing = missing
            self.outOfRange = outOfRange
            self.stuck = stuck
            self.mean = mean
            self.min = min
            self.max = max
        }
    }

    /// The distribution of what the scorer said: mean probability, share of occupied decisions, published state
    /// changes, and counts of probabilities in ten equal-width bins (0–0.1 … 0.9–1).
    public struct Predictions: Codable, Sendable, Equatable {
        public var meanProbability: Double?
        public var positiveRate: Double?
        public var transitions: Int
        public var histogram: [Int]
        /// Samples with no decision (stale inputs).
        public var stale: Int
        public init(meanProbability: Double?, positiveRate: Double?, transitions: Int, histogram: [Int], stale: Int) {
            self.meanProbability = meanProbability
            self.positiveRate = positiveRate
            self.transitions = transitions
            self.histogram = histogram
            self.stale = stale
        }
    }

    /// One feature's drift over the window: the distance of its histogram from the bundle's, and the bundle's threshold.
    public struct Drift: Codable, Sendable, Equatable {
        public var score: Double
        public var threshold: Double?
        public var drifted: Bool
        public init(score: Double, threshold: Double?, drifted: Bool) {
            self.score = score
            self.threshold = threshold
            self.drifted = drifted
        }
    }

    /// The gateway process from `/proc/self`: CPU time (user + system), resident memory, time since start.
    public struct Process: Codable, Sendable, Equatable {
        public var cpuSeconds: Double?
        public var rssBytes: Int?
        public var uptimeSeconds: Double?
        public init(cpuSeconds: Double?, rssBytes: Int?, uptimeSeconds: Double?) {
            self.cpuSeconds = cpuSeconds
            self.rssBytes = rssBytes
            self.uptimeSeconds = uptimeSeconds
        }
    }
}

/// `GET /v1/gateways/{id}/monitor[?since=T]`: the gateway's stored monitor windows, oldest first.
public struct MonitorListing: Codable, Sendable, Equatable {
    public var gateway: String
    public var windows: [MonitorDocument]

    public init(gateway: String, windows: [MonitorDocument]) {
        self.gateway = gateway
        self.windows = windows
    }
}
