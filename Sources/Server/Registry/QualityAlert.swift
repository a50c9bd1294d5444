/// The champion of a scope measured worse on newly labelled rows than on its training holdout.
public struct QualityAlert: Codable, Sendable, Equatable {
    public var scope: String
    public var model: String
    public var version: Int
    public var metric: String
    public var baseline: Double
    public var measured: Double
    public var rows: Int
    public var at: String
    public var message: String

    public init(
        scope: String, model: String, version: Int, metric: String, baseline: Double, measured: Double, rows: Int,
        at: String,
        message: String
    ) {
        self.scope = scope
        self.model = model
        self.version = version
        self.metric = metric
        self.baseline = baseline
        self.measured = measured
        self.rows = rows
        self.at = at
        self.message = message
    }
}
