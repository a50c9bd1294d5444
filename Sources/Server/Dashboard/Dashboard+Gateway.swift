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
            let drifted: String
            let cpu: String
            let rss: String
        }

        let frame: Frame
        let id: String
        let scope: String
        let scopePath: String
        let hours: Int
        let count: Int
        let decidedBy: String?
        let accuracy: DashboardPlots.LinePlot
        let drift: DashboardPlots.HeatMap
        let windows: [Window]
        let json: String
    }

    func gatewayPage(_ context: BasicRequestContext, _ session: DashboardSessions.Session) async throws -> Response {
        let raw = context.parameters.get("id") ?? ""
        guard let id = API.decodePathSegment(raw), let gateway = config.gateway(id) else {
            return try problem(
                .notFound, "Gateway", "There is no gateway \(raw.prefix(64)).", session: session,
                back: "/dashboard/fleet")
        }
        // The day up to its newest window (a gateway's clock may run apart from the server's: a simulation, a
        // gateway that was off).
        let end = try await store.monitorWindowsEnd(gateway: id) ?? clock.now().seconds
        let since = end - Self.gatewayHours * 3600
        let windows = Array(try await store.monitorWindows(gateway: id, since: since).suffix(Self.maxWindows))
        let estimates = windows.compactMap { w in
            w.expectedAccuracy.flatMap { a in w.window.to.seconds.map { (at: $0, value: a) } }
        }
        let features = Array(Set(windows.flatMap { $0.drift?.keys.map { $0 } ?? [] })).sorted()
        let drift = windows.compactMap {
            w -> (at: Double, drift: [String: (score: Double, threshold: Double?, drifted: Bool)])? in
            guard let at = w.window.to.seconds, let d = w.drift else { return nil }
            return (at, d.mapValues { ($0.score, $0.threshold, $0.drifted) })
        }
        let view = GatewayView(
            frame: frame("Gateway \(id)", session, "fleet"), id: id, scope: gateway.scope,
            scopePath: API.pathSegment(gateway.scope), hours: Int(Self.gatewayHours), count: windows.count,
            decidedBy: windows.last?.decidedBy,
            accuracy: DashboardPlots.line(
                id: "accuracy", title: "Estimated accuracy of \(id) per monitor window",
                yLabel: "estimated accuracy (%)", values: estimates, reference: windows.last?.bundleAccuracy,
                referenceLabel: "the bundle's out-of-fold accuracy"),
            drift: DashboardPlots.heatMap(
                id: "drift", title: "Feature drift of \(id)", features: features, windows: drift),
            windows: windows.reversed().map { w in
                GatewayView.Window(
                    to: w.window.to.instant?.iso8601 ?? "", samples: w.window.samples, decidedBy: w.decidedBy ?? "",
                    accuracy: w.expectedAccuracy.map { String(format: "%.1f %%", $0 * 100) } ?? "",
                    drifted: (w.drift ?? [:]).filter(\.value.drifted).keys.sorted().joined(separator: ", "),
                    cpu: w.process.cpuSeconds.map { String(format: "%.1f", $0) } ?? "",
                    rss: w.process.rssBytes.map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "")
            },
            json: API.gatewayMonitor(id, since: Instant(seconds: since).iso8601))
        return try render("gateway", view)
    }
}
