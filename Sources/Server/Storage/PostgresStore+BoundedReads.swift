import FleetProtocol
import PostgresNIO

/// Reads that answer from an index instead of a whole table (as `SQLiteStore` does): the open alerts of one kind
/// and their counts (`alerts_open`), and how many gateways rolled one bundle back (`model_rollbacks_bundle`).
extension PostgresStore {
    public func openAlerts(kind: String) async throws -> [AlertDocument] {
        try await rows("SELECT * FROM alerts WHERE kind = \(kind) AND cleared_at IS NULL ORDER BY id").map(
            Self.alert(from:))
    }

    public func openAlertCounts() async throws -> [String: Int] {
        Dictionary(
            try await rows("SELECT kind, count(*) FROM alerts WHERE cleared_at IS NULL GROUP BY 1").map {
                (try $0[0].decode(String.self), try $0[1].decode(Int.self))
            }, uniquingKeysWith: { $1 })
    }

    public func rolledBackGateways(sha256: String) async throws -> Int {
        try await rows("SELECT count(DISTINCT gateway) FROM model_rollbacks WHERE sha256 = \(sha256)").first?[0]
            .decode(Int.self) ?? 0
    }
}
