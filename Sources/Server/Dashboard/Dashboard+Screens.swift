import FleetProtocol
import Foundation
import Hummingbird
import OccupantCore

/// What every page's header shows: the title, the screens, who is logged in and the logout form's CSRF token.
struct Frame {
    struct Link {
        let href: String
        let label: String
        let current: Bool
    }

    let title: String
    let signedIn: Bool
    let nav: [Link]
    let role: String
    let csrf: String
    /// Reload the page every this many seconds (no script: a meta refresh).
    var refresh: Int? = nil
}

struct LoginView {
    let frame: Frame
    let next: String
    let error: String?
}

struct ProblemView {
    let frame: Frame
    let heading: String
    let message: String
    let back: String?
}

extension Dashboard {
    static let screens = [("fleet", "Fleet"), ("alerts", "Alerts"), ("rollout", "Rollout"), ("models", "Models")]

    func frame(_ title: String, _ session: DashboardSessions.Session?, _ current: String?) -> Frame {
        Frame(
            title: title, signedIn: session != nil,
            nav: Self.screens.map { Frame.Link(href: "/dashboard/\($0.0)", label: $0.1, current: $0.0 == current) },
            role: session.map { $0.role == .admin ? "admin" : "viewer (read-only)" } ?? "", csrf: session?.csrf ?? "")
    }

    // MARK: Fleet

    struct FleetView {
        struct Count {
            let name: String
            let count: Int
            let href: String?
        }
        struct Option {
            let value: String
            let selected: Bool
        }
        struct Column {
            let label: String
            let href: String?
            let ariaSort: String?
        }
        struct Row {
            let id: String
            let path: String
            let scope: String
            let scopePath: String
            let state: String
            let lastSeen: String?
            let active: String?
            let wave: String?
            let alerts: String?
            let estimated: String
            let drifting: String?
            var shadow: String? = nil
        }

        let frame: Frame
        let states: [Count]
        let conditions: [Count]
        let models: [Count]
        let scopes: [Option]
        let stateOptions: [Option]
        let sort: String
        let order: String
        let columns: [Column]
        let gateways: [Row]
        let first: Int
        let last: Int
        let matching: Int
        let page: Int
        let pages: Int
        let previous: String?
        let next: String?
        let json: String
    }

    /// The query string's filter, sort and page; a value it does not know is a 400 naming it.
    func fleetQuery(_ request: Request) throws -> FleetQuery {
        let q = request.uri.queryParameters
        var query = FleetQuery()
        if let scope = q["scope"].map(String.init), !scope.isEmpty {
            let decoded = API.decodePathSegment(scope.replacingOccurrences(of: "+", with: " ")) ?? scope
            guard config.scopes.contains(decoded) else {
                throw APIError(.badRequest, "scope=\(decoded.prefix(64)): not a configured scope")
            }
            query.scope = decoded
        }
        if let state = q["state"].map(String.init), !state.isEmpty {
            guard FleetQuery.states.contains(state) else {
                throw APIError(
                    .badRequest, "state=\(state.prefix(32)): expected \(FleetQuery.states.joined(separator: ", "))")
            }
            query.state = state
        }
        if let sort = q["sort"].map(String.init), !sort.isEmpty {
            guard let s = FleetQuery.Sort(rawValue: sort) else {
                let known = FleetQuery.Sort.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError(.badRequest, "sort=\(sort.prefix(32)): expected \(known)")
            }
            query.sort = s
        }
        switch q["order"].map(String.init) {
        case nil, "", "asc": query.descending = false
        case "desc": query.descending = true
        case let other?: throw APIError(.badRequest, "order=\(other.prefix(32)): expected asc or desc")
        }
        if let page = q["page"].map(String.init), !page.isEmpty {
            guard let n = Int(page), n >= 1 else {
                throw APIError(.badRequest, "page=\(page.prefix(32)): expected 1 or more")
            }
            query.page = n
        }
        return query
    }

    func fleetDocument(_ query: FleetQuery) async throws -> FleetDocument {
        try await store.fleet(
            query, configured: roster, now: clock.now().seconds, onlineWithin: config.dashboard.onlineWithin,
            probation: config.promotion.probation)
    }

    /// `GET /v1/fleet` — the Fleet screen's data (admin token).
    func fleetJSON(_ request: Request) async throws -> Response {
        try access.requireAdmin(request)
        return try Response.json(try await fleetDocument(try fleetQuery(request)))
    }

    static func fleetLink(_ q: FleetQuery, page: Int? = nil, sort: FleetQuery.Sort? = nil, descending: Bool? = nil)
        -> String
    {
        var parts: [String] = []
        if let s = q.scope { parts.append("scope=\(API.pathSegment(s))") }
        if let s = q.state { parts.append("state=\(s)") }
        parts.append("sort=\((sort ?? q.sort).rawValue)")
        parts.append("order=\((descending ?? q.descending) ? "desc" : "asc")")
        parts.append("page=\(page ?? q.page)")
        return "/dashboard/fleet?" + parts.joined(separator: "&")
    }

    func fleetPage(_ request: Request, _ session: DashboardSessions.Session) async throws -> Response {
        let query: FleetQuery
        do {
            query = try fleetQuery(request)
        } catch let error as APIError {
            return try problem(.badRequest, "Fleet", error.message, session: session, back: "/dashboard/fleet")
        }
        let doc = try await fleetDocument(query)
        let pages = max(1, (doc.matching + doc.pageSize - 1) / doc.pageSize)
        let first = doc.gateways.isEmpty ? 0 : (doc.page - 1) * doc.pageSize + 1
        let columns: [(String, FleetQuery.Sort?)] = [
            ("Gateway", .id), ("Scope", .scope), ("State", nil), ("Last seen", .seen), ("Active model", .model),
            ("Shadow", nil), ("Wave", nil), ("Estimated accuracy", nil), ("Drift", nil), ("Open alerts", .alerts),
        ]
        var unfiltered = FleetQuery()
        unfiltered.sort = query.sort
        unfiltered.descending = query.descending
        let view = FleetView(
            frame: frame("Fleet", session, "fleet"),
            states: FleetQuery.states.map { s in
                var filtered = unfiltered
                filtered.state = s
                return FleetView.Count(name: s, count: doc.states[s] ?? 0, href: Self.fleetLink(filtered, page: 1))
            },
            conditions: [("silent", "silent"), ("inProbation", "in probation"), ("rolledBack", "rolled back")].map {
                FleetView.Count(name: $0.1, count: doc.conditions[$0.0] ?? 0, href: nil)
            },
            models: doc.models.sorted { $0.key < $1.key }.map {
                FleetView.Count(name: $0.key, count: $0.value, href: nil)
            },
            scopes: config.scopes.map { FleetView.Option(value: $0, selected: $0 == query.scope) },
            stateOptions: FleetQuery.states.map { FleetView.Option(value: $0, selected: $0 == query.state) },
            sort: query.sort.rawValue, order: query.descending ? "desc" : "asc",
            columns: columns.map { label, sort in
                guard let sort else { return FleetView.Column(label: label, href: nil, ariaSort: nil) }
                let current = sort == query.sort
                return FleetView.Column(
                    label: label,
                    href: Self.fleetLink(query, page: 1, sort: sort, descending: current ? !query.descending : false),
                    ariaSort: current ? (query.descending ? "descending" : "ascending") : nil)
            },
            gateways: doc.gateways.map { g in
                FleetView.Row(
                    id: g.id, path: API.pathSegment(g.id), scope: g.scope, scopePath: API.pathSegment(g.scope),
                    state: g.state, lastSeen: g.lastSeen, active: g.active,
                    wave: g.wave.map(String.init), alerts: g.openAlerts > 0 ? String(g.openAlerts) : nil,
                    estimated: Self.percent(g.estimatedAccuracy),
                    drifting: g.drifting > 0 ? "\(g.drifting) drifting" : nil, shadow: Self.shadowCell(g))
            },
            first: first, last: first == 0 ? 0 : first + doc.gateways.count - 1, matching: doc.matching,
            page: doc.page, pages: pages,
            previous: doc.page > 1 ? Self.fleetLink(query, page: doc.page - 1) : nil,
            next: doc.page < pages ? Self.fleetLink(query, page: doc.page + 1) : nil,
            json: Self.fleetLink(query).replacingOccurrences(of: "/dashboard/fleet", with: API.Route.fleet))
        return try render("fleet", view)
    }

    // MARK: Alerts

    struct AlertsView {
        struct Number {
            let name: String
            let value: String
        }
        struct Item {
            let id: Int
            let kind: String
            let scope: String
            let scopePath: String
            let gateway: String
            let gatewayPath: String?
            let message: String
            let numbers: [Number]
            let raisedAt: String
            let clearedAt: String
            let acknowledgedAt: String?
            let acknowledgedBy: String
            let canAct: Bool
            let csrf: String
        }
        struct Group {
            let id: String
            let caption: String
            let count: Int
            let alerts: [Item]
        }

        let frame: Frame
        let groups: [Group]
        let clearedLimit: Int
    }

    func alertsPage(_ session: DashboardSessions.Session) async throws -> Response {
        let open = try await store.alertDocuments(open: true).reversed()
        let cleared = try await store.clearedAlerts(limit: Self.clearedLimit)
        let item = { (a: AlertDocument) in
            AlertsView.Item(
                id: a.id, kind: a.kind, scope: a.scope, scopePath: API.pathSegment(a.scope), gateway: a.gateway ?? "",
                gatewayPath: a.gateway.map(API.pathSegment), message: a.message,
                numbers: a.numbers.sorted { $0.key < $1.key }.map {
                    AlertsView.Number(name: $0.key, value: Self.number($0.value))
                }, raisedAt: a.raisedAt, clearedAt: a.clearedAt ?? "", acknowledgedAt: a.acknowledgedAt,
                acknowledgedBy: a.acknowledgedBy ?? "", canAct: session.role == .admin && a.isOpen, csrf: session.csrf)
        }
        return try render(
            "alerts",
            AlertsView(
                frame: frame("Alerts", session, "alerts"),
                groups: [
                    AlertsView.Group(id: "open-alerts", caption: "Open", count: open.count, alerts: open.map(item)),
                    AlertsView.Group(
                        id: "cleared-alerts", caption: "Cleared", count: cleared.count, alerts: cleared.map(item)),
                ], clearedLimit: Self.clearedLimit))
    }

    func acknowledge(_ context: BasicRequestContext, _ session: DashboardSessions.Session) async throws -> Response {
        let raw = context.parameters.get("id") ?? ""
        guard let id = Int(raw), id > 0,
            try await store.acknowledgeAlert(id: id, by: "dashboard", at: clock.now().seconds) != nil
        else {
            return try problem(
                .notFound, "Alerts", "There is no alert \(raw.prefix(32)).", session: session, back: "/dashboard/alerts"
            )
        }
        return Self.redirect("/dashboard/alerts")
    }

    /// A number as an operator reads it: integers without a fraction, others to 4 significant digits.
    static func number(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
        return String(format: "%.4g", v)
    }
}
