import Features
import OccupantCore

/// The human-readable half of a model bundle (JSON): identity, scope, features, decision policy, provenance,
/// feature statistics and golden vectors.
public struct BundleManifest: Codable, Sendable, Equatable {
    /// The bundle format this manifest belongs to (same as the container's).
    public var formatVersion: Int
    /// Names the model line, e.g. `office-3f-occupancy`.
    public var modelID: String
    /// Monotonically increasing per `modelID`; a gateway only activates a newer version.
    public var version: Int
    public var scope: Scope
    /// ISO-8601 creation time.
    public var created: String
    /// The ordered inputs; `features.features.count` equals the model's feature count.
    public var features: FeatureSchema
    public var policy: DecisionPolicy
    /// Maps the model's probability to a calibrated one (nil: used as is). Needs format 2.
    public var calibration: Calibrator?
    public var provenance: Provenance?
    /// Per-feature training distribution, for drift checks.
    public var featureStatistics: [FeatureStatistics]?
    /// Rows with the exact scores the trainer/exporter computed; checked before activation.
    public var golden: [GoldenVector]
    /// ISO-8601 time after which the model must not be activated.
    public var expires: String?
    /// The training report, for bundles made by `occupant train`.
    public var training: TrainingSummary?
    /// What the per-feature drift thresholds were calibrated for; nil when the bundle has none.
    public var drift: DriftCalibration? = nil

    public init(
        modelID: String, version: Int, scope: Scope = .fleet, created: Instant, features: FeatureSchema,
        policy: DecisionPolicy, calibration: Calibrator? = nil, provenance: Provenance? = nil,
        featureStatistics: [FeatureStatistics]? = nil,
        golden: [GoldenVector], expires: Instant? = nil, training: TrainingSummary? = nil
    ) {
        self.training = training
        self.formatVersion = Int(ModelBundle.oldestFormatVersion)
        self.modelID = modelID
        self.version = version
        self.scope = scope
        self.created = created.iso8601
        self.features = features
        self.policy = policy
        self.calibration = calibration
        self.provenance = provenance
        self.featureStatistics = featureStatistics
        self.golden = golden
        self.expires = expires?.iso8601
    }

    /// `created` as an instant (nil if it does not parse; `decode` refuses such manifests).
    public var createdAt: Instant? { Instant(iso8601: created) }
    public var expiresAt: Instant? { expires.flatMap { Instant(iso8601: $0) } }

    /// Where the model applies.
    public struct Scope: Codable, Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Codable, Sendable, CaseIterable { case fleet, site, room, gateway }
        public var kind: Kind
        /// The site, room or gateway id; nil for fleet-wide.
        public var id: String?

        public init(kind: Kind, id: String? = nil) {
            self.kind = kind
            self.id = id
        }

        public static let fleet = Scope(kind: .fleet)
        public var description: String { id.map { "\(kind.rawValue) \($0)" } ?? kind.rawValue }
    }

    /// How a probability becomes the published state.
    public struct DecisionPolicy: Codable, Sendable, Equatable {
        /// Occupied when probability ≥ threshold.
        public var threshold: Double
        /// Seconds the raw decision must hold before vacant → occupied.
        public var occupiedAfter: Double
        /// Seconds the raw decision must hold before occupied → vacant.
        public var vacantAfter: Double

        public init(threshold: Double = 0.5, occupiedAfter: Double = 0, vacantAfter: Double = 300) {
            self.threshold = threshold
            self.occupiedAfter = occupiedAfter
            self.vacantAfter = vacantAfter
        }
    }

    /// How the model was made; all optional, imported models may know none of it.
    public struct Provenance: Codable, Sendable, Equatable {
        /// e.g. `occupant-train 0.3` or `xgboost 3.2.0 binary:logistic (imported)`.
        public var source: String?
        public var dataFrom: String?
        public var dataTo: String?
        public var trainingRows: Int?
        public var validationRows: Int?
        /// On the validation rows.
        public var metrics: Metrics?
        /// The static rule on the same validation rows.
        public var staticRuleBaseline: Metrics?

        public init(
            source: String? = nil, dataFrom: String? = nil, dataTo: String? = nil, trainingRows: Int? = nil,
            validationRows: Int? = nil, metrics: Metrics? = nil, staticRuleBaseline: Metrics? = nil
        ) {
            self.source = source
            self.dataFrom = dataFrom
            self.dataTo = dataTo
            self.trainingRows = trainingRows
            self.validationRows = validationRows
            self.metrics = metrics
            self.staticRuleBaseline = staticRuleBaseline
        }
    }

    /// Classification quality on held-out rows.
    public struct Metrics: Codable, Sendable, Equatable {
        public var accuracy: Double?
        public var precision: Double?
        public var recall: Double?
        public var f1: Double?
        public var auc: Double?
        public var confusion: ConfusionMatrix?

        public init(
            accuracy: Double? = nil, precision: Double? = nil, recall: Double? = nil, f1: Double? = nil,
            auc: Double? = nil, confusion: ConfusionMatrix? = nil
        ) {
            self.accuracy = accuracy
            self.precision = precision
            self.recall = recall
            self.f1 = f1
            self.auc = auc
            self.confusion = confusion
        }
    }

    /// Counts of (predicted, actual) pairs.
    public struct ConfusionMatrix: Codable, Sendable, Equatable {
        public var truePositive: Int
        public var falsePositive: Int
        public var trueNegative: Int
        public var falseNegative: Int

        public init(truePositive: Int, falsePositive: Int, trueNegative: Int, falseNegative: Int) {
            self.truePositive = truePositive
            self.falsePositive = falsePositive
            self.trueNegative = trueNegative
            self.falseNegative = falseNegative
        }
    }

    /// One feature's training distribution.
    public struct FeatureStatistics: Codable, Sendable, Equatable {
        public var name: String
        public var count: Int?
        public var missing: Int?
        /// e.g. p = 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99.
        public var quantiles: [Quantile]?
        /// Training counts on fixed bins (edges from training quantiles); missing values are in `missing`.
        public var histogram: Histogram?
        /// The drift score (see `DriftDistance`) above which a window counts as drifted; nil when not calibrated.
        public var driftThreshold: Double?

        public init(
            name: String, count: Int? = nil, missing: Int? = nil, quantiles: [Quantile]? = nil,
            histogram: Histogram? = nil, driftThreshold: Double? = nil
        ) {
            self.name = name
            self.count = count
            self.missing = missing
            self.quantiles = quantiles
            self.histogram = histogram
            self.driftThreshold = driftThreshold
        }
    }

    public struct Quantile: Codable, Sendable, Equatable {
        public var p: Double
        public var value: Double
        public init(p: Double, value: Double) {
            self.p = p
            self.value = value
        }
    }

    /// How the drift thresholds were calibrated: a window of `windowSeconds` holding about `samplesPerWindow` samples,
    /// scored with `distance`; an unshifted window exceeds any feature's threshold with probability at most
    /// `falseAlarmRate` (all features together).
    public struct DriftCalibration: Codable, Sendable, Equatable {
        public var windowSeconds: Double
        public var samplesPerWindow: Int
        /// `jensen-shannon` (base 2, in [0, 1]).
        public var distance: String
        public var falseAlarmRate: Double
        /// `moving-block bootstrap` and its block length in rows.
        public var method: String?

        public init(
            windowSeconds: Double, samplesPerWindow: Int, distance: String, falseAlarmRate: Double,
            method: String? = nil
        ) {
            self.windowSeconds = windowSeconds
            self.samplesPerWindow = samplesPerWindow
            self.distance = distance
            self.falseAlarmRate = falseAlarmRate
            self.method = method
        }
    }

    /// `counts[i]` values fell in bin `i` of `edges` (see `DriftDistance.bin`): `edges[i] ..< edges[i + 1]`, the first
    /// and last bins open-ended.
    public struct Histogram: Codable, Sendable, Equatable {
        public var edges: [Double]
        public var counts: [Int]
        public init(edges: [Double], counts: [Int]) {
            self.edges = edges
            self.counts = counts
        }
    }
}

/// One input row and the probability the exporter computed for it. Missing values are `null` in JSON, NaN here.
public struct GoldenVector: Codable, Sendable, Equatable {
    public var features: [Double]
    public var probability: Double

    public init(features: [Double], probability: Double) {
        self.features = features
        self.probability = probability
    }

    enum CodingKeys: String, CodingKey { case features, probability }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        features = try c.decode([Double?].self, forKey: .features).map { $0 ?? .nan }
        probability = try c.decode(Double.self, forKey: .probability)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(features.map { $0.isNaN ? nil : $0 }, forKey: .features)
        try c.encode(probability, forKey: .probability)
    }

    public static func == (a: GoldenVector, b: GoldenVector) -> Bool {
        a.probability == b.probability && a.features.count == b.features.count
            && zip(a.features, b.features).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
    }
}
