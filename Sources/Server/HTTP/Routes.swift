import Evaluator
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OccupantCore

/// The HTTP API: intake (gateway tokens), model delivery (gateway tokens), registry (admin token).
///
/// - `POST /v1/gateways/{id}/telemetry` — NDJSON batch; `Batch-ID` makes a resend harmless.
/// - `POST /v1/labels` — JSON label ranges (gateway: its own; admin: any), or `text/csv` (admin).
/// - `GET  /v1/gateways/{id}/model` — the bundle to run: `ETag`, `304`, `Range`/`206`; `204` when there is none.
/// - `GET  /v1/models[?scope=S]`, `GET /v1/gateways`, `POST /v1/scopes/{scope}/retrain` — admin.
struct Routes: Sendable {
    let config: ServerConfig
    let store: any ServerStore
    let registry: ModelRegistry
    let intake: Intake
    let access: Access

    init(config: ServerConfig, store: any ServerStore, registry: ModelRegistry) {
        self.config = config
        self.store = store
        self.registry = registry
        self.intake = Intake(maxFutureSkew: config.intake.maxFutureSkew)
        self.access = Access(config: config)
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/health") { _, _ in Response.json(#"{"status":"ok"}"#) }
        router.post("/v1/gateways/:id/telemetry") { request, context in try await telemetry(request, context) }
        router.post("/v1/labels") { request, context in try await labels(request, context) }
        router.get("/v1/gateways/:id/model") { request, context in try await model(request, context) }
        router.get("/v1/models") { request, context in try await models(request, context) }
        router.get("/v1/gateways") { request, context in try await gateways(request, context) }
        router.post("/v1/scopes/:scope/retrain") { request, context in try await retrain(request, context) }
        router.get("/v1/stats") { request, context in try await stats(request, context) }
        return router
    }

    // MARK: Intake

    func body(_ request: Request) async throws -> [UInt8] {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: config.intake.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "the body is larger than \(config.intake.maxBodyBytes) bytes (intake.maxBodyBytes)")
        }
        if let encoding = request.headers[.contentEncoding], encoding != "identity" {
            throw APIError(.unsupportedMediaType, "Content-Encoding '\(encoding)' is not supported; send the body uncompressed")
        }
        return Array(buffer.readableBytesView)
    }

    func telemetry(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        try access.requireGateway(request, id: id)
        let bytes = try await body(request)
        let rows: [TelemetryRow]
        do {
            rows = try intake.telemetry(ndjson: bytes, gateway: id, now: Date().timeIntervalSince1970)
        } catch {
            throw APIError(error)
        }
        // Without a Batch-ID the body's hash is the id, so an identical resend is still recognised.
        let batch = request.headers[.batchID] ?? "sha256:" + sha256Hex(bytes)
        guard batch.utf8.count <= 200 else { throw APIError(.badRequest, "Batch-ID is longer than 200 bytes") }
        let (accepted, duplicate) = try await store.insertTelemetry(gateway: id, batchID: batch, rows: rows)
        let answer = JSON.object([
            "batch": .string(batch), "rows": .number(Double(rows.count)), "accepted": .number(Double(accepted)),
            "duplicate": .bool(duplicate),
        ])
        return Response.json(answer.serialized)
    }

    func labels(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let caller = try access.caller(request)
        let bytes = try await body(request)
        let now = Date().timeIntervalSince1970
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
        return Response.json(JSON.object(["accepted": .number(Double(labels.count))]).serialized)
    }

    // MARK: Delivery

    func model(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        try access.requireGateway(request, id: id)
        guard let record = try await registry.model(for: id) else { return Response(status: .noContent) }
        let etag = "\"\(record.sha256)\""
        var headers: HTTPFields = [
            .eTag: etag, .acceptRanges: "bytes", .occupantModel: "\(record.modelID)@\(record.version)",
            .cacheControl: "no-cache",
        ]
        if let match = request.headers[.ifNoneMatch],
            match.split(separator: ",").contains(where: { let t = $0.trimmingCharacters(in: .whitespaces); return t == etag || t == "*" })
        {
            return Response(status: .notModified, headers: headers)
        }
        let bytes = try registry.artifacts.get(sha256: record.sha256)
        headers[.contentType] = "application/octet-stream"
        if let range = request.headers[.range], request.headers[.ifRange].map({ $0 == etag }) ?? true {
            guard let (start, end) = Self.byteRange(range, size: bytes.count) else {
                headers[.contentRange] = "bytes */\(bytes.count)"
                throw APIError(.rangeNotSatisfiable, "range '\(range)' is not satisfiable for \(bytes.count) bytes", headers: headers)
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
                if let v = try await store.alias(scope: s, alias: alias) { aliases["\(s)@\(v)", default: []].append(alias) }
            }
        }
        let models = records.map { m -> String in
            let fields = JSON.object([
                "scope": .string(m.scope), "version": .number(Double(m.version)), "modelID": .string(m.modelID),
                "sha256": .string(m.sha256), "size": .number(Double(m.size)), "created": .string(Instant(seconds: m.created).iso8601),
                "dataFrom": .string(Instant(seconds: m.dataFrom).iso8601), "dataTo": .string(Instant(seconds: m.dataTo).iso8601),
                "aliases": .array((aliases["\(m.scope)@\(m.version)"] ?? []).map(JSON.string)),
            ]).serialized
            return String(fields.dropLast()) + #","report":"# + m.report + "}"
        }
        let promotions = try await store.promotions(scope: scope).map { p in
            JSON.object([
                "scope": .string(p.scope), "at": .string(Instant(seconds: p.at).iso8601), "challenger": .number(Double(p.challenger)),
                "champion": p.champion.map { .number(Double($0)) } ?? .null, "promoted": .bool(p.promoted), "reason": .string(p.reason),
            ]).serialized
        }
        let metrics = try await store.metrics(scope: scope).map { m in
            JSON.object([
                "scope": .string(m.scope), "version": .number(Double(m.version)), "at": .string(Instant(seconds: m.at).iso8601),
                "kind": .string(m.kind), "metric": .string(m.metric), "value": .finite(m.value), "rows": .number(Double(m.rows)),
            ]).serialized
        }
        let alerts = try await store.alerts(scope: scope).map { a in
            JSON.object(["at": .string(Instant(seconds: a.at).iso8601), "message": .string(a.message)]).serialized
        }
        let text = #"{"models":[\#(models.joined(separator: ","))],"promotions":[\#(promotions.joined(separator: ","))],"#
            + #""metrics":[\#(metrics.joined(separator: ","))],"alerts":[\#(alerts.joined(separator: ","))]}"#
        return Response.json(text)
    }

    func gateways(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let statuses = Dictionary(try await store.gatewayStatuses().map { ($0.gateway, $0) }, uniquingKeysWith: { $1 })
        var items: [JSON] = []
        for g in config.gateways {
            let assigned = try await registry.model(for: g.id)
            let s = statuses[g.id]
            let assignedName: String? = assigned.map { "\($0.modelID)@\($0.version)" }
            let reportedAt: String? = s.map { Instant(seconds: $0.at).iso8601 }
            let fields: KeyValuePairs<String, JSON?> = [
                "id": .string(g.id), "scope": .string(g.scope), "assigned": text(assignedName),
                "assignedSha256": text(assigned?.sha256), "active": text(s?.active), "activeSha256": text(s?.sha256),
                "refused": text(s?.refused), "reportedAt": text(reportedAt),
            ]
            items.append(.object(fields))
        }
        return Response.json(JSON.object(["gateways": .array(items)]).serialized)
    }

    func stats(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let all = config.gateways.map(\.id)
        return Response.json(JSON.object([
            "telemetryRows": .number(Double(try await store.telemetryCount())),
            "labelRanges": .number(Double(try await store.labels(gateways: all).count)),
            "labelledRows": .number(Double(try await store.labelledRowCount(gateways: all))),
            "models": .number(Double(try await store.models(scope: nil).count)),
        ]).serialized)
    }

    func retrain(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let scope = try context.parameters.require("scope")
        guard config.scopes.contains(scope) else {
            throw APIError(.notFound, "unknown scope '\(scope)' (scopes: \(config.scopes.joined(separator: ", ")))")
        }
        do {
            let outcome = try await registry.retrain(scope: scope, trigger: "command")
            return Response.json(String(decoding: try serverJSONEncoder().encode(outcome), as: UTF8.self))
        } catch let error as OccupantError {
            throw APIError(.conflict, error.message)
        }
    }
}

/// A string or null.
func text(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }

extension HTTPField.Name {
    static let batchID = HTTPField.Name("Batch-ID")!
    static let occupantModel = HTTPField.Name("X-Occupant-Model")!
}
