import FleetProtocol
import Foundation
import Hummingbird
import OccupantCore

extension Dashboard {
    /// The Gateway screen's span: its monitor windows of the last day, at most `maxWindows` of them (the newest).
    static let gatewayHours = 24.0
    static let maxWindows = 288

    struct GatewayView {
        struct Window {
            let to: String
            let samples: Int
            let decidedBy: String
            let accuracy: String
            let realised: String
            let drifted: String
            let cpu: String
            let rss: String
        }

        struct Gap {
            let span: String
            let reason: String
        }

        struct Event {
            let at: String
            let kind: String
            let model: String
            let href: String?
            let detail: String
        }

        let frame: Frame
        let id: String
        let scope: String
        let scopePath: String
        let hours: Int
        let count: Int
        let decidedBy: String?
        let timeline: DashboardPlots.Timeline
        let replayNote: String
        let gaps: [Gap]
        let channels: [DashboardPlots.ChannelPlot]
        let accuracy: DashboardPlots.AccuracyPlot
        let drift: DashboardPlots.HeatMap
        let history: [Event]
        let processAt: String?
        let cpu: String
        let rss: String
        let uptime: String
        let spool: String
        let windows: [Window]
        let json: String
        let monitorJSON: String
    }

    func gatewayPage(
        _ request: Request, _ context: BasicRequestContext, _ session: DashboardSessions.Session
    ) async throws -> Response {
        let raw = context.parameters.get("id") ?? ""
        guard let id = API.decodePathSegment(raw), let gateway = config.gateway(id) else {
            return try problem(
                .notFound, "Gateway", "There is no gateway \(raw.prefix(64)).", session: session,
                back: "/dashboard/fleet")
        }
        let hours: Int
        do {
            hours = try self.hours(request)
        } catch let error as APIError {
            return try problem(.badRequest, "Gateway", error.message, session: session, back: "/dashboard/fleet")
        }
        let t = try await timeline(gateway: id, scope: gateway.scope, hours: hours)
        let windows = Array(try await store.monitorWindows(gateway: id, since: t.from).suffix(Self.maxWindows))
        let features = Array(Set(windows.flatMap { $0.drift?.keys.map { $0 } ?? [] })).sorted()
        let drift = windows.compactMap {
            w -> (at: Double, drift: [String: (score: Double, threshold: Double?, drifted: Bool)])? in
            guard let at = w.window.to.seconds, let d = w.drift else { return nil }
            return (at, d.mapValues { ($0.score, $0.threshold, $0.drifted) })
        }
        let scopePath = API.pathSegment(gateway.scope)
        let dash = "—"
        let replayNote =
            t.replayedWith.isEmpty
            ? "No state or probability replayed in this span: the server does not receive the states a gateway publishes, it replays its telemetry through the bundle its monitor windows name."
            : "State and probability replayed with \(t.replayedWith.map { String($0.dropFirst(6)) }.joined(separator: ", then ")) from the gateway's telemetry (the server does not receive the published states), as realised accuracy is measured."
        let view = GatewayView(
            frame: frame("Gateway \(id)", session, "fleet"), id: id, scope: gateway.scope, scopePath: scopePath,
            hours: hours, count: windows.count, decidedBy: windows.last?.decidedBy,
            timeline: DashboardPlots.timeline(id: "timeline", t), replayNote: replayNote,
            gaps: t.unreplayed.map { .init(span: DashboardPlots.span($0.from, $0.to), reason: $0.reason) },
            channels: t.channels.enumerated().map {
                DashboardPlots.channel(id: "channel-\($0.offset + 1)", $0.element, from: t.from, to: t.to)
            },
            accuracy: DashboardPlots.accuracy(
                id: "accuracy", title: "Accuracy of \(id) per monitor window", t.accuracy,
                reference: windows.last?.bundleAccuracy),
            drift: DashboardPlots.heatMap(
                id: "drift", title: "Feature drift of \(id)", features: features, windows: drift),
            history: t.history.reversed().map { e in
                GatewayView.Event(
                    at: Instant(seconds: e.at).iso8601, kind: e.kind, model: e.model ?? "",
                    href: e.version.map { "/dashboard/models/\(scopePath)?version=\($0)#version" }, detail: e.detail)
            }.reversed(),
            processAt: t.process.at.map { Instant(seconds: $0).iso8601 },
            cpu: t.process.cpuSeconds.map { String(format: "%.1f", $0) } ?? dash,
            rss: t.process.rssBytes.map { String(format: "%.1f", Double($0) / 1_048_576) } ?? dash,
            uptime: t.process.uptimeSeconds.map { String(format: "%.1f", $0 / 3600) } ?? dash,
            spool: t.process.spoolBacklog.map(String.init) ?? dash,
            windows: windows.reversed().map { w in
                GatewayView.Window(
                    to: w.window.to.instant?.iso8601 ?? "", samples: w.window.samples, decidedBy: w.decidedBy ?? "",
                    accuracy: w.expectedAccuracy.map(DashboardPlots.percent) ?? "",
                    realised: w.realised.map { "\(DashboardPlots.percent($0.accuracy)) (\($0.rows) rows)" } ?? "",
                    drifted: (w.drift ?? [:]).filter(\.value.drifted).keys.sorted().joined(separator: ", "),
                    cpu: w.process.cpuSeconds.map { String(format: "%.1f", $0) } ?? "",
                    rss: w.process.rssBytes.map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "")
            },
            json: API.gatewayTimeline(id, hours: hours),
            monitorJSON: API.gatewayMonitor(id, since: Instant(seconds: t.from).iso8601))
        return try render("gateway", view)
    }
}

extension Dashboard {
    /// The Fleet table's Shadow cell: what its newest window scored in shadow, and the version assigned when that is
    /// another one (not yet picked up).
    static func shadowCell(_ g: FleetDocument.Gateway) -> String? {
        let running = g.shadow.map { "\($0) (running)" }
        let offered = g.shadowAssigned.flatMap { v in g.shadow?.hasSuffix("@\(v)") == true ? nil : "v\(v) offered" }
        let parts = [running, offered].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }
}
