import Foundation
import Training

/// The full record of one job, stored with the model and served by `GET /v1/models`.
public struct RetrainReport: Codable, Sendable {
    public struct Scored: Codable, Sendable {
        public var version: Int
        public var metrics: BinaryMetrics
    }

    public struct Rule: Codable, Sendable {
        public var rule: String
        public var metrics: BinaryMetrics
    }

    public struct Holdout: Codable, Sendable {
        public var from: String
        public var to: String
        public var rows: Int
        public var challenger: BinaryMetrics
        public var champion: Scored?
        public var rule: Rule?
    }

    public var scope: String
    public var gateway: String?
    public var trigger: String
    /// Stored rows left out because a reading was of the wrong kind for its channel (see `TrainingData.joined`).
    public var skippedRows: Int
    public var version: Int
    public var sha256: String
    public var holdout: Holdout
    public var promoted: Bool
    public var reason: String
    public var training: TrainingReport
    /// The gateways whose streams made the table, and the rows each contributed.
    public var gateways: [StreamContribution]?

    func json() throws -> String {
        String(decoding: try serverJSONEncoder().encode(self), as: UTF8.self)
    }
}
