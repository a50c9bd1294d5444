import AsyncHTTPClient
import Evaluator
import FleetProtocol
import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// The Gateway screen in Chromium over a day of the simulated office: a rule decided the first eight hours, then the
/// trained model (the demo's flip), labels measured the model's windows. The screenshot is the one in `docs/`.
@Suite(.serialized, .ownThread) struct DashboardGatewayBrowserTests {
    @Test func theTimelineShowsTheFlipFromTheRuleToTheModel() async throws {
        let chromium = try Chromium()
        let bundle = try MonitorFleetTests.trained.get()
        let rig = try RouteRig("dash-flip")
        try await rig.champion(try bundle.encodeUnsigned())
        let day = MonitorFleetTests.days(10..<11)
        _ = try await rig.store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: day.rows)
        var windows = try MonitorFleetTests.gateway(bundle, days: 10..<11).windows
        for i in 0..<8 { windows[i].decidedBy = "rule:sound>10" }
        for w in windows {
            try await rig.store.insertMonitor(
                try Intake(rig.config.intake).monitor(
                    json: try FleetJSON.bytes(w), gateway: "gw-a", now: (w.window.to.seconds ?? 0) + 1))
        }
        try await rig.store.insertLabels(day.labels)
        await rig.registry.labelsArrived(day.labels)
        try FileManager.default.createDirectory(
            at: DashboardBrowserTests.screenshots, withIntermediateDirectories: true)
        try await rig.live { base in
            var request = HTTPClientRequest(url: base + "/v1/gateways/gw-a/timeline?hours=24")
            request.headers.add(name: "Authorization", value: "Bearer admin-token")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 8 << 20)
            let t = try FleetJSON.decode(GatewayTimeline.self, from: Array(body.readableBytesView))
            #expect(t.replayedWith == ["model:occupancy-office@1"])
            #expect(t.unreplayed.count == 1 && t.unreplayed[0].decidedBy == "rule:sound>10")
            #expect(t.accuracy.contains { $0.realised != nil })

            let dom = try await chromium.dom(try await DashboardBrowserTests.link(base, "/dashboard/gateways/gw-a"))
            let timeline = try DashboardBrowserTests.svg(dom, "timeline")
            #expect(DashboardBrowserTests.count(#"class="mark state""#, in: timeline) == t.states.count)
            #expect(DashboardBrowserTests.count(#"class="mark gap""#, in: timeline) == 1)
            #expect(DashboardBrowserTests.count(#"class="mark label""#, in: timeline) == t.labels.count)
            #expect(timeline.contains(#"class="probability""#))
            let accuracy = try DashboardBrowserTests.svg(dom, "accuracy")
            #expect(
                DashboardBrowserTests.count(#"class="mark realised""#, in: accuracy)
                    == t.accuracy.filter { $0.realised != nil }.count)
            #expect(dom.contains("State and probability replayed with occupancy-office@1"))
            try await chromium.screenshot(
                try await DashboardBrowserTests.link(base, "/dashboard/gateways/gw-a"),
                to: DashboardBrowserTests.screenshots.appendingPathComponent("gateway-replay.png"), width: 1200,
                height: 1400)
        }
    }
}
