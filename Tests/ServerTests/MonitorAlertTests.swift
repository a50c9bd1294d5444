import FleetProtocol
import Foundation
import OccupantCore
import OccupantTesting
import Server
import Testing

/// Alerts from monitor windows through the alert lifecycle: each raised once, with its numbers, and cleared once.
@Suite(.serialized) struct MonitorAlertTests {
    static let start = 1_767_600_000.0

    /// gw-a's window `i` (hourly from `start`): `sound_mean` drifted or not, `temperature` stuck for a share, an
    /// estimated accuracy against the bundle's 0.95.
    static func window(_ i: Int, drifted: Bool = false, stuck: Double = 0, expected: Double = 0.94) -> MonitorDocument {
        MonitorDocument(
            gateway: "gw-a",
            window: .init(
                from: TimeValue(seconds: start + Double(i) * 3_600),
                to: TimeValue(seconds: start + Double(i + 1) * 3_600), samples: 120),
            inputs: [
                "sound": .init(missing: 0, outOfRange: 0, stuck: 0, mean: 4, min: 1, max: 30),
                "temperature": .init(missing: 0, outOfRange: 0, stuck: stuck, mean: 21, min: 21, max: 21),
            ],
            predictions: .init(
                meanProbability: 0.3, positiveRate: 0.3, transitions: 2, histogram: Array(repeating: 12, count: 10),
                stale: 0),
            drift: [
                "sound_mean": .init(score: drifted ? 0.3 : 0.01, threshold: 0.1, drifted: drifted),
                "co2_mean": .init(score: 0.02, threshold: 0.1, drifted: false),
            ],
            expectedAccuracy: expected, bundleAccuracy: 0.95, decidedBy: "model:occupancy-office@1",
            process: .init(cpuSeconds: 1, rssBytes: 1, uptimeSeconds: 1))
    }

    /// Stores the window and judges gw-a; returns the alerts announced by that window.
    static func receive(_ rig: RouteRig, _ document: MonitorDocument) async throws -> [AlertDocument] {
        let before = rig.announcer.state.withLock { $0.alerts.count }
        try await rig.store.insertMonitor(document)
        try await rig.registry.checkMonitor(gateway: "gw-a")
        return Array(rig.announcer.state.withLock { $0.alerts }.dropFirst(before))
    }

    @Test func driftInThreeConsecutiveWindowsRaisesOneAlertAndOneClear() async throws {
        let rig = try RouteRig("monitor-drift", extraYAML: "alerts: { driftWindows: 3 }")
        #expect(try await Self.receive(rig, Self.window(0, drifted: false)).isEmpty)
        #expect(try await Self.receive(rig, Self.window(1, drifted: true)).isEmpty)
        #expect(try await Self.receive(rig, Self.window(2, drifted: true)).isEmpty)
        let raised = try await Self.receive(rig, Self.window(3, drifted: true))
        #expect(raised.count == 1)
        let alert = try #require(raised.first)
        #expect(alert.kind == "drift" && alert.state == "open" && alert.gateway == "gw-a" && alert.scope == "office")
        #expect(alert.numbers["score"] == 0.3 && alert.numbers["threshold"] == 0.1 && alert.numbers["windows"] == 3)
        #expect(alert.message.contains("sound_mean drifted in 3 consecutive monitor windows"), "\(alert.message)")
        // Still drifted: nothing new. The same window delivered again: nothing new.
        #expect(try await Self.receive(rig, Self.window(4, drifted: true)).isEmpty)
        #expect(try await Self.receive(rig, Self.window(4, drifted: true)).isEmpty)
        let cleared = try await Self.receive(rig, Self.window(5, drifted: false))
        #expect(cleared.map(\.state) == ["cleared"] && cleared.first?.id == alert.id)
        // Drifted again, but not yet for 3 windows: no alert.
        #expect(try await Self.receive(rig, Self.window(6, drifted: true)).isEmpty)
        #expect(try await rig.store.alertDocuments(open: false).count == 1)
    }

    @Test func aStuckChannelRaisesOneInputAlertUntilItMoves() async throws {
        let rig = try RouteRig("monitor-input", extraYAML: "alerts: { inputShare: 0.5 }")
        #expect(try await Self.receive(rig, Self.window(0, stuck: 0.5)).isEmpty)
        let raised = try await Self.receive(rig, Self.window(1, stuck: 0.8))
        #expect(raised.count == 1)
        let alert = try #require(raised.first)
        #expect(alert.kind == "input" && alert.numbers["stuck"] == 0.8 && alert.numbers["share"] == 0.5)
        #expect(alert.message.contains("channel temperature stuck in 80.0%"), "\(alert.message)")
        #expect(try await Self.receive(rig, Self.window(2, stuck: 1)).isEmpty)
        let cleared = try await Self.receive(rig, Self.window(3, stuck: 0.1))
        #expect(cleared.map(\.state) == ["cleared"] && cleared.first?.id == alert.id)
        #expect(try await Self.receive(rig, Self.window(4, stuck: 0.1)).isEmpty)
    }

    @Test func anEstimateBelowTheBundleByTheMarginRaisesOneAlert() async throws {
        let rig = try RouteRig("monitor-estimate", extraYAML: "alerts: { margin: 0.05 }")
        // 0.95 − 0.05 = 0.90: 0.91 is within the margin.
        #expect(try await Self.receive(rig, Self.window(0, expected: 0.91)).isEmpty)
        let raised = try await Self.receive(rig, Self.window(1, expected: 0.85))
        #expect(raised.count == 1)
        let alert = try #require(raised.first)
        #expect(alert.kind == "estimatedAccuracy")
        #expect(alert.numbers["expectedAccuracy"] == 0.85 && alert.numbers["bundleAccuracy"] == 0.95)
        #expect(alert.numbers["margin"] == 0.05)
        #expect(try await Self.receive(rig, Self.window(2, expected: 0.8)).isEmpty)
        let cleared = try await Self.receive(rig, Self.window(3, expected: 0.94))
        #expect(cleared.map(\.state) == ["cleared"])
        #expect(try await rig.store.alertDocuments(open: true).isEmpty)
    }

    @Test func badAlertSettingsAreRefusedInOneLine() throws {
        for (yaml, words) in [
            ("alerts: { driftWindows: 0 }", "driftWindows"), ("alerts: { inputShare: 1.5 }", "inputShare"),
        ] {
            #expect(throws: (any Error).self) { try ServerConfig.parse(yaml: yaml) }
            do {
                _ = try ServerConfig.parse(yaml: yaml)
            } catch {
                #expect("\(error)".contains(words), "\(error)")
                #expect(!"\(error)".contains("\n"), "\(error)")
            }
        }
    }
}
