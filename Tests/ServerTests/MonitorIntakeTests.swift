import Evaluator
import FleetProtocol
import Foundation
import Logging
import MQTT
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// Gateways' monitor windows over MQTT: a valid one is stored (once per window), anything else is dropped with one
/// log line and nothing stored changes.
@Suite(.serialized) struct MonitorIntakeTests {
    static func document(gateway: String, from: Double, samples: Int = 120) -> String {
        let d = MonitorDocument(
            gateway: gateway,
            window: .init(from: TimeValue(seconds: from), to: TimeValue(seconds: from + 3_600), samples: samples),
            inputs: [
                "sound": .init(missing: 0, outOfRange: 0, stuck: 0, mean: 4.5, min: 1, max: 30),
                "temperature": .init(missing: 0.1, outOfRange: 0.05, stuck: 0.8, mean: 21, min: 20.5, max: 21.5),
            ],
            predictions: .init(
                meanProbability: 0.3, positiveRate: 0.25, transitions: 4,
                histogram: [50, 20, 10, 5, 5, 5, 5, 5, 5, 10], stale: 0),
            drift: ["sound_mean": .init(score: 0.02, threshold: 0.1, drifted: false)],
            expectedAccuracy: 0.93, bundleAccuracy: 0.95, decidedBy: "model:occupancy-office@3",
            process: .init(cpuSeconds: 12.5, rssBytes: 9_000_000, uptimeSeconds: 86_400))
        return try! FleetJSON.text(d)
    }

    @Test func monitorWindowsAreStoredAndBadOnesDroppedWithOneLogLine() async throws {
        let broker = try await MosquittoBroker()
        let dir = try temporaryDirectory("monitor-mqtt")
        let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path)
        let config = try ServerConfig.parse(
            yaml: """
                broker: { host: 127.0.0.1, port: \(broker.port), clientId: server-monitor }
                gateways:
                  - { id: gw-a, scope: office, token: token-a }
                  - { id: gw-b, scope: office, token: token-b }
                """)
        let log = CapturedLog()
        let mqtt = try ServerMQTT(config: config, store: store, logger: Logger(label: "monitor") { _ in log })
        // The registry judges each stored window: gw-a's temperature is stuck in 80 % of it (an `input` alert).
        _ = try SigningKeys.save(SigningKeys.generate(), prefix: dir.appendingPathComponent("server").path)
        let announcer = RecordingAnnouncer()
        mqtt.attach(
            ModelRegistry(
                config: config, store: store,
                artifacts: try ArtifactStore(root: dir.appendingPathComponent("artifacts").path),
                signing: try SigningKeys.readPrivateKey(path: dir.appendingPathComponent("server.key").path),
                announcer: announcer, logger: Logger(label: "registry")))
        let server = Task { try await mqtt.run() }
        try await waitUntil(timeout: 20, "the server's monitor subscription") {
            broker.log.contains("/occupant/+/monitor") ? true : nil
        }
        let publisher = try await MQTTProbe(port: broker.port, subscriptions: [])
        let hourAgo = (Date().timeIntervalSince1970 / 3_600).rounded(.down) * 3_600 - 7_200
        let bad: [(topic: String, text: String)] = [
            ("occupant/gw-a/monitor", "{not json"),
            ("occupant/gw-a/monitor", #"{"gateway":"gw-a","window":{"from":1,"to":2}}"#),
            ("occupant/gw-z/monitor", Self.document(gateway: "gw-z", from: hourAgo)),
            ("occupant/gw-a/monitor", Self.document(gateway: "gw-b", from: hourAgo)),
            ("occupant/gw-a/monitor", Self.document(gateway: "gw-a", from: hourAgo, samples: -1)),
        ]
        for message in bad {
            try publisher.publish(MQTTMessage(topic: message.topic, text: message.text, retain: true))
        }
        // Then the good window, twice (a retained message comes again on every reconnect), and the next one.
        let good = Self.document(gateway: "gw-a", from: hourAgo)
        try publisher.publish(MQTTMessage(topic: "occupant/gw-a/monitor", text: good, retain: true))
        try publisher.publish(MQTTMessage(topic: "occupant/gw-a/monitor", text: good, retain: true))
        let next = Self.document(gateway: "gw-a", from: hourAgo + 3_600)
        try publisher.publish(MQTTMessage(topic: "occupant/gw-a/monitor", text: next, retain: true))
        let stored = try await waitUntil(timeout: 30, "gw-a's two windows stored") {
            let windows = try await store.monitorWindows(gateway: "gw-a", since: nil)
            return windows.count == 2 ? windows : nil
        }
        #expect(stored.map { $0.window.from.seconds } == [hourAgo, hourAgo + 3_600])
        #expect(try stored[0] == FleetJSON.decode(MonitorDocument.self, from: good.utf8))
        #expect(try await store.monitorWindows(gateway: "gw-a", since: hourAgo + 3_600).count == 1)
        #expect(try await store.monitorWindows(gateway: "gw-b", since: nil).isEmpty)
        #expect(try await store.monitorWindows(gateway: "gw-z", since: nil).isEmpty)
        // One line per bad document, each naming what is wrong.
        let lines = log.lines.filter { $0.contains("monitor") }
        #expect(lines.count == bad.count, "\(lines)")
        #expect(lines.contains { $0.contains("not valid JSON") })
        #expect(lines.contains { $0.contains("'window.samples' is missing") })
        #expect(lines.contains { $0.contains("unknown gateway 'gw-z'") })
        #expect(lines.contains { $0.contains("gateway 'gw-b' differs from 'gw-a'") })
        #expect(lines.contains { $0.contains("'window.samples' is negative") })
        #expect(lines.allSatisfy { !$0.contains("\n") })
        // One `input` alert for the stuck channel, however often the windows come; none for the refused documents.
        let alerts = announcer.state.withLock { $0.alerts }
        #expect(alerts.map(\.kind) == ["input"], "\(alerts)")
        #expect(alerts.first?.gateway == "gw-a" && alerts.first?.numbers["stuck"] == 0.8)
        mqtt.client?.stop()
        _ = try? await server.value
    }

    @Test func theIntakeNamesWhatIsWrongWithAMonitorDocument() throws {
        let intake = Intake(maxFutureSkew: 300)
        let now = 1_780_000_000.0
        func refusal(_ text: String, gateway: String = "gw-a") -> IntakeError? {
            do {
                _ = try intake.monitor(json: Array(text.utf8), gateway: gateway, now: now)
                return nil
            } catch {
                return error
            }
        }
        let good = Self.document(gateway: "gw-a", from: now - 7_200)
        #expect(refusal(good) == nil)
        #expect(refusal(good, gateway: "gw-b")?.status == 403)
        #expect(refusal(Self.document(gateway: "gw-a", from: now + 3_600))?.message.contains("in the future") == true)
        let share = good.replacingOccurrences(of: #""stuck":0.8"#, with: #""stuck":1.8"#)
        #expect(share != good)
        #expect(refusal(share)?.message == "monitor: inputs.temperature.stuck is 1.8; a share lies in 0…1")
        let missing = good.replacingOccurrences(of: #""predictions""#, with: #""p""#)
        #expect(refusal(missing)?.message == "monitor: 'predictions' is missing")
        // U+0000 cannot be stored by PostgreSQL's jsonb: refused on every store, with one line.
        let nul = good.replacingOccurrences(of: #""gateway":"gw-a""#, with: #""gateway":"gw-a","note":"a\u0000b""#)
        #expect(nul != good)
        #expect(refusal(nul)?.message == #"monitor: text holds a NUL character (\u0000)"#)
        let escaped = good.replacingOccurrences(of: #""gateway":"gw-a""#, with: #""gateway":"gw-a","note":"a\\u0000b""#)
        #expect(escaped != good)
        #expect(refusal(escaped) == nil)
    }

    @Test func theMonitorRouteServesStoredWindowsToTheAdminOnly() async throws {
        let rig = try RouteRig("monitor-route")
        let intake = Intake(maxFutureSkew: 300)
        let now = Date().timeIntervalSince1970
        let start = (now / 3_600).rounded(.down) * 3_600 - 3 * 3_600
        for i in 0..<3 {
            let json = Self.document(gateway: "gw-a", from: start + Double(i) * 3_600)
            try await rig.store.insertMonitor(intake.monitor(json: Array(json.utf8), gateway: "gw-a", now: now))
        }
        try await rig.test { client in
            let all = try await client.execute(
                uri: API.gatewayMonitor("gw-a"), method: .get, headers: bearer("admin-token"))
            #expect(all.status == .ok)
            let listing = try decode(MonitorListing.self, all)
            #expect(listing.gateway == "gw-a")
            #expect(listing.windows.map { $0.window.from.seconds } == [start, start + 3_600, start + 7_200])
            let since = Instant(seconds: start + 3_600 + 1).iso8601
            let recent = try await client.execute(
                uri: API.gatewayMonitor("gw-a", since: since), method: .get, headers: bearer("admin-token"))
            #expect(try decode(MonitorListing.self, recent).windows.count == 2)
            let empty = try await client.execute(
                uri: API.gatewayMonitor("gw-b"), method: .get, headers: bearer("admin-token"))
            #expect(try decode(MonitorListing.self, empty).windows.isEmpty)
            let gatewayToken = try await client.execute(
                uri: API.gatewayMonitor("gw-a"), method: .get, headers: bearer("token-a"))
            #expect(gatewayToken.status == .forbidden)
            let unknown = try await client.execute(
                uri: API.gatewayMonitor("nobody"), method: .get, headers: bearer("admin-token"))
            #expect(unknown.status == .notFound)
            #expect(try decode(ErrorDocument.self, unknown).error == "unknown gateway 'nobody'")
            let badSince = try await client.execute(
                uri: API.gatewayMonitor("gw-a", since: "yesterday"), method: .get, headers: bearer("admin-token"))
            #expect(badSince.status == .badRequest)
            #expect(try decode(ErrorDocument.self, badSince).error.contains("since=yesterday"))
        }
    }

    @Test func serverMonitorPrintsOneRowPerWindow() async throws {
        let rig = try RouteRig("monitor-command")
        let intake = Intake(maxFutureSkew: 300)
        let now = Date().timeIntervalSince1970
        let start = (now / 3_600).rounded(.down) * 3_600 - 2 * 3_600
        var second = try FleetJSON.decode(
            MonitorDocument.self, from: Self.document(gateway: "gw-a", from: start + 3_600).utf8)
        second.drift = ["sound_mean": .init(score: 0.4, threshold: 0.1, drifted: true)]
        let drifted = second
        for json in [Self.document(gateway: "gw-a", from: start), try FleetJSON.text(drifted)] {
            try await rig.store.insertMonitor(intake.monitor(json: Array(json.utf8), gateway: "gw-a", now: now))
        }
        try await rig.live { base in
            let env = ["OCCUPANT_ADMIN_TOKEN": "admin-token"]
            let table = try await ChildProcess.run(["server", "monitor", "gw-a", "--url", base], environment: env)
            #expect(table.status == 0, "\(table.stderr)")
            let lines = table.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 3, "\(table.stdout)")
            #expect(lines.first?.hasPrefix("FROM ") == true && lines.first?.hasSuffix("MISSING/STUCK") == true)
            #expect(lines[1].hasPrefix(Instant(seconds: start).iso8601 + "  120 "), "\(table.stdout)")
            #expect(
                lines[1].contains("0.300") && lines[1].contains("25.0%") && lines[1].contains("93.0% (bundle 95.0%)"))
            #expect(lines[1].hasSuffix("temperature missing 10.0% stuck 80.0%"), "\(lines[1])")
            #expect(!lines[1].contains("sound_mean") && lines[2].contains("sound_mean"))
            let since = try await ChildProcess.run(
                [
                    "server", "monitor", "gw-a", "--since", Instant(seconds: start + 3_601).iso8601, "--json", "--url",
                    base,
                ],
                environment: env)
            #expect(try FleetJSON.decode(MonitorListing.self, from: since.stdout.utf8).windows == [drifted])
            let bad = try await ChildProcess.run(
                ["server", "monitor", "gw-a", "--since", "soon", "--url", base], environment: env)
            #expect(bad.status != 0)
            #expect(
                bad.stderr.contains("--since soon: expected an ISO-8601 date-time or Unix seconds"), "\(bad.stderr)")
        }
    }
}
