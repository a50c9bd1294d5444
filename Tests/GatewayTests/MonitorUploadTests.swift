import AsyncHTTPClient
import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Sensors
import ServiceLifecycle
import Testing

@testable import Gateway

/// Monitor windows reach the training host over HTTP with the telemetry: spooled on disk ahead of it (a full spool
/// drops telemetry first), delivered after a restart, stored once even when re-sent; the textfile is written off the
/// decision loop.
@Suite(.serialized) struct MonitorUploadTests {
    /// A real `occupant server run` for gateway `gw-a` (`token-a`), on a broker of its own: whatever reaches it from
    /// the gateway came over HTTP.
    struct TrainingHost {
        let process: ChildProcess
        let broker: MosquittoBroker
        let base: String

        static func start(dir: URL, port: Int) async throws -> TrainingHost {
            let broker = try await MosquittoBroker()
            let configPath = dir.appendingPathComponent("server.yaml").path
            try """
            stateDirectory: \(dir.path)/server-state
            http: { port: \(port) }
            broker: { port: \(broker.port), clientId: server-monitor-upload }
            adminToken: admin-token
            gateways:
              - { id: gw-a, scope: office, token: token-a }
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
            let process = try ChildProcess(["server", "run", "--config", configPath])
            let host = TrainingHost(process: process, broker: broker, base: "http://127.0.0.1:\(port)")
            _ = try await waitUntil(timeout: 30, "the server answers (\(process.stderr))") {
                try? await host.get("/v1/stats")
            }
            return host
        }

        func stop() {
            process.signal(SIGKILL)
            broker.stop()
        }

        func get(_ path: String) async throws -> [UInt8] {
            var request = HTTPClientRequest(url: base + path)
            request.headers.add(name: "Authorization", value: "Bearer admin-token")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 16 << 20)
            guard response.status == .ok else { throw OccupantError(.io, "GET \(path): \(response.status)") }
            return Array(body.readableBytesView)
        }

        func windows() async throws -> [MonitorDocument] {
            try FleetJSON.decode(MonitorListing.self, from: try await get(API.gatewayMonitor("gw-a"))).windows
        }

        func telemetryRows() async throws -> Int {
            let stats = try JSONSerialization.jsonObject(with: Data(try await get("/v1/stats"))) as? [String: Any]
            return stats?["telemetryRows"] as? Int ?? 0
        }
    }

    /// A window of `gw-a` starting `hours` hours before the last full hour.
    static func window(hoursAgo hours: Double, samples: Int = 360) -> MonitorDocument {
        let from = (Date().timeIntervalSince1970 / 3_600).rounded(.down) * 3_600 - hours * 3_600
        return MonitorDocument(
            gateway: "gw-a",
            window: .init(from: TimeValue(seconds: from), to: TimeValue(seconds: from + 3_600), samples: samples),
            inputs: ["sound": .init(missing: 0, outOfRange: 0, stuck: 0, mean: 4.5, min: 1, max: 30)],
            predictions: .init(
                meanProbability: 0.3, positiveRate: 0.25, transitions: 4, histogram: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
                stale: 0),
            drift: nil, expectedAccuracy: 0.93, bundleAccuracy: 0.95, decidedBy: "model:occupancy-office@3",
            process: .init(cpuSeconds: 1, rssBytes: 9_000_000, uptimeSeconds: 3_600))
    }

    static func sample(_ second: Int) -> Sample {
        Sample(
            at: Instant(seconds: 1_767_571_200 + Double(second) * 30),
            readings: [Reading(channel: "sound", value: .number(Double(second)))])
    }

    @Test func aFullSpoolDropsTelemetryFirstAndKeepsTheMonitorWindows() throws {
        let dir = try temporaryDirectory("monitor-spool-full").appendingPathComponent("spool").path
        let spool = try TelemetrySpool(directory: dir, limit: 10, batchSize: 4, logger: testLogger())
        let windows = (0..<3).map { Self.window(hoursAgo: Double(10 - $0)) }
        for w in windows { spool.append(monitor: w) }
        for s in 0..<20 { spool.append(Self.sample(s)) }
        try spool.flush()
        // Ten rows' room: the three windows, and the newest seven telemetry rows.
        #expect(spool.windowCount == 3 && spool.count == 7 && spool.droppedWindows == 0)
        // The server stays away and telemetry keeps coming: still the windows stay, the oldest rows go.
        for s in 20..<40 { spool.append(Self.sample(s)) }
        try spool.flush()
        #expect(spool.windowCount == 3 && spool.count == 7 && spool.droppedWindows == 0)
        #expect(spool.droppedCount == 33)

        // A restart finds them on disk; windows go out first, oldest first, then the rows.
        let reopened = try TelemetrySpool(directory: dir, limit: 10, batchSize: 4, logger: testLogger())
        #expect(reopened.windowCount == 3 && reopened.count == 7)
        var sent: [MonitorDocument] = []
        while let w = try reopened.nextWindow() {
            sent.append(try FleetJSON.decode(MonitorDocument.self, from: w.body))
            reopened.acknowledge(window: w)
        }
        #expect(sent.map(\.window.from) == windows.map(\.window.from))
        #expect(sent.map(\.predictions) == windows.map(\.predictions))
        var values: [Double] = []
        while let batch = try reopened.nextBatch() {
            for line in String(decoding: batch.body, as: UTF8.self).split(separator: "\n") {
                values.append(try #require((json(String(line))?["readings"] as? [String: Double])?["sound"]))
            }
            reopened.acknowledge(batch)
        }
        #expect(values == (33..<40).map(Double.init))
        #expect(reopened.windowCount == 0 && reopened.count == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)

        // Only when nothing but windows is left do the oldest windows go.
        let small = try TelemetrySpool(directory: dir, limit: 2, batchSize: 4, logger: testLogger())
        for w in windows { small.append(monitor: w) }
        try small.flush()
        #expect(small.windowCount == 2 && small.droppedWindows == 1)
        let kept = try #require(try small.nextWindow())
        #expect(try FleetJSON.decode(MonitorDocument.self, from: kept.body).window == windows[1].window)
    }

    @Test func windowsGoOutAheadOfTheTelemetry() async throws {
        let host = try await TestTrainingHost(gatewayID: "gw-a")
        let dir = try temporaryDirectory("monitor-order").appendingPathComponent("spool").path
        let spool = try TelemetrySpool(directory: dir, limit: 1000, batchSize: 2, logger: testLogger())
        // Rows spooled before and after the windows: the windows still go first.
        for s in 0..<3 { spool.append(Self.sample(s)) }
        try spool.flush()
        spool.append(monitor: Self.window(hoursAgo: 3))
        for s in 3..<5 { spool.append(Self.sample(s)) }
        spool.append(monitor: Self.window(hoursAgo: 2))
        try spool.flush()
        let uploader = TelemetryUploader(
            client: ServerClient(baseURL: host.url, gatewayID: "gw-a", token: "gw-token"), spool: spool, interval: 1,
            logger: testLogger())
        await uploader.uploadAll()
        await host.stop()
        let ids = host.requests.compactMap(\.batchID)
        #expect(ids.map { $0.prefix(4) } == ["mon-", "mon-", "seg-", "seg-", "seg-"], "\(ids)")
        #expect(host.requests.allSatisfy { $0.status == 200 })
        let froms = host.windows.compactMap { try? FleetJSON.decode(MonitorDocument.self, from: $0.utf8).window.from }
        #expect(froms == [Self.window(hoursAgo: 3).window.from, Self.window(hoursAgo: 2).window.from])
        #expect(uploader.uploadedWindows.windows == 2 && uploader.uploaded.rows == 5)
        #expect(spool.windowCount == 0 && spool.count == 0)
    }

    @Test func aWindowStoredButNotAcknowledgedIsStoredOnceAfterARestart() async throws {
        let dir = try temporaryDirectory("monitor-resend")
        let host = try await TrainingHost.start(dir: dir, port: try freeLoopbackPort())
        defer { host.stop() }
        let spoolDir = dir.appendingPathComponent("spool").path
        let window = Self.window(hoursAgo: 2)
        let spool = try TelemetrySpool(directory: spoolDir, limit: 1000, batchSize: 10, logger: testLogger())
        spool.append(monitor: window)
        try spool.flush()
        // Sent and stored, but the answer never reaches the gateway: the window stays in the spool.
        let client = ServerClient(baseURL: host.base, gatewayID: "gw-a", token: "token-a")
        let pending = try #require(try spool.nextWindow())
        let lost = try await client.postMonitor(pending.body, batchID: pending.id, timeout: 10)
        #expect(lost.status == 200, "\(lost.body)")
        #expect(try await host.windows().count == 1)

        // After a restart the same spool is sent again: a duplicate, acknowledged, stored once.
        let uploader = TelemetryUploader(
            client: client,
            spool: try TelemetrySpool(directory: spoolDir, limit: 1000, batchSize: 10, logger: testLogger()),
            interval: 1, logger: testLogger())
        #expect(uploader.spool.windowCount == 1)
        await uploader.uploadAll()
        #expect(uploader.health.state == .ok)
        #expect(uploader.uploadedWindows.windows == 1 && uploader.spool.windowCount == 0)
        let stored = try await host.windows()
        #expect(stored == [try FleetJSON.decode(MonitorDocument.self, from: FleetJSON.bytes(window))])
    }

    @Test func windowsReachTheServerOverHTTPAndSurviveAGatewayRestart() async throws {
        let dir = try temporaryDirectory("monitor-http")
        let port = try freeLoopbackPort()
        // The gateway's broker: the server never sees it.
        let gatewayBroker = try await MosquittoBroker()
        defer { gatewayBroker.stop() }
        let probe = try await MQTTProbe(port: gatewayBroker.port, subscriptions: ["occupant/gw-a/#"])
        var config = try GatewayConfig.parse(
            yaml: """
                gatewayId: gw-a
                simulate: { scenario: day, speed: 1200 }
                broker: { port: \(gatewayBroker.port) }
                stateDirectory: \(dir.path)/state
                telemetry: { interval: 10s }
                monitor: { window: 10m }
                server: { url: "http://127.0.0.1:\(port)", token: token-a, pollInterval: 1h, uploadInterval: 300ms }
                """)
        config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
        func published() -> [MonitorDocument] {
            probe.messages(on: "occupant/gw-a/monitor").compactMap {
                try? FleetJSON.decode(MonitorDocument.self, from: $0.payload)
            }
        }

        // 1. The training host is down: closed windows pile up in the spool; the gateway stops.
        let first = try GatewayRuntime(config: config, logger: testLogger())
        let spool = try #require(first.spool)
        let group1 = ServiceGroup(services: first.services, logger: testLogger())
        let run1 = Task { try await group1.run() }
        _ = try await waitUntil(timeout: 60, "two windows spooled") { spool.windowCount >= 2 ? true : nil }
        await group1.triggerGracefulShutdown()
        try await run1.value
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/state/spool")
        let onDisk = files.filter { $0.hasPrefix("mon-") }.count
        #expect(onDisk >= 2)
        // Every window published before the stop is on disk (waiting for the broker to hand the probe the last one).
        let beforeRestart = try? await waitUntil(timeout: 10, "the probe has every published window") {
            published().count >= onDisk ? published() : nil
        }
        #expect(beforeRestart?.count == onDisk)

        // 2. The host is back; the restarted gateway delivers what the first run left, and its own windows.
        let host = try await TrainingHost.start(dir: dir, port: port)
        defer { host.stop() }
        let second = try GatewayRuntime(config: config, logger: testLogger())
        let group2 = ServiceGroup(services: second.services, logger: testLogger())
        let run2 = Task { try await group2.run() }
        let earlier = Set((beforeRestart ?? []).compactMap(\.window.from.seconds))
        _ = try await waitUntil(timeout: 60, "the first run's windows and two more on the server") {
            let froms = Set(try await host.windows().compactMap(\.window.from.seconds))
            return froms.isSuperset(of: earlier) && froms.count >= earlier.count + 2 ? true : nil
        }
        _ = try await waitUntil(timeout: 30, "telemetry rows on the server") {
            try await host.telemetryRows() > 0 ? true : nil
        }
        await group2.triggerGracefulShutdown()
        try await run2.value

        let stored = try await host.windows()
        let all = published()
        // Each window once, exactly as the gateway published it; the first run's all there.
        #expect(Set(stored.compactMap(\.window.from.seconds)).count == stored.count)
        for window in stored {
            #expect(all.filter { $0 == window }.count == 1, "stored but never published: \(window.window)")
        }
        for window in beforeRestart ?? [] {
            #expect(stored.contains(window), "lost over the restart: \(window.window)")
        }
        // Telemetry went over HTTP only: nothing on the broker's telemetry topic.
        #expect(probe.messages(on: "occupant/gw-a/telemetry").isEmpty)
    }

    /// A textfile write stuck on a slow card must not hold up the decision loop: the loop runs its cycles and closes
    /// its windows meanwhile, and the file ends on the newest window.
    @Test func theTextfileIsWrittenOffTheDecisionLoop() async throws {
        let profile = try FirmwareProfile.load(path: packageRootPath("firmware-profiles/thermostat-mcu.yaml"))
        let scenario = AllocationTests.CyclingScenario()
        let clock = ManualClock(scenario.start)
        let reader = SensorReader(
            profile: profile, bus: SimulatedBus(profile: profile, scenario: scenario, clock: clock))
        let topics = GatewayTopics(prefix: "occupant", gatewayID: "g", discoveryPrefix: "homeassistant")
        let publisher = GatewayPublisher(
            connection: RecordingConnection(), topics: topics, discovery: nil, edukitThing: nil, queueLimit: 100,
            logger: testLogger())
        let disk = SlowFileSystem(delay: .seconds(300))
        let path = try temporaryDirectory("monitor-textfile").appendingPathComponent("occupant.prom").path
        let loop = GatewayLoop(
            initial: .init(
                reader: reader, engine: DecisionEngine(scorer: StaticRule(), hysteresis: Hysteresis()), heartbeat: 60,
                telemetryInterval: nil),
            clock: clock, publisher: publisher, notifier: SystemdNotifier(environment: [:]), maxCycles: 1_000,
            monitor: MonitorSettings(window: 10, textfile: path), logger: testLogger(), textfileSystem: disk)
        let textfile = try #require(loop.textfile)
        let running = Task { try await loop.run() }
        _ = try await waitUntil(timeout: 30, "the first window's write stuck") { disk.blockedWrites == 1 ? true : nil }
        // Every cycle (100 simulated seconds at the sound channel's 100 ms) runs while that write is stuck.
        _ = try await waitUntil(timeout: 60, "the loop's 1,000 cycles") { loop.stats.cycles == 1_000 ? true : nil }
        try await running.value
        #expect(disk.blockedWrites == 1 && textfile.written == 0)
        let newest = try #require(loop.lastMonitor)
        #expect(newest.window.samples > 0 && (newest.window.to.seconds ?? 0) >= scenario.start.seconds + 90)

        disk.release()
        _ = try await waitUntil(timeout: 30, "the newest window written") { textfile.written == 2 ? true : nil }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == newest.prometheusText)
    }
}
