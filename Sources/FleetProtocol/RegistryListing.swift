import OccupantCore

/// `GET /v1/models[?scope=S]`: the registry's models, promotion decisions, metrics and alerts, oldest first.
public struct RegistryListing: Codable, Sendable, Equatable {
    public struct Model: Codable, Sendable, Equatable {
        public var scope: String
        public var version: Int
        public var modelID: String
        public var sha256: String
        public var size: Int
        /// ISO-8601.
        public var created: String
        public var dataFrom: String
        public var dataTo: String
        /// `champion`, `challenger`.
        public var aliases: [String]
        /// The job's full evaluation report (training report, holdout metrics of challenger, champion and rule).
        public var report: JSON

        public init(
            scope: String, version: Int, modelID: String, sha256: String, size: Int, created: String, dataFrom: String,
            dataTo: String, aliases: [String], report: JSON
        ) {
            self.scope = scope
            self.version = version
            self.modelID = modelID
            self.sha256 = sha256
            self.size = size
            self.created = created
            self.dataFrom = dataFrom
            self.dataTo = dataTo
            self.aliases = aliases
            self.report = report
        }

        /// The challenger's accuracy and row count on its held-out window, from the report.
        public var holdout: (accuracy: Double, rows: Int)? {
            guard let challenger = report["holdout"]?["challenger"], let accuracy = challenger["accuracy"]?.number
            else { return nil }
            return (accuracy, Int(challenger["rows"]?.number ?? 0))
        }
    }

    public struct Promotion: Codable, Sendable, Equatable {
        public var scope: String
        public var at: String
        public var challenger: Int
        public var champion: Int?
        public var promoted: Bool
        public var reason: String

        public init(scope: String, at: String, challenger: Int, champion: Int?, promoted: Bool, reason: String) {
            self.scope = scope
            self.at = at
            self.challenger = challenger
            self.champion = champion
            self.promoted = promoted
            self.reason = reason
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(scope, forKey: .scope)
            try c.encode(at, forKey: .at)
            try c.encode(challenger, forKey: .challenger)
            try c.encode(champion, forKey: .champion)
            try c.encode(promoted, forKey: .promoted)
            try c.encode(reason, forKey: .reason)
        }
    }

    public struct Metric: Codable, Sendable, Equatable {
        public var scope: String
        public var version: Int
        public var at: String
        /// `holdout` or `live`.
        public var kind: String
        public var metric: String
        /// Null when the value is not finite.
        public var value: Double?
        public var rows: Int

        public init(scope: String, version: Int, at: String, kind: String, metric: String, value: Double?, rows: Int) {
            self.scope = scope
            self.version = version
            self.at = at
            self.kind = kind
            self.metric = metric
            self.value = value.flatMap { $0.isFinite ? $0 : nil }
            self.rows = rows
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(scope, forKey: .scope)
            try c.encode(version, forKey: .version)
            try c.encode(at, forKey: .at)
            try c.encode(kind, forKey: .kind)
            try c.encode(metric, forKey: .metric)
            try c.encode(value, forKey: .value)
            try c.encode(rows, forKey: .rows)
        }
    }

    public struct Alert: Codable, Sendable, Equatable {
        public var at: String
        public var message: String

        public init(at: String, message: String) {
            self.at = at
            self.message = message
        }
    }

    public var models: [Model]
    public var promotions: [Promotion]
    public var metrics: [Metric]
    public var alerts: [Alert]

    public init(models: [Model], promotions: [Promotion], metrics: [Metric], alerts: [Alert]) {
        self.models = models
        self.promotions = promotions
        self.metrics = metrics
        self.alerts = alerts
    }
}
