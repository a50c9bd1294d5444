/// `GET /v1/stats`: what the store holds.
public struct ServerStats: Codable, Sendable, Equatable {
    public var telemetryRows: Int
    /// Label spans stored: disjoint per gateway (overlapping labels are merged, the newest winning).
    public var labelRanges: Int
    /// Telemetry rows inside some label span.
    public var labelledRows: Int
    public var models: Int

    public init(telemetryRows: Int, labelRanges: Int, labelledRows: Int, models: Int) {
        self.telemetryRows = telemetryRows
        self.labelRanges = labelRanges
        self.labelledRows = labelledRows
        self.models = models
    }
}
