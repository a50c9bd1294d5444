import FleetProtocol
import Foundation
import Hummingbird
import OccupantCore

/// `GET /v1/scopes/{scope}/models/{version}` (admin token): one version as the Models screen shows it — the record,
/// its aliases, golden vectors, rollbacks, the metrics and promotion decisions about it (with their outcome) and the
/// full report. The scope's version list, metric history and promotions are `GET /v1/models?scope=`; shadow
/// evidence is `GET /v1/scopes/{scope}/shadow`.
public struct ModelVersionDocument: Codable, Sendable, Equatable {
    public struct Decision: Codable, Sendable, Equatable {
        public var promotion: RegistryListing.Promotion
        public var outcome: String
    }

    public var scope: String
    public var version: Int
    public var modelID: String
    public var sha256: String
    public var size: Int
    public var created: String
    public var dataFrom: String
    public var dataTo: String
    public var aliases: [String]
    /// Nil when the bundle is not in the server's artifact store.
    public var goldenVectors: Int?
    public var rolledBackGateways: Int
    public var metrics: [RegistryListing.Metric]
    public var decisions: [Decision]
    public var report: JSON
}

extension Dashboard {
    static let modelVersionPattern = "/v1/scopes/:scope/models/:version"

    static func modelVersionRoute(scope: String, version: Int) -> String {
        "/v1/scopes/\(API.pathSegment(scope))/models/\(version)"
    }

    /// Called from `register(on:)`.
    func registerModels(on router: Router<BasicRequestContext>) {
        router.get(RouterPath(Self.modelVersionPattern)) { request, context in
            try await modelVersionJSON(request, context)
        }
    }

    func modelVersionJSON(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let raw = context.parameters.get("scope") ?? ""
        guard let scope = API.decodePathSegment(raw), config.scopes.contains(scope) else {
            throw APIError(.notFound, "unknown scope '\(raw.prefix(64))'")
        }
        let rawVersion = context.parameters.get("version") ?? ""
        guard let version = Int(rawVersion), version > 0 else {
            throw APIError(.badRequest, "version '\(rawVersion.prefix(32))': expected a positive integer")
        }
        guard let record = try await store.model(scope: scope, version: version) else {
            throw APIError(.notFound, "scope \(scope) has no version \(version)")
        }
        let aliases = try await aliases(scope: scope)
        let champion = aliases.first { $0.value.contains("champion") }?.key
        let rolledBack = try await store.rolledBackGateways()[record.sha256] ?? 0
        let rollout = try await store.rollout(scope: scope)
        let decisions = try await store.promotions(scope: scope).filter { $0.challenger == version }.map { p in
            ModelVersionDocument.Decision(
                promotion: RegistryListing.Promotion(
                    scope: p.scope, at: Instant(seconds: p.at).iso8601, challenger: p.challenger, champion: p.champion,
                    promoted: p.promoted, reason: p.reason),
                outcome: Self.outcome(p, rollout: rollout, champion: champion, rolledBack: rolledBack))
        }
        let metrics = try await store.metrics(scope: scope).filter { $0.version == version }.map { m in
            RegistryListing.Metric(
                scope: m.scope, version: m.version, at: Instant(seconds: m.at).iso8601, kind: m.kind, metric: m.metric,
                value: m.value, rows: m.rows)
        }
        return try Response.json(
            ModelVersionDocument(
                scope: scope, version: version, modelID: record.modelID, sha256: record.sha256, size: record.size,
                created: Instant(seconds: record.created).iso8601, dataFrom: Instant(seconds: record.dataFrom).iso8601,
                dataTo: Instant(seconds: record.dataTo).iso8601, aliases: aliases[version] ?? [],
                goldenVectors: goldenVectors(record), rolledBackGateways: rolledBack, metrics: metrics,
                decisions: decisions,
                report: (try? FleetJSON.decode(JSON.self, from: Array(record.report.utf8))) ?? .object([])))
    }
}
