import FleetProtocol
import Foundation
import Hummingbird
import OccupantCore

extension Dashboard {
    /// Member states in the order the progress bar draws them, with their colours (the legend and each mark's title
    /// name them too: colour is not the only carrier).
    static let rolloutStates: [(name: String, colour: String, text: String)] = [
        ("passed", "#2e7d32", "#fff"), ("inProbation", "#64b5f6", "#000"), ("installing", "#bbdefb", "#000"),
        ("pending", "#cfd8dc", "#000"), ("alerted", "#ffb300", "#000"), ("rolledBack", "#c62828", "#fff"),
        ("withdrawn", "#6d4c41", "#fff"),
    ]

    /// What an operator can do in each rollout state.
    static func actions(_ state: String?) -> [RolloutDocument.Action] {
        switch state {
        case "running": [.abort, .rollback]
        case "aborted": [.resume, .rollback]
        default: []
        }
    }

    struct RolloutsView {
        struct Scope {
            let name: String
            let href: String
            let version: String
            let state: String
            let wave: String
        }
        let frame: Frame
        let scopes: [Scope]
    }

    struct RolloutView {
        struct Segment {
            let name: String
            let count: Int
            let colour: String
            let x: String
            let width: String
        }
        struct Wave {
            let number: Int
            let state: String
            let summary: String
            let total: Int
            let segments: [Segment]
            let gateways: [Member]
        }
        struct Member {
            let gateway: String
            let path: String
            let state: String
            let since: String
            let reason: String
        }
        struct Action {
            let name: String
            let label: String
            let href: String
        }
        struct Legend {
            let name: String
            let colour: String
            let text: String
        }

        let frame: Frame
        let scope: String
        let scopePath: String
        let present: Bool
        let version: String
        let previous: String
        let state: String
        let reason: String?
        let started: String
        let probation: String
        let abortShare: String
        let canAct: Bool
        let csrf: String
        let actions: [Action]
        let legend: [Legend]
        let waves: [Wave]
        let json: String
    }

    func rolloutsPage(_ session: DashboardSessions.Session) async throws -> Response {
        var scopes: [RolloutsView.Scope] = []
        for scope in config.scopes {
            let r = try await store.rollout(scope: scope)
            scopes.append(
                RolloutsView.Scope(
                    name: scope, href: "/dashboard/rollout/\(API.pathSegment(scope))",
                    version: r.map { String($0.version) } ?? "—", state: r?.state.rawValue ?? "none",
                    wave: r.map { "\($0.reached + 1) of \($0.waves)" } ?? "—"))
        }
        return try render("rollouts", RolloutsView(frame: frame("Rollout", session, "rollout"), scopes: scopes))
    }

    func rolloutPage(_ context: BasicRequestContext, _ session: DashboardSessions.Session) async throws -> Response {
        let raw = context.parameters.get("scope") ?? ""
        guard let scope = API.decodePathSegment(raw), config.scopes.contains(scope) else {
            return try problem(
                .notFound, "Rollout", "There is no scope \(raw.prefix(64)).", session: session,
                back: "/dashboard/rollout")
        }
        let doc = try await registry.rolloutDocument(scope: scope)
        return try render("rollout", rolloutView(scope: scope, doc, session))
    }

    func rolloutView(scope: String, _ doc: RolloutDocument?, _ session: DashboardSessions.Session) -> RolloutView {
        let base = "/dashboard/rollout/\(API.pathSegment(scope))"
        let waves = (doc?.waves ?? []).map { wave in
            let total = wave.gateways.count
            var x = 0.0
            var segments: [RolloutView.Segment] = []
            for (name, colour, _) in Self.rolloutStates {
                let n = wave.counts[name] ?? 0
                guard n > 0, total > 0 else { continue }
                let width = 400 * Double(n) / Double(total)
                segments.append(
                    RolloutView.Segment(
                        name: name, count: n, colour: colour, x: String(format: "%.2f", x),
                        width: String(format: "%.2f", width)))
                x += width
            }
            let summary =
                Self.rolloutStates.compactMap { s in
                    (wave.counts[s.name] ?? 0) > 0 ? "\(wave.counts[s.name]!) \(s.name)" : nil
                }
                .joined(separator: ", ")
            return RolloutView.Wave(
                number: wave.number, state: wave.state, summary: summary.isEmpty ? "no gateways" : summary,
                total: total, segments: segments,
                gateways: wave.gateways.map {
                    RolloutView.Member(
                        gateway: $0.gateway, path: API.pathSegment($0.gateway), state: $0.state, since: $0.since ?? "",
                        reason: $0.reason ?? "")
                })
        }
        var page = frame("Rollout \(scope)", session, "rollout")
        // A running rollout moves: the page follows it.
        page.refresh = doc?.state == "running" ? 30 : nil
        return RolloutView(
            frame: page, scope: scope, scopePath: API.pathSegment(scope),
            present: doc != nil,
            version: doc.map { String($0.version) } ?? "",
            previous: doc?.previous.map { "version \($0)" } ?? "the rule",
            state: doc?.state ?? "", reason: doc?.reason, started: doc?.started ?? "",
            probation: doc.map { Self.duration($0.probationSeconds) } ?? "",
            abortShare: doc.map { Self.number($0.abortShare * 100) + " %" } ?? "", canAct: session.role == .admin,
            csrf: session.csrf,
            actions: Self.actions(doc?.state).map {
                RolloutView.Action(
                    name: $0.rawValue, label: [.abort: "Abort", .resume: "Resume", .rollback: "Roll back"][$0] ?? "",
                    href: "\(base)/\($0.rawValue)")
            },
            legend: Self.rolloutStates.map { RolloutView.Legend(name: $0.name, colour: $0.colour, text: $0.text) },
            waves: waves,
            json: API.rollout(scope: scope))
    }

    func rolloutAction(_ context: BasicRequestContext, _ session: DashboardSessions.Session) async throws -> Response {
        let raw = context.parameters.get("scope") ?? ""
        let back = "/dashboard/rollout/\(raw)"
        guard let scope = API.decodePathSegment(raw), config.scopes.contains(scope) else {
            return try problem(
                .notFound, "Rollout", "There is no scope \(raw.prefix(64)).", session: session, back: nil)
        }
        guard let action = RolloutDocument.Action(rawValue: context.parameters.get("action") ?? "") else {
            return try problem(.badRequest, "Rollout", "Not a rollout action.", session: session, back: back)
        }
        do {
            guard try await registry.rolloutAction(scope: scope, action, by: "dashboard") != nil else {
                return try problem(
                    .notFound, "Rollout", "Scope \(scope) has no rollout yet.", session: session, back: back)
            }
        } catch let error as OccupantError {
            return try problem(.conflict, "Rollout", error.message, session: session, back: back)
        }
        return Self.redirect(back)
    }

    /// Seconds as an operator reads them: `24 h`, `30 min`, `45 s`.
    static func duration(_ s: Double) -> String {
        if s >= 3600, s.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(s / 3600)) h" }
        if s >= 60, s.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(s / 60)) min" }
        return "\(number(s)) s"
    }
}
