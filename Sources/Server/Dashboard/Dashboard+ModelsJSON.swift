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

    /// The version as `GET /v1/models` lists it (record, aliases, report); its members stand at the top level of the
    /// document, beside the ones below.
    public var model: RegistryListing.Model
    /// Nil when the bundle is not in the server's artifact store.
    public var goldenVectors: Int?
    public var rolledBackGateways: Int
    public var metrics: [RegistryListing.Metric]
    public var decisions: [Decision]

    private enum CodingKeys: String, CodingKey {
        case goldenVectors, rolledBackGateways, metrics, decisions
    }

    public init(
        model: RegistryListing.Model, goldenVectors: Int?, rolledBackGateways: Int, metrics: [RegistryListing.Metric],
        decisions: [Decision]
    ) {
        self.model = model
        self.goldenVectors = goldenVectors
        self.rolledBackGateways = rolledBackGateways
        self.metrics = metrics
        self.decisions = decisions
    }

    public init(from decoder: any Decoder) throws {
        model = try RegistryListing.Model(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        goldenVectors = try c.decodeIfPresent(Int.self, forKey: .goldenVectors)
        rolledBackGateways = try c.decode(Int.self, forKey: .rolledBackGateways)
        metrics = try c.decode([RegistryListing.Metric].self, forKey: .metrics)
        decisions = try c.decode([Decision].self, forKey: .decisions)
    }

    public func encode(to encoder: any Encoder) throws {
        try model.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(goldenVectors, forKey: .goldenVectors)
        try c.encode(rolledBackGateways, forKey: .rolledBackGateways)
        try c.encode(metrics, forKey: .metrics)
        try c.encode(decisions, forKey: .decisions)
    }
}

extension RegistryListing.Model {
    /// A stored version as the registry lists it.
    init(_ m: ModelRecord, aliases: [String], report: JSON) {
        self.init(
            scope: m.scope, version: m.version, modelID: m.modelID, sha256: m.sha256, size: m.size,
            created: Instant(seconds: m.created).iso8601, dataFrom: Instant(seconds: m.dataFrom).iso8601,
            dataTo: Instant(seconds: m.dataTo).iso8601, aliases: aliases, report: report)
    }
}

extension RegistryListing.Promotion {
    /// A stored promotion decision as the registry lists it.
    init(_ p: PromotionRecord) {
        self.init(
            scope: p.scope, at: Instant(seconds: p.at).iso8601, challenger: p.challenger, champion: p.champion,
            promoted: p.promoted, reason: p.reason)
    }
}

extension RegistryListing.Metric {
    /// A stored metric as the registry lists it.
    init(_ m: MetricRecord) {
        self.init(
            scope: m.scope, version: m.version, at: Instant(seconds: m.at).iso8601, kind: m.kind, metric: m.metric,
            value: m.value, rows: m.rows)
    }
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
        let rolledBack = try await store.rolledBackGateways(sha256: record.sha256)
        let rollout = try await store.rollout(scope: scope)
        let decisions = try await store.promotions(scope: scope).filter { $0.challenger == version }.map { p in
            ModelVersionDocument.Decision(
                promotion: RegistryListing.Promotion(p),
                outcome: Self.outcome(p, rollout: rollout, champion: champion, rolledBack: rolledBack))
        }
        let metrics = try await store.metrics(scope: scope).filter { $0.version == version }.map(
            RegistryListing.Metric.init)
        return try Response.json(
            ModelVersionDocument(
                model: RegistryListing.Model(
                    record, aliases: aliases[version] ?? [],
                    report: (try? FleetJSON.decode(JSON.self, from: Array(record.report.utf8))) ?? .object([])),
                goldenVectors: goldenVectors(record), rolledBackGateways: rolledBack, metrics: metrics,
                decisions: decisions))
    }
}
