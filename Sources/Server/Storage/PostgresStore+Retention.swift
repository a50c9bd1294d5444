import Logging
import OccupantCore
import PostgresNIO
import ServiceLifecycle

/// Raw telemetry kept by age (`storage.postgres.retention`): rows older than the limit go, except rows inside a label
/// span (training data) and rows inside the data window of a model some process may still serve or compare against
/// (any model with an alias, and the versions a rollout can fall back to). Labels are never pruned. Batch ids older
/// than the limit go too (a gateway does not resend a batch that old).
extension PostgresStore {
    /// Deletes `gateways`' unprotected rows with `at < before`, scope by scope; returns how many went.
    public func pruneTelemetry(before: Double, gatewaysByScope: [String: [String]]) async throws -> Int {
        var removed = 0
        for (scope, gateways) in gatewaysByScope.sorted(by: { $0.key < $1.key }) where !gateways.isEmpty {
            let counted = try await rows(
                """
                WITH live AS (
                    SELECT m.data_from, m.data_to FROM models m
                    WHERE m.scope = \(scope) AND (
                        m.version IN (SELECT version FROM aliases WHERE scope = \(scope))
                        OR m.version IN (SELECT version FROM rollouts WHERE scope = \(scope))
                        OR m.version IN (SELECT previous FROM rollouts WHERE scope = \(scope)))),
                gone AS (
                    DELETE FROM telemetry t
                    WHERE t.gateway = ANY(\(gateways)) AND t.at < \(before)
                        AND NOT EXISTS (
                            SELECT 1 FROM labels l WHERE l.gateway = t.gateway AND l.start <= t.at AND t.at < l."end")
                        AND NOT EXISTS (SELECT 1 FROM live WHERE t.at >= live.data_from AND t.at <= live.data_to)
                    RETURNING 1)
                SELECT count(*) FROM gone
                """)
            removed += try counted.first?[0].decode(Int.self) ?? 0
            try await execute("DELETE FROM batches WHERE gateway = ANY(\(gateways)) AND received < \(before)")
        }
        return removed
    }
}

/// Prunes raw telemetry every `interval` (each process may: a delete is idempotent).
struct TelemetryRetention: Service {
    let store: PostgresStore
    let config: ServerConfig
    let retention: Double
    let clock: any WallClock
    let logger: Logger
    var interval = 3_600.0

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let scopes = Dictionary(grouping: config.gateways, by: \.scope).mapValues { $0.map(\.id) }
            do {
                let removed = try await store.pruneTelemetry(
                    before: clock.now().seconds - retention, gatewaysByScope: scopes)
                if removed > 0 { logger.info("retention: \(removed) telemetry rows older than the limit removed") }
            } catch {
                logger.warning("retention: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
        }
    }
}

extension ServerRuntime {
    /// The retention service when the store is PostgreSQL with `retention` set.
    static func retentionServices(config: ServerConfig, store: any ServerStore, clock: any WallClock, logger: Logger)
        -> [any Service]
    {
        guard case .postgres(let pg) = config.storage, let retention = pg.retention,
            let store = store as? PostgresStore
        else { return [] }
        return [
            TelemetryRetention(
                store: store, config: config, retention: retention, clock: clock,
                logger: logger.with(label: "retention"))
        ]
    }
}
