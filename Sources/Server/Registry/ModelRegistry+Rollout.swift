import Crypto
import Evaluator
import Foundation
import Logging
import OccupantCore
import Training

extension ModelRegistry {
    // MARK: Promotion and rollout

    /// Makes `record` the champion and starts its rollout: the first wave now, everyone once the wave runs it.
    public func promote(scope: String, record: ModelRecord, previous: Int?) async throws {
        try await store.setAlias(scope: scope, alias: "champion", version: record.version)
        lastQualitySeen[scope] = nil // a new champion is judged at the next check
        try await store.setAlias(scope: scope, alias: "challenger", version: nil)
        let members = gateways(in: scope)
        var wave = Set(config.promotion.firstWave.filter(members.contains))
        if let percent = config.promotion.firstWavePercent {
            // A stable choice: the gateways whose hashed id sorts first.
            let count = Int((Double(members.count) * percent / 100).rounded(.up))
            wave.formUnion(members.sorted { tokenHash($0) < tokenHash($1) }.prefix(count))
        }
        let staged = previous != nil && !wave.isEmpty && wave.count < members.count
        try await store.setRollout(
            Rollout(
                scope: scope, version: record.version, previous: previous, wave: wave.sorted(), widened: !staged))
        for g in members where !staged || wave.contains(g) {
            await announcer.modelAvailable(gateway: g, model: record, url: modelURL(g))
        }
        if staged { logger.info("\(scope) v\(record.version): first wave \(wave.sorted().joined(separator: ", "))") }
    }

    public func modelURL(_ gateway: String) -> String { API.url(config.baseURL, API.gatewayModel(gateway)) }

    /// The model `gateway` should run, or nil (keep the rule). Not isolated: the poll path reads the store directly.
    public nonisolated func model(for gateway: String) async throws -> ModelRecord? {
        guard let scope = config.gateway(gateway)?.scope else { return nil }
        return try await store.assignedModel(scope: scope, gateway: gateway)
    }

    /// A gateway's `model/status` report: stored, and once every first-wave gateway runs the new model, the rollout
    /// widens to the rest of the scope.
    public func gatewayReported(_ status: GatewayStatus) async throws {
        try await store.setGatewayStatus(status)
        guard let scope = config.gateway(status.gateway)?.scope, let r = try await store.rollout(scope: scope),
            !r.widened,
            let record = try await store.model(scope: scope, version: r.version)
        else { return }
        let statuses = Dictionary(try await store.gatewayStatuses().map { ($0.gateway, $0) }, uniquingKeysWith: { $1 })
        guard r.wave.allSatisfy({ statuses[$0]?.sha256 == record.sha256 }) else { return }
        var widened = r
        widened.widened = true
        try await store.setRollout(widened)
        logger.info("\(scope) v\(r.version): first wave runs it; rolling out to the rest of the scope")
        for g in gateways(in: scope) where !r.wave.contains(g) {
            await announcer.modelAvailable(gateway: g, model: record, url: modelURL(g))
        }
    }
}
