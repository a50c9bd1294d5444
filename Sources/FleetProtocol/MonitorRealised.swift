extension MonitorDocument {
    /// What the training host measured for a stored window once labels covered part of it: the gateway's stored
    /// telemetry rows inside the window rescored with the bundle the window names (`decidedBy`), threshold and
    /// hysteresis replayed in time order (the state the gateway publishes), compared with the labels. Added by the
    /// server (a gateway's own `realised` is ignored); absent until labels cover a telemetry row of the window, and for
    /// windows decided by a rule or by a bundle the server does not hold.
    public struct Realised: Codable, Sendable, Equatable {
        /// Share of the compared rows whose published state matched the label.
        public var accuracy: Double
        /// Labelled telemetry rows of the window that were compared.
        public var rows: Int
        /// The label-free estimate (mean of max(p, 1 − p)) on the same rows: the window's `expectedAccuracy` covers
        /// every sample of the gateway's loop, this one exactly the rows `accuracy` counts.
        public var expectedAccuracy: Double?
        /// The bundle rescored, `model:<id>@<version>`.
        public var model: String
        /// When the server measured it (ISO-8601).
        public var computedAt: String

        public init(accuracy: Double, rows: Int, expectedAccuracy: Double?, model: String, computedAt: String) {
            self.accuracy = accuracy
            self.rows = rows
            self.expectedAccuracy = expectedAccuracy
            self.model = model
            self.computedAt = computedAt
        }
    }
}
