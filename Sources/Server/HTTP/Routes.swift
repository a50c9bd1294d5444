import Evaluator
import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OccupantCore

/// The HTTP API (`FleetProtocol.API` lists the paths and documents): intake (gateway tokens), model delivery (gateway
/// tokens), registry (admin token).
struct Routes: Sendable {
    let config: ServerConfig
    let store: any ServerStore
    let registry: ModelRegistry
    let intake: Intake
    let access: Access
    let uploads: UploadSlots
    let clock: any WallClock
    let dashboard: Dashboard

    init(
        config: ServerConfig, store: any ServerStore, registry: ModelRegistry, clock: any WallClock = SystemClock(),
        logger: Logger = Logger(label: "occupant.http")
    ) {
        self.config = config
        self.clock = clock
        self.store = store
        self.registry = registry
        self.intake = Intake(config.intake)
        self.access = Access(config: config, refusals: LoginRefusals(logger: logger))
        self.uploads = UploadSlots(limit: config.http.uploadsPerToken)
        self.dashboard = Dashboard(config: config, store: store, registry: registry, access: access, clock: clock)
    }

    /// Who holds an upload slot: the gateway's id, or `admin`.
    static func owner(_ caller: Caller) -> String {
        switch caller {
        case .admin: "admin"
        case .gateway(let id): id
        }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware(metrics: registry.metrics))
        router.get(RouterPath(API.Route.health)) { _, _ in try Response.json(HealthDocument(status: "ok")) }
        router.post(RouterPath(API.Route.gatewayTelemetry)) { request, context in try await telemetry(request, context)
        }
        router.post(RouterPath(API.Route.labels)) { request, context in try await labels(request, context) }
        router.get(RouterPath(API.Route.gatewayModel)) { request, context in try await model(request, context) }
        router.get(RouterPath(API.Route.gatewayMonitor)) { request, context in try await monitor(request, context) }
        router.post(RouterPath(API.Route.gatewayMonitor)) { request, context in
            try await storeMonitor(request, context)
        }
        router.get(RouterPath(API.Route.models)) { request, context in try await models(request, context) }
        router.get(RouterPath(API.Route.gateways)) { request, context in try await gateways(request, context) }
        router.post(RouterPath(API.Route.retrain)) { request, context in try await retrain(request, context) }
        router.post(RouterPath(API.Route.promote)) { request, context in try await promote(request, context) }
        router.get(RouterPath(API.Route.rollout)) { request, context in try await rollout(request, context) }
        router.post(RouterPath(API.Route.rolloutAction)) { request, context in
            try await rolloutAction(request, context)
        }
        router.get(RouterPath(API.Route.stats)) { request, context in try await stats(request, context) }
        router.get(RouterPath(API.Route.alerts)) { request, context in try await alerts(request, context) }
        router.post(RouterPath(API.Route.alertAck)) { request, context in try await acknowledgeAlert(request, context) }
        router.get(RouterPath(API.Route.metrics)) { request, context in try await metrics(request, context) }
        addShadowRoutes(router)
        addRoomRoutes(router)
        dashboard.register(on: router)
        return router
    }

    /// A path parameter, percent-decoded (`k%C3%BCche` → `küche`): ids are encoded by `API.pathSegment`.
    func parameter(_ name: String, _ context: BasicRequestContext) throws -> String {
        let raw = try context.parameters.require(name)
        guard let decoded = API.decodePathSegment(raw) else {
            throw APIError(.badRequest, "'\(raw)' is not a valid path segment")
        }
        return decoded
    }

    /// The `scope` path parameter, which must be a configured scope.
    func knownScope(_ context: BasicRequestContext) throws -> String {
        let scope = try parameter("scope", context)
        guard config.scopes.contains(scope) else {
            throw APIError(.notFound, "unknown scope '\(scope)' (scopes: \(config.scopes.joined(separator: ", ")))")
        }
        return scope
    }

    // MARK: Intake

    func body(_ request: Request) async throws -> [UInt8] {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: config.intake.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(
                .contentTooLarge, "the body is larger than \(config.intake.maxBodyBytes) bytes (intake.maxBodyBytes)")
        }
        // A connection closed mid-body (idle timeout, body deadline, client gone) can end the stream early: never
        // take a cut body for the whole batch.
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length != buffer.readableBytes {
            throw APIError(.badRequest, "the body ended after \(buffer.readableBytes) of \(length) bytes")
        }
        switch request.headers[.contentEncoding]?.trimmingCharacters(in: .whitespaces).lowercased() {
        case nil, "identity":
            return Array(buffer.readableBytesView)
        case "gzip", "x-gzip":
            return try GzipBody.inflate(buffer, limit: config.intake.maxBodyBytes)
        case let encoding?:
            throw APIError(
                .unsupportedMediaType, "Content-Encoding '\(encoding)' is not supported; send gzip or identity")
        }
    }

    func telemetry(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try parameter("id", context)
        let owner = Self.owner(try access.requireGateway(request, id: id))
        return try await uploads.run(owner) { try await telemetry(request, gateway: id) }
    }

    func telemetry(_ request: Request, gateway id: String) async throws -> Response {
        let bytes = try await body(request)
        let rows: [TelemetryRow]
        do {
            rows = try intake.telemetry(ndjson: bytes, gateway: id, now: clock.now().seconds)
        } catch {
            throw APIError(error)
        }
        // Without a Batch-ID the body's hash is the id, so an identical resend is still recognised.
        let batch = request.headers[.batchID] ?? "sha256:" + sha256Hex(bytes)
        guard batch.utf8.count <= API.maxBatchIDBytes else {
            throw APIError(.badRequest, "\(API.Header.batchID) is longer than \(API.maxBatchIDBytes) bytes")
        }
        let (accepted, duplicate): (Int, Bool)
        do {
            (accepted, duplicate) = try await store.insertTelemetry(gateway: id, batchID: batch, rows: rows)
        } catch let error as IntakeError {
            throw APIError(error)
        }
        return try Response.json(
            TelemetryReceipt(batch: batch, rows: rows.count, accepted: accepted, duplicate: duplicate))
    }

    func labels(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let caller = try access.caller(request)
        return try await uploads.run(Self.owner(caller)) { try await labels(request, caller: caller) }
    }

    func labels(_ request: Request, caller: Caller) async throws -> Response {
        let bytes = try await body(request)
        let now = clock.now().seconds
        let known: (String) -> Bool = { config.gateway($0) != nil }
        let labels: [LabelRange]
        do throws(IntakeError) {
            if request.headers[.contentType]?.hasPrefix("text/csv") == true {
                labels = try intake.labels(csv: String(decoding: bytes, as: UTF8.self), now: now, known: known)
            } else {
                let own: String? = if case .gateway(let g) = caller { g } else { nil }
                labels = try intake.labels(json: bytes, gateway: nil, now: now, source: "http", known: known)
                if let own, let other = labels.first(where: { $0.gateway != own }) {
                    throw IntakeError(403, "this token belongs to gateway '\(own)', not '\(other.gateway)'")
                }
            }
        } catch {
            throw APIError(error)
        }
        if case .gateway = caller, request.headers[.contentType]?.hasPrefix("text/csv") == true {
            throw APIError(.forbidden, "CSV label import needs the admin token")
        }
        try await store.insertLabels(labels)
        await registry.labelsArrived(labels)
        return try Response.json(LabelsReceipt(accepted: labels.count))
    }

    // MARK: Delivery

    func model(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try parameter("id", context)
        try access.requireGateway(request, id: id)
        guard let record = try await registry.model(for: id) else { return Response(status: .noContent) }
        return try deliver(record, request)
    }

    /// A bundle as the answer: `ETag` its SHA-256, `304` for a match, `Range`/`206`.
    func deliver(_ record: ModelRecord, _ request: Request) throws -> Response {
        let etag = "\"\(record.sha256)\""
        var headers: HTTPFields = [
            .eTag: etag, .acceptRanges: "bytes", .occupantModel: "\(record.modelID)@\(record.version)",
            .cacheControl: "no-cache",
        ]
        if let match = request.headers[.ifNoneMatch],
            match.split(separator: ",").contains(where: {
                let t = $0.trimmingCharacters(in: .whitespaces)
                return t == etag || t == "*"
            })
        {
            return Response(status: .notModified, headers: headers)
        }
        let bytes = try registry.artifacts.get(sha256: record.sha256)
        headers[.contentType] = "application/octet-stream"
        if let range = request.headers[.range], request.headers[.ifRange].map({ $0 == etag }) ?? true {
            guard let (start, end) = Self.byteRange(range, size: bytes.count) else {
                headers[.contentRange] = "bytes */\(bytes.count)"
                throw APIError(
                    .rangeNotSatisfiable, "range '\(range)' is not satisfiable for \(bytes.count) bytes",
                    headers: headers)
            }
            headers[.contentRange] = "bytes \(start)-\(end)/\(bytes.count)"
            return Response(
                status: .partialContent, headers: headers,
                body: .init(byteBuffer: ByteBuffer(bytes: bytes[start...end])))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `bytes=N-`, `bytes=N-M` or `bytes=-K` (one range) → inclusive bounds; nil when unsatisfiable or malformed.
    static func byteRange(_ header: String, size: Int) -> (Int, Int)? {
        guard header.hasPrefix("bytes="), !header.contains(","), size > 0 else { return nil }
        let spec = header.dropFirst("bytes=".count)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[0].isEmpty {
            guard let suffix = Int(parts[1]), suffix > 0 else { return nil }
            return (max(0, size - suffix), size - 1)
        }
        guard let start = Int(parts[0]), start >= 0, start < size else { return nil }
        if parts[1].isEmpty { return (start, size - 1) }
        guard let end = Int(parts[1]), end >= start else { return nil }
        return (start, min(end, size - 1))
    }

    // MARK: Registry (admin)

    func models(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let scope = request.uri.queryParameters["scope"].map(String.init)
        let records = try await store.models(scope: scope)
        var aliases: [String: [String]] = [:]
        for s in Set(records.map(\.scope)) {
            for alias in ["champion", "challenger"] {
                if let v = try await store.alias(scope: s, alias: alias) {
                    aliases["\(s)@\(v)", default: []].append(alias)
                }
            }
        }
        let models = try records.map { m in
            RegistryListing.Model(
                m, aliases: aliases["\(m.scope)@\(m.version)"] ?? [],
                report: try FleetJSON.decode(JSON.self, from: m.report.utf8))
        }
        let promotions = try await store.promotions(scope: scope).map(RegistryListing.Promotion.init)
        let metrics = try await store.metrics(scope: scope).map(RegistryListing.Metric.init)
        let alerts = try await store.alerts(scope: scope).map { a in
            RegistryListing.Alert(at: Instant(seconds: a.at).iso8601, message: a.message)
        }
        return try Response.json(
            RegistryListing(models: models, promotions: promotions, metrics: metrics, alerts: alerts))
    }

    func gateways(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let statuses = Dictionary(try await store.gatewayStatuses().map { ($0.gateway, $0) }, uniquingKeysWith: { $1 })
        let rollbacks = Dictionary(
            try await store.rollbacks(gateway: nil).map { ($0.gateway, $0) }, uniquingKeysWith: { $1 })
        var items: [GatewayListing.Gateway] = []
        for g in config.gateways {
            let assigned = try await registry.model(for: g.id)
            let s = statuses[g.id]
            items.append(
                GatewayListing.Gateway(
                    id: g.id, scope: g.scope, assigned: assigned.map { "\($0.modelID)@\($0.version)" },
                    assignedSha256: assigned?.sha256,
                    active: s?.active, activeSha256: s?.sha256, refused: s?.refused,
                    reportedAt: s.map { Instant(seconds: $0.at).iso8601 }))
            items[items.count - 1].rolledBack = rollbacks[g.id]?.summary
        }
        return try Response.json(GatewayListing(gateways: items))
    }

    func stats(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let all = config.gateways.map(\.id)
        return try Response.json(
            ServerStats(
                telemetryRows: try await store.telemetryCount(),
                labelRanges: try await store.labelCount(gateways: all),
                labelledRows: try await store.labelledRowCount(gateways: all),
                models: try await store.models(scope: nil).count))
    }

    func retrain(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let scope = try knownScope(context)
        do {
            let outcome = try await registry.retrain(scope: scope, trigger: "command")
            return try Response.json(outcome)
        } catch let error as OccupantError {
            throw APIError(.conflict, error.message)
        }
    }
}

extension HTTPField.Name {
    static let batchID = HTTPField.Name(API.Header.batchID)!
    static let occupantModel = HTTPField.Name(API.Header.occupantModel)!
}
