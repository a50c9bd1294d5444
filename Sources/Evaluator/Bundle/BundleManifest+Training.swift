extension BundleManifest {
    /// What `occupant train` did: the chosen configuration, its out-of-fold metrics next to the static rule, the
    /// ablation table when asked for, and the time it took. Optional: imported models and bundles written before it
    /// have none.
    public struct TrainingSummary: Codable, Sendable, Equatable {
        /// e.g. `trees [raw,levels] trees≤300 lr=0.1 depth=4 …`.
        public var chosen: String
        /// `trees` or `logistic`.
        public var family: String
        public var featureGroups: [String]
        /// The channels the features read (nil = every channel).
        public var channels: [String]?
        /// Named hyper-parameters of the chosen configuration (e.g. `learningRate`, `maxDepth`, `l2`).
        public var hyperParameters: [String: Double]
        public var threshold: Double
        /// Out-of-fold, at `threshold`.
        public var validation: Metrics
        /// e.g. `Light >= 365.125`, chosen on the training rows.
        public var baselineRule: String
        /// The rule re-chosen per fold, on the same validation rows.
        public var baselineValidation: Metrics
        public var beatsBaseline: Bool
        public var folds: Int
        public var trials: Int
        public var prunedTrials: Int
        /// How the chosen trial was picked among the trials.
        public var selection: String?
        public var ablation: [Ablation]?
        public var searchSeconds: Double
        public var finalFitSeconds: Double
        public var seed: UInt64

        public init(
            chosen: String, family: String, featureGroups: [String], channels: [String]?,
            hyperParameters: [String: Double], threshold: Double, validation: Metrics, baselineRule: String,
            baselineValidation: Metrics, beatsBaseline: Bool, folds: Int, trials: Int, prunedTrials: Int,
            selection: String?, ablation: [Ablation]?, searchSeconds: Double, finalFitSeconds: Double, seed: UInt64
        ) {
            self.chosen = chosen
            self.family = family
            self.featureGroups = featureGroups
            self.channels = channels
            self.hyperParameters = hyperParameters
            self.threshold = threshold
            self.validation = validation
            self.baselineRule = baselineRule
            self.baselineValidation = baselineValidation
            self.beatsBaseline = beatsBaseline
            self.folds = folds
            self.trials = trials
            self.prunedTrials = prunedTrials
            self.selection = selection
            self.ablation = ablation
            self.searchSeconds = searchSeconds
            self.finalFitSeconds = finalFitSeconds
            self.seed = seed
        }
    }

    /// One row of the ablation table: the chosen configuration with one feature group removed or added.
    public struct Ablation: Codable, Sendable, Equatable {
        public var group: String
        /// `removed` or `added`.
        public var change: String
        public var accuracyDelta: Double
        public var logLossDelta: Double

        public init(group: String, change: String, accuracyDelta: Double, logLossDelta: Double) {
            self.group = group
            self.change = change
            self.accuracyDelta = accuracyDelta
            self.logLossDelta = logLossDelta
        }
    }
}
