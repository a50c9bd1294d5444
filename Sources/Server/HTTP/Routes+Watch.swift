import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird
import OccupantCore

/// Alerts (admin) and `GET /metrics` (admin, `metrics.token`, or anyone with `metrics.open`).
extension Routes {
    func alerts(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let open: Bool
        switch request.uri.queryParameters["open"].map(String.init) {
        case nil, "false": open = false
        case "true": open = true
        case let other?: throw APIError(.badRequest, "open=\(other): expected true or false")
        }
        return try Response.json(AlertListing(alerts: try await store.alertDocuments(open: open)))
    }

    /// A configured gateway's stored monitor windows, those ending after `since` when given.
    func monitor(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let gateway = try parameter("id", context)
        guard config.gateway(gateway) != nil else {
            throw APIError(.notFound, "unknown gateway '\(gateway.prefix(64))'")
        }
        var since: Double?
        if let text = request.uri.queryParameters["since"].map(String.init) {
            let decoded = API.decodePathSegment(text) ?? text
            guard let seconds = TimeValue(text: decoded).seconds, seconds.isFinite else {
                throw APIError(
                    .badRequest, "since=\(decoded.prefix(64)): expected an ISO-8601 date-time or Unix seconds")
            }
            since = seconds
        }
        return try Response.json(
            MonitorListing(gateway: gateway, windows: try await store.monitorWindows(gateway: gateway, since: since)))
    }

    func acknowledgeAlert(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let raw = try parameter("id", context)
        guard let id = Int(raw), id > 0 else { throw APIError(.badRequest, "'\(raw)' is not an alert id") }
        let by = try await actor(request)
        guard let alert = try await store.acknowledgeAlert(id: id, by: by, at: clock.now().seconds) else {
            throw APIError(.notFound, "no alert \(id)")
        }
        return try Response.json(alert)
    }

    /// Who acts (an acknowledgement, a rollout action): the optional body `{"by": "name"}`, else `admin`.
    func actor(_ request: Request) async throws -> String {
        let bytes = try await body(request)
        guard !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else { return "admin" }
        guard let ack = try? FleetJSON.decode(AlertAcknowledgement.self, from: bytes) else {
            throw APIError(.badRequest, "the body is not {\"by\": \"name\"}")
        }
        guard !ack.by.isEmpty, ack.by.utf8.count <= 200 else {
            throw APIError(.badRequest, "by: must be 1 to 200 bytes")
        }
        return ack.by
    }

    /// `GET /v1/scopes/{scope}/rollout` — admin.
    func rollout(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let scope = try knownScope(context)
        guard let document = try await registry.rolloutDocument(scope: scope) else {
            throw APIError(.notFound, "scope '\(scope)' has no rollout yet")
        }
        return try Response.json(document)
    }

    /// `POST /v1/scopes/{scope}/promote` — admin: a stored version becomes the champion, rolled out in waves.
    func promote(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let scope = try knownScope(context)
        guard let asked = try? FleetJSON.decode(PromoteRequest.self, from: try await body(request)) else {
            throw APIError(.badRequest, "the body is not {\"version\": N, \"by\": \"name\"}")
        }
        do {
            let document = try await registry.promoteByOperator(
                scope: scope, version: asked.version, by: String((asked.by ?? "admin").prefix(200)))
            return try Response.json(document)
        } catch let error as OccupantError {
            throw APIError(.conflict, error.message)
        }
    }

    /// `POST /v1/scopes/{scope}/rollout/{abort|resume|rollback}` — admin.
    func rolloutAction(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let scope = try knownScope(context)
        let raw = try parameter("action", context)
        guard let action = RolloutDocument.Action(rawValue: raw) else {
            let known = RolloutDocument.Action.allCases.map(\.rawValue).joined(separator: ", ")
            throw APIError(.badRequest, "'\(raw.prefix(64))' is not a rollout action (\(known))")
        }
        let by = try await actor(request)
        do {
            guard let document = try await registry.rolloutAction(scope: scope, action, by: by) else {
                throw APIError(.notFound, "scope '\(scope)' has no rollout yet")
            }
            return try Response.json(document)
        } catch let error as OccupantError {
            throw APIError(.conflict, error.message)
        }
    }

    func metrics(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        if !config.metrics.open {
            let caller: Caller
            if let hash = config.metrics.tokenHash, let header = request.headers[.authorization],
                header.hasPrefix("Bearer "),
                constantTimeEqual(
                    tokenHash(String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)), hash)
            {
                caller = .admin
            } else {
                caller = try access.caller(request)
            }
            guard caller == .admin else { throw APIError(.forbidden, "this needs the admin or the metrics token") }
        }
        try await storeFigures()
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.metrics.text())))
    }

    /// Sets the gauges read from the store at scrape time, so they survive restarts.
    func storeFigures() async throws {
        let m = registry.metrics
        let all = config.gateways.map(\.id)
        m.gauge("occupant_intake_rows", "Telemetry rows stored.", [], Double(try await store.telemetryCount()))
        m.gauge(
            "occupant_labelled_rows", "Stored telemetry rows inside a label span.", [],
            Double(try await store.labelledRowCount(gateways: all)))
        var promotions: [String: (yes: Int, no: Int)] = [:]
        for p in try await store.promotions(scope: nil) {
            var c = promotions[p.scope] ?? (0, 0)
            if p.promoted { c.yes += 1 } else { c.no += 1 }
            promotions[p.scope] = c
        }
        let promotionHelp = "Promotion decisions recorded, by scope and result."
        for scope in config.scopes {
            let c = promotions[scope] ?? (0, 0)
            m.gauge("occupant_promotions", promotionHelp, [("promoted", "true"), ("scope", scope)], Double(c.yes))
            m.gauge("occupant_promotions", promotionHelp, [("promoted", "false"), ("scope", scope)], Double(c.no))
        }
        let open = try await store.openAlertCounts()
        for kind in AlertDocument.Kind.all {
            m.gauge(
                "occupant_alerts_open", "Alerts raised and not yet cleared, by kind.", [("kind", kind)],
                Double(open[kind] ?? 0))
        }
        let seen = try await store.gatewaysLastSeen()
        let now = clock.now().seconds
        var states = ["reporting": 0, "silent": 0, "never": 0]
        for g in config.gateways {
            guard let last = seen[g.id] else {
                states["never", default: 0] += 1
                continue
            }
            let silent = config.alerts.silentAfter.map { now - last > $0 } ?? false
            states[silent ? "silent" : "reporting", default: 0] += 1
        }
        for (state, n) in states {
            m.gauge(
                "occupant_gateways",
                "Configured gateways by state: reporting, silent (not heard from for longer than alerts.silentAfter), never (not heard from yet).",
                [("state", state)], Double(n))
        }
        try await monitorFigures()
    }
}
