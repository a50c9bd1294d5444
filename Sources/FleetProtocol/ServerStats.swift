/// `GET /v1/stats`: what the store holds.
public struct ServerStats: Codable, Sendable, Equatable {
    public var telemetryRows: Int
    public var labelRanges: Int
    public var labelledRows: Int
    public var models: Int

    public init(telemetryRows: Int, labelRanges: Int, labelledRows: Int, models: Int) {
        self.telemetryRows = telemetryRows
        self.labelRanges = labelRanges
        self.labelledRows = labelledRows
        self.models = models
    }
}
