import Evaluator
import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MQTT
import NIOCore
import OccupantCore
import OccupantTesting
import Testing
import Training

@testable import Server

/// What `DashboardBrowserTests` and these tests add to `DashboardRig` for the Gateway screen: gw-a's telemetry for
/// the day of its windows (a channel whose name is markup), a label span over HTTP, a correction from Home Assistant
/// and a label whose source is markup; gw-b's newest window scored a shadow.
enum DashboardGatewaySeed {
    static let channel = "<i>co2"
    static let source = "mqtt:<b>bold"

    static func seed(_ d: DashboardRig) async throws {
        let now = d.clock.now().seconds
        let rows = stride(from: now - 3 * 3600, to: now, by: 60.0).map { at in
            TelemetryRow(
                gateway: "gw-a", at: at,
                readings: [
                    channel: .number(400 + (at - now) / 100), "sound": .number(at.truncatingRemainder(dividingBy: 7)),
                    "hvac": .category(Int(at / 3600) % 2 == 0 ? "idle" : "heating"),
                ])
        }
        _ = try await d.store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: rows)
        try await d.store.insertLabels([
            LabelRange(gateway: "gw-a", from: now - 2.5 * 3600, to: now - 2 * 3600, occupied: true, source: "http"),
            LabelRange(
                gateway: "gw-a", from: now - 1.5 * 3600, to: now - 3600, occupied: false,
                source: "mqtt:\(LabelDocument.correctionSource)"),
            LabelRange(gateway: "gw-a", from: now - 1800, to: now - 600, occupied: true, source: source),
        ])
    }
}

/// The Gateway screen over HTTP (no browser): the timeline's marks against the seeded data, its JSON twin, escaping,
/// the replay with a real bundle, the Fleet's shadow column.
@Suite(.ownThread) struct DashboardGatewayTests {
    static func count(_ needle: String, in text: some StringProtocol) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    static func svg(_ html: String, _ id: String) throws -> Substring {
        let start = try #require(html.range(of: #"<svg id="\#(id)""#)).lowerBound
        return html[start..<(try #require(html[start...].range(of: "</svg>")).upperBound)]
    }

    @Test func theTimelineMarksTheSeededLabelsAndGapsAndItsTwinMatches() async throws {
        let d = try await DashboardRig("dash-timeline")
        try await DashboardGatewaySeed.seed(d)
        try await d.rig.test { client in
            let admin: HTTPFields = [.authorization: "Bearer admin-token"]
            let json = try await client.execute(
                uri: "/v1/gateways/gw-a/timeline?hours=24", method: .get, headers: admin)
            #expect(json.status == .ok)
            let t = try FleetJSON.decode(GatewayTimeline.self, from: Array(json.body.readableBytesView))
            // The windows name v2, which the registry has no artifact of: one span not replayed, no states.
            #expect(t.states.isEmpty && t.replayedWith.isEmpty)
            #expect(t.unreplayed.count == 1 && t.unreplayed[0].reason.contains("occupancy-office@2"))
            #expect(t.labels.map(\.correction) == [false, true, false])
            #expect(t.labels.map(\.source) == ["http", "mqtt:correction", DashboardGatewaySeed.source])
            #expect(t.channels.map(\.name) == [DashboardGatewaySeed.channel, "hvac", "sound"])
            #expect(t.channels.allSatisfy { $0.rows == 180 })
            #expect(t.channels[0].buckets.count <= GatewayTimeline.maxPoints && t.channels[0].buckets.count >= 36)
            #expect(t.channels[1].buckets.isEmpty && t.channels[1].changes.count >= 3)
            #expect(t.accuracy.map(\.estimated) == [0.93, 0.91, 0.84])
            #expect(t.process.rssBytes == 20 << 20 && t.process.spoolBacklog == nil)

            let (cookie, _) = try await dashboardLogin(client, token: "admin-token")
            let page = String(
                buffer: try await client.execute(
                    uri: "/dashboard/gateways/gw-a", method: .get, headers: [.cookie: cookie]
                ).body)
            let timeline = try Self.svg(page, "timeline")
            #expect(Self.count(#"class="mark "#, in: timeline) == t.states.count + t.unreplayed.count + t.labels.count)
            #expect(Self.count(#"class="mark gap""#, in: timeline) == 1)
            #expect(Self.count(#"class="mark label""#, in: timeline) == 2)
            #expect(Self.count(#"class="mark correction""#, in: timeline) == 1)
            // Markup from a gateway's channel name and a label's source is text.
            #expect(!page.contains("<i>co2") && !page.contains("<b>bold"))
            #expect(page.contains("&lt;i&gt;co2") && page.contains("&lt;b&gt;bold"))
            // One plot per channel, with as many buckets as the twin.
            for (i, channel) in t.channels.enumerated() {
                let plot = try Self.svg(page, "channel-\(i + 1)")
                #expect(plot.contains(#"data-points="\#(channel.buckets.count)""#))
                #expect(Self.count(#"class="mark value""#, in: plot) == channel.changes.count)
            }
            // A text channel's values are named in its legend, not only coloured.
            #expect(page.contains(">idle</span>") && page.contains(">heating</span>"))
            // Realised beside estimated, and the process figures with a dash for what the gateway did not report.
            #expect(Self.count(#"<circle class="mark""#, in: try Self.svg(page, "accuracy")) == 3)
            #expect(page.contains("Spool backlog (rows not yet uploaded)</th><td class=\"n\">—"))
            #expect(page.contains("/v1/gateways/gw-a/timeline?hours=24"))

            // The twin takes the viewer token too, never a gateway's; bad hours are named.
            let viewer = try await client.execute(
                uri: "/v1/gateways/gw-a/timeline", method: .get, headers: [.authorization: "Bearer viewer-token"])
            #expect(viewer.status == .ok)
            let gateway = try await client.execute(
                uri: "/v1/gateways/gw-a/timeline", method: .get, headers: [.authorization: "Bearer token-a"])
            #expect(gateway.status == .forbidden)
            let bad = try await client.execute(uri: "/v1/gateways/gw-a/timeline?hours=0", method: .get, headers: admin)
            #expect(bad.status == .badRequest && String(buffer: bad.body).contains("hours=0"))
            let unknown = try await client.execute(uri: "/v1/gateways/nobody/timeline", method: .get, headers: admin)
            #expect(unknown.status == .notFound)
        }
    }

    /// A day of the simulated office decided by a trained bundle: the timeline replays the bundle the windows name,
    /// and its states agree with what the gateway decided (each window's share of occupied decisions).
    @Test func theTimelineReplaysTheBundleItsWindowsName() async throws {
        let bundle = try MonitorFleetTests.trained.get()
        let rig = try RouteRig("dash-replay")
        try await rig.champion(try bundle.encodeUnsigned())
        let day = MonitorFleetTests.days(10..<11)
        _ = try await rig.store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: day.rows)
        let windows = try MonitorFleetTests.gateway(bundle, days: 10..<11).windows
        for w in windows {
            try await rig.store.insertMonitor(
                try Intake(rig.config.intake).monitor(
                    json: try FleetJSON.bytes(w), gateway: "gw-a", now: (w.window.to.seconds ?? 0) + 1))
        }
        try await rig.test { client in
            let t = try FleetJSON.decode(
                GatewayTimeline.self,
                from: Array(
                    try await client.execute(
                        uri: "/v1/gateways/gw-a/timeline?hours=24", method: .get,
                        headers: [.authorization: "Bearer admin-token"]
                    ).body.readableBytesView))
            #expect(t.replayedWith == ["model:occupancy-office@1"] && t.unreplayed.isEmpty)
            #expect(t.states.count > 2 && t.probability.count > 250 && t.probability.count <= GatewayTimeline.maxPoints)
            var differences: [Double] = []
            for w in windows {
                guard let from = w.window.from.seconds, let to = w.window.to.seconds, from >= t.from,
                    let rate = w.predictions.positiveRate
                else { continue }
                let occupied = t.states.filter { $0.occupied == true }.reduce(0.0) {
                    $0 + max(0, min($1.to, to) - max($1.from, from))
                }
                differences.append(abs(occupied / (to - from) - rate))
            }
            #expect(differences.count >= 23)
            #expect(differences.reduce(0, +) / Double(differences.count) < 0.03, "\(differences)")
            let (cookie, _) = try await dashboardLogin(client, token: "admin-token")
            let page = String(
                buffer: try await client.execute(
                    uri: "/dashboard/gateways/gw-a", method: .get, headers: [.cookie: cookie]
                ).body)
            #expect(Self.count(#"class="mark state""#, in: try Self.svg(page, "timeline")) == t.states.count)
            #expect(page.contains("State and probability replayed with occupancy-office@1"))
        }
    }

    /// A newer gateway's status carries its spool backlog and process figures: stored, shown, and a status without
    /// them (an older gateway) shows a dash.
    @Test func theStatusFiguresReachTheScreen() async throws {
        let d = try await DashboardRig("dash-status-figures")
        var status = GatewayStatus(
            gateway: "lab-1", active: nil, sha256: nil, refused: nil, at: d.clock.now().seconds)
        status.spoolBacklog = 4321
        status.process = .init(cpuSeconds: 12.5, rssBytes: 30 << 20, uptimeSeconds: 7200)
        try await d.store.setGatewayStatus(status)
        let stored = try #require(try await d.store.gatewayStatus(gateway: "lab-1"))
        #expect(stored.spoolBacklog == 4321 && stored.process?.rssBytes == 30 << 20)
        try await d.rig.test { client in
            let (cookie, _) = try await dashboardLogin(client, token: "admin-token")
            let page = String(
                buffer: try await client.execute(
                    uri: "/dashboard/gateways/lab-1", method: .get, headers: [.cookie: cookie]
                ).body)
            #expect(page.contains(#"Spool backlog (rows not yet uploaded)</th><td class="n">4321"#))
            #expect(page.contains(#"RSS (MiB)</th><td class="n">30.0"#) && page.contains("12.5"))
            // gw-b reported a status without figures (an older gateway).
            let older = String(
                buffer: try await client.execute(
                    uri: "/dashboard/gateways/gw-b", method: .get, headers: [.cookie: cookie]
                ).body)
            #expect(older.contains(#"Spool backlog (rows not yet uploaded)</th><td class="n">—"#))
        }
    }

    @Test func theHistoryListsModelChangesRollbacksAndProbation() async throws {
        let d = try await DashboardRig("dash-history")
        let now = d.clock.now().seconds
        _ = try await d.store.addRollback(
            ModelRollbackRecord(
                gateway: "gw-a", version: 2, sha256: "sha-v2", guardName: "stuck", reason: "<probability 0.5 stuck>",
                at: now - 60, received: now))
        // A rule decided before the model: the history has both changes.
        let to = now - 3 * 3600
        try await d.store.insertMonitor(
            MonitorDocument(
                gateway: "gw-a",
                window: .init(from: TimeValue(seconds: to - 3600), to: TimeValue(seconds: to), samples: 9),
                inputs: [:],
                predictions: .init(meanProbability: nil, positiveRate: nil, transitions: 0, histogram: [], stale: 0),
                drift: nil, expectedAccuracy: nil, bundleAccuracy: nil, decidedBy: "rule:sound>10",
                process: .init(cpuSeconds: nil, rssBytes: nil, uptimeSeconds: nil)))
        let changes = try await d.store.modelChanges(gateway: "gw-a", limit: 10)
        #expect(changes.map(\.decidedBy) == ["rule:sound>10", "model:occupancy-office@2"])
        try await d.rig.test { client in
            let t = try FleetJSON.decode(
                GatewayTimeline.self,
                from: Array(
                    try await client.execute(
                        uri: "/v1/gateways/gw-a/timeline", method: .get, headers: [.authorization: "Bearer admin-token"]
                    ).body.readableBytesView))
            #expect(t.history.map(\.kind).sorted() == ["decides", "decides", "probation", "probation", "rolledBack"])
            #expect(t.history.first { $0.kind == "rolledBack" }?.detail == "stuck: <probability 0.5 stuck>")
            // The rule's span is not replayed and says why.
            #expect(t.unreplayed.contains { $0.decidedBy == "rule:sound>10" && $0.reason.contains("no rule") })
            let (cookie, _) = try await dashboardLogin(client, token: "viewer-token")
            let page = String(
                buffer: try await client.execute(
                    uri: "/dashboard/gateways/gw-a", method: .get, headers: [.cookie: cookie]
                ).body)
            #expect(page.contains("stuck: &lt;probability 0.5 stuck&gt;"))
            #expect(page.contains(#"<a href="/dashboard/models/office?version=2#version">"#))
        }
    }

    @Test func theFleetShowsTheShadowOfferedAndRun() async throws {
        let d = try await DashboardRig("dash-fleet-shadow")
        // The scope's shadow is v2, which gw-a runs (so it scores none); gw-b's own is v1.
        try await d.store.setAlias(scope: "office", alias: "shadow", version: 2)
        try await d.store.setAlias(scope: "office", alias: "shadow@gw-b", version: 1)
        let to = d.clock.now().seconds
        var window = MonitorDocument(
            gateway: "gw-b", window: .init(from: TimeValue(seconds: to - 3600), to: TimeValue(seconds: to), samples: 9),
            inputs: [:],
            predictions: .init(meanProbability: nil, positiveRate: nil, transitions: 0, histogram: [], stale: 0),
            drift: nil, expectedAccuracy: nil, bundleAccuracy: nil, decidedBy: "model:occupancy-office@2",
            process: .init(cpuSeconds: nil, rssBytes: nil, uptimeSeconds: nil))
        window.shadow = ShadowWindow(
            model: "occupancy-office@1", version: 1, sha256: "sha-v1", scored: 9, compared: 9, agreement: 1,
            transitions: 0, meanProbability: 0.2, expectedAccuracy: 0.9, bundleAccuracy: nil, stale: 0,
            runs: [
                .init(from: to - 3600, to: to - 1800, n: 5, active: false, shadow: false),
                .init(from: to - 1799, to: to, n: 4, active: true, shadow: false),
            ], complete: true)
        try await d.store.insertMonitor(window)
        try await d.rig.test { client in
            let doc = try FleetJSON.decode(
                FleetDocument.self,
                from: Array(
                    try await client.execute(
                        uri: "/v1/fleet?scope=office", method: .get, headers: [.authorization: "Bearer admin-token"]
                    ).body.readableBytesView))
            let rows = Dictionary(uniqueKeysWithValues: doc.gateways.map { ($0.id, $0) })
            #expect(rows["gw-a"]?.shadowAssigned == nil && rows["gw-a"]?.shadow == nil)
            #expect(rows["gw-b"]?.shadowAssigned == 1 && rows["gw-b"]?.shadow == "occupancy-office@1")
            // It never reported a model: the scope's shadow is what it will be offered.
            #expect(rows[DashboardRig.markup]?.shadowAssigned == 2 && rows[DashboardRig.markup]?.shadow == nil)
            let (cookie, _) = try await dashboardLogin(client, token: "admin-token")
            let page = String(
                buffer: try await client.execute(uri: "/dashboard/fleet", method: .get, headers: [.cookie: cookie]).body
            )
            #expect(page.contains(#"<th scope="col">Shadow</th>"#))
            #expect(page.contains("<td>occupancy-office@1 (running)</td>") && page.contains("<td>v2 offered</td>"))
            // gw-b's timeline has its shadow's two runs in a lane of their own.
            let gateway = String(
                buffer: try await client.execute(
                    uri: "/dashboard/gateways/gw-b", method: .get, headers: [.cookie: cookie]
                )
                .body)
            #expect(Self.count(#"class="mark shadow""#, in: try Self.svg(gateway, "timeline")) == 2)
        }
    }
}

/// The status figures over a real broker: a newer gateway's `model/status` with `spoolBacklog` and `process` is
/// stored with them; an older one's (without) replaces them with none.
@Suite(.serialized) struct StatusFiguresIntakeTests {
    @Test func statusFiguresArriveOverMQTT() async throws {
        let rig = try await MQTTIntakeRig("status-figures-intake")
        let store = rig.store
        try rig.publishStatus(
            #"{"active":"m@1","at":"2026-01-05T10:00:01.000Z","refused":null,"sha256":null,"spoolBacklog":17,"process":{"cpuSeconds":3.5,"rssBytes":1048576,"uptimeSeconds":60}}"#
        )
        let stored = try await waitUntil(timeout: 20, "the status stored") { () async throws -> GatewayStatus? in
            try await store.gatewayStatus(gateway: "gw-a")
        }
        #expect(stored.spoolBacklog == 17 && stored.process?.cpuSeconds == 3.5 && stored.process?.rssBytes == 1 << 20)
        try rig.publishStatus(#"{"active":"m@2","at":"2026-01-05T10:00:02.000Z","refused":null,"sha256":null}"#)
        let older = try await waitUntil(timeout: 20, "the older status stored") {
            () async throws -> GatewayStatus? in
            let s = try await store.gatewayStatus(gateway: "gw-a")
            return s?.active == "m@2" ? s : nil
        }
        #expect(older.spoolBacklog == nil && older.process == nil)
        await rig.stop()
    }
}

/// A flapping model's runs are merged below a pixel: the timeline stays bounded and still covers the span.
@Test func flappingRunsAreCoarsened() {
    let runs = (0..<5000).map { (i: Int) -> GatewayTimeline.StateRun in
        let start = Double(i) * 10
        return GatewayTimeline.StateRun(from: start, to: start + 10, occupied: i % 2 == 0, model: "m")
    }
    func coarsen(_ runs: [GatewayTimeline.StateRun], span: Double) -> [GatewayTimeline.StateRun] {
        Dashboard.coarsen(
            runs, span: span, from: \GatewayTimeline.StateRun.from, to: \.to, extend: Dashboard.merge)
    }
    let kept = coarsen(runs, span: 50_000)
    #expect(kept.count <= Dashboard.maxRuns && kept.count >= Dashboard.maxRuns / 2)
    #expect(kept.first?.from == 0 && kept.last?.to == 50_000)
    #expect(kept.allSatisfy { $0.occupied == nil && ($0.merged ?? 0) >= 5 })
    #expect(kept.reduce(0) { $0 + ($1.merged ?? 1) } == 5000)
    let few = Array(runs.prefix(10))
    #expect(coarsen(few, span: 100) == few)
}

/// A person's overrides, reported in the gateway's monitor windows, are marked on the timeline (the replay cannot see
/// them): one span cut at a window's edge is drawn as one, and the twin lists the same spans.
@Test func overridesFromTheWindowsAreMarkedOnTheTimeline() async throws {
    let d = try await DashboardRig("dash-overrides")
    let windows = try await d.store.monitorWindows(gateway: "gw-a", since: 0)
    #expect(windows.count >= 2)
    var last = try #require(windows.last)
    var before = windows[windows.count - 2]
    let (f1, t1) = (try #require(before.window.from.seconds), try #require(before.window.to.seconds))
    let t2 = try #require(last.window.to.seconds)
    // Occupied forced from the middle of one window across into the next; vacant forced for a while after that.
    before.overrides = [.init(from: .init(seconds: (f1 + t1) / 2), to: .init(seconds: t1), occupied: true)]
    last.overrides = [
        .init(from: .init(seconds: t1), to: .init(seconds: t1 + 60), occupied: true),
        .init(from: .init(seconds: t1 + 120), to: .init(seconds: t2 - 60), occupied: false),
    ]
    try await d.store.insertMonitor(before)
    try await d.store.insertMonitor(last)
    try await d.rig.test { client in
        let json = try await client.execute(
            uri: "/v1/gateways/gw-a/timeline?hours=24", method: .get,
            headers: [.authorization: "Bearer admin-token"])
        let t = try FleetJSON.decode(GatewayTimeline.self, from: Array(json.body.readableBytesView))
        #expect(
            t.overrides == [
                .init(from: (f1 + t1) / 2, to: t1 + 60, occupied: true),
                .init(from: t1 + 120, to: t2 - 60, occupied: false),
            ])
        let (cookie, _) = try await dashboardLogin(client, token: "admin-token")
        let page = String(
            buffer: try await client.execute(uri: "/dashboard/gateways/gw-a", method: .get, headers: [.cookie: cookie])
                .body)
        let timeline = try DashboardGatewayTests.svg(page, "timeline")
        #expect(DashboardGatewayTests.count(#"class="mark override""#, in: timeline) == 2)
        #expect(timeline.contains("override: published occupied") && timeline.contains("override: published vacant"))
    }
}
