import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import OccupantCore

/// The operator's web dashboard under `/dashboard`, served by `occupant server run` on its own port: server-rendered
/// HTML (Mustache templates, inline CSS and SVG, no script needed). Log in with the admin token (or the read-only
/// `dashboard.viewerToken`) → a session cookie; every state-changing action is a POST carrying the session's CSRF
/// token. Sessions live in memory: a restart logs everyone out.
struct Dashboard: Sendable {
    static let cookie = "occupant_session"
    /// Cleared alerts shown (newest first).
    static let clearedLimit = 100

    let config: ServerConfig
    let store: any ServerStore
    let registry: ModelRegistry
    let access: Access
    let clock: any WallClock
    let sessions: DashboardSessions
    let templates: MustacheLibrary
    let roster: FleetRoster
    /// The Gateway screen's replayed hours (`Dashboard+Replay`).
    let replayCache: ReplayCache

    init(config: ServerConfig, store: any ServerStore, registry: ModelRegistry, access: Access, clock: any WallClock) {
        self.config = config
        self.store = store
        self.registry = registry
        self.access = access
        self.clock = clock
        sessions = DashboardSessions(timeout: config.dashboard.sessionTimeout)
        do {
            templates = try DashboardTemplates.library()
        } catch {
            preconditionFailure("the dashboard's built-in templates do not parse: \(error)")
        }
        roster = FleetRoster(config.gateways)
        replayCache = ReplayCache(capacity: config.dashboard.replayCacheBytes)
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/dashboard") { _, _ in Self.redirect("/dashboard/fleet") }
        router.get("/dashboard/login") { request, _ in try await loginPage(request) }
        router.post("/dashboard/login") { request, _ in try await login(request) }
        router.post("/dashboard/logout") { request, _ in try await logout(request) }
        router.get("/dashboard/fleet") { request, _ in try await screen(request) { try await fleetPage(request, $0) } }
        router.get("/dashboard/alerts") { request, _ in try await screen(request) { try await alertsPage($0) } }
        router.post("/dashboard/alerts/:id/ack") { request, context in
            try await action(request) { try await acknowledge(context, $0) }
        }
        router.get("/dashboard/gateways/:id") { request, context in
            try await screen(request) { try await gatewayPage(request, context, $0) }
        }
        router.get("/dashboard/models") { request, _ in try await screen(request) { try await modelsIndex($0) } }
        router.get("/dashboard/models/:scope") { request, context in
            try await screen(request) { try await modelsPage(request, context, $0) }
        }
        router.get("/dashboard/rollout") { request, _ in try await screen(request) { try await rolloutsPage($0) } }
        router.get("/dashboard/rollout/:scope") { request, context in
            try await screen(request) { try await rolloutPage(context, $0) }
        }
        router.post("/dashboard/rollout/:scope/:action") { request, context in
            try await action(request) { try await rolloutAction(context, $0) }
        }
        router.get(RouterPath(API.Route.fleet)) { request, _ in try await fleetJSON(request) }
        router.get(RouterPath(API.Route.gatewayTimeline)) { request, context in try await timelineJSON(request, context)
        }
        router.post(RouterPath(API.Route.dashboardLoginLink)) { request, _ in try await loginLink(request) }
        registerModels(on: router)
    }

    // MARK: Sessions

    /// The request's live session, from its cookie.
    func session(_ request: Request) -> DashboardSessions.Session? {
        guard let header = request.headers[.cookie] else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix(Self.cookie + "=") {
                return sessions.session(String(pair.dropFirst(Self.cookie.count + 1)), now: clock.now().seconds)
            }
        }
        return nil
    }

    /// A screen: its session, else the login page (303).
    func screen(_ request: Request, _ body: (DashboardSessions.Session) async throws -> Response) async throws
        -> Response
    {
        guard let session = session(request) else {
            let query = request.uri.query.map { "?" + $0 } ?? ""
            return Self.redirect("/dashboard/login?next=" + API.pathSegment(request.uri.path + query))
        }
        return try await body(session)
    }

    /// A state-changing POST: an admin session and its CSRF token in the form, else 403 (401 without a session).
    func action(_ request: Request, _ body: (DashboardSessions.Session) async throws -> Response) async throws
        -> Response
    {
        guard let session = session(request) else {
            return try problem(.unauthorized, "Not logged in", "Log in first.", session: nil, back: "/dashboard/login")
        }
        let form = try await Self.form(request)
        guard let csrf = form["csrf"], constantTimeEqual(csrf, session.csrf) else {
            return try problem(
                .forbidden, "Refused", "The form's CSRF token is missing or stale: reload the page and try again.",
                session: session, back: nil)
        }
        guard session.role == .admin else {
            return try problem(
                .forbidden, "Read-only", "This login is read-only (viewer token): it cannot change anything.",
                session: session, back: nil)
        }
        return try await body(session)
    }

    func loginPage(_ request: Request) async throws -> Response {
        let next = Self.safeNext(request.uri.queryParameters["next"].map(String.init))
        if let code = request.uri.queryParameters["once"].map(String.init) {
            guard let session = sessions.redeem(code, now: clock.now().seconds) else {
                access.refusals?.refused("dashboard login with an unknown or spent one-time link")
                return try render(
                    "login",
                    LoginView(
                        frame: frame("Log in", nil, nil), next: next, error: "This login link was used or has expired."),
                    status: .unauthorized)
            }
            return loggedIn(session, next: next)
        }
        if self.session(request) != nil { return Self.redirect(next) }
        return try render("login", LoginView(frame: frame("Log in", nil, nil), next: next, error: nil))
    }

    func login(_ request: Request) async throws -> Response {
        let form = try await Self.form(request)
        let next = Self.safeNext(form["next"])
        let hash = tokenHash(form["token"] ?? "")
        let role: DashboardSessions.Role? =
            if let admin = config.adminTokenHash, constantTimeEqual(hash, admin) {
                .admin
            } else if let viewer = config.dashboard.viewerTokenHash, constantTimeEqual(hash, viewer) {
                .viewer
            } else {
                nil
            }
        guard let role else {
            let gateway = access.gateways[hash] != nil
            access.refusals?.refused("dashboard login with \(gateway ? "a gateway's" : "an unknown") token")
            let message =
                gateway
                ? "That is a gateway's token: the dashboard needs the admin or the viewer token."
                : "Unknown token."
            return try render(
                "login", LoginView(frame: frame("Log in", nil, nil), next: next, error: message),
                status: gateway ? .forbidden : .unauthorized)
        }
        return loggedIn(sessions.open(role, now: clock.now().seconds), next: next)
    }

    func loggedIn(_ session: DashboardSessions.Session, next: String) -> Response {
        var cookie =
            "\(Self.cookie)=\(session.id); Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=\(Int(sessions.timeout))"
        if config.http.isTLS { cookie += "; Secure" }
        var response = Self.redirect(next)
        response.headers[.setCookie] = cookie
        return response
    }

    func logout(_ request: Request) async throws -> Response {
        guard let session = session(request) else { return Self.redirect("/dashboard/login") }
        let form = try await Self.form(request)
        guard let csrf = form["csrf"], constantTimeEqual(csrf, session.csrf) else {
            return try problem(
                .forbidden, "Refused", "The form's CSRF token is missing or stale.", session: session, back: nil)
        }
        sessions.close(session.id)
        var response = Self.redirect("/dashboard/login")
        response.headers[.setCookie] =
            "\(Self.cookie)=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0\(config.http.isTLS ? "; Secure" : "")"
        return response
    }

    /// `POST /v1/dashboard/login-link[?next=/dashboard/…&role=viewer]` (admin token): a one-time login link.
    func loginLink(_ request: Request) async throws -> Response {
        try access.requireAdmin(request)
        let next = Self.safeNext(request.uri.queryParameters["next"].map(String.init))
        let role: DashboardSessions.Role
        switch request.uri.queryParameters["role"].map(String.init) {
        case nil, "admin": role = .admin
        case "viewer": role = .viewer
        case let other?: throw APIError(.badRequest, "role=\(other.prefix(32)): expected admin or viewer")
        }
        let (code, expires) = sessions.code(role, now: clock.now().seconds)
        let path = "/dashboard/login?once=\(code)&next=\(API.pathSegment(next))"
        return try Response.json(
            DashboardLoginLink(
                url: API.url(config.baseURL, path), path: path, expires: Instant(seconds: expires).iso8601))
    }

    // MARK: Helpers

    /// Where to go after logging in: a dashboard path (with its query), never another site; anything else (another
    /// host, `//`, a backslash, a character outside a conservative URL set, more than 1,000 bytes) is the Fleet screen.
    static func safeNext(_ raw: String?) -> String {
        let fallback = "/dashboard/fleet"
        guard let raw else { return fallback }
        // Query parameters arrive decoded; a still-encoded path (`%2Fdashboard…`) is decoded once.
        let next = raw.hasPrefix("/") ? raw : (API.decodePathSegment(raw) ?? raw)
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-._~?&=%#")
        guard next.hasPrefix("/dashboard/"), !next.contains("//"), next.utf8.count <= 1000,
            next.allSatisfy({ allowed.contains($0) })
        else { return fallback }
        return next
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// An `application/x-www-form-urlencoded` body (at most 16 KiB) as a dictionary.
    static func form(_ request: Request) async throws -> [String: String] {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: 16 << 10)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "a dashboard form is at most 16 KiB")
        }
        return parseForm(String(decoding: buffer.readableBytesView, as: UTF8.self))
    }

    static func parseForm(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) in
                API.decodePathSegment(s.replacingOccurrences(of: "+", with: " ")) ?? ""
            }
            let key = decode(parts[0])
            if out[key] == nil { out[key] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return out
    }

    func render(_ template: String, _ view: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        guard let html = templates.render(DashboardBox.box(view) ?? view, withTemplate: template) else {
            throw APIError(.internalServerError, "dashboard template '\(template)' is missing")
        }
        return Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy:
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                .xContentTypeOptions: "nosniff", .referrerPolicy: "no-referrer",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func problem(
        _ status: HTTPResponse.Status, _ heading: String, _ message: String, session: DashboardSessions.Session?,
        back: String?
    ) throws -> Response {
        try render(
            "problem", ProblemView(frame: frame(heading, session, nil), heading: heading, message: message, back: back),
            status: status)
    }
}

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
