import Foundation
import Logging
import MQTT
import OccupantCore
import OccupantTesting
import ServiceLifecycle
import Testing

@testable import Gateway

/// Telemetry over HTTP with a disk spool: the training host away, rows bounded on disk, a gateway restart, the host
/// back, every row delivered once (a re-sent batch is answered as a duplicate).
@Suite(.serialized) struct TelemetryUploadTests {
    func config(id: String, port: Int, broker: MosquittoBroker, state: String, seed: Int, spoolLimit: Int = 20) throws
        -> GatewayConfig
    {
        var config = try GatewayConfig.parse(
            yaml: """
                gatewayId: \(id)
                simulate: { scenario: day, speed: 60, seed: \(seed) }
                broker: { port: \(broker.port) }
                stateDirectory: \(state)
                telemetry: { interval: 10s }
                server: { url: "http://127.0.0.1:\(port)", token: gw-token, pollInterval: 1h, uploadInterval: 300ms, uploadBatch: 5, spoolLimit: \(spoolLimit) }
                """)
        config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
        return config
    }

    func spooledLines(_ state: String) throws -> [String] {
        let dir = state + "/spool"
        return try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".ndjson") }.sorted()
            .flatMap {
                try String(contentsOfFile: dir + "/" + $0, encoding: .utf8).split(separator: "\n").map(String.init)
            }
    }

    @Test func spoolsWhileTheServerIsAwayAndDeliversEachRowOnce() async throws {
        let broker = try await MosquittoBroker()
        let port = try freeLoopbackPort()
        let dir = try temporaryDirectory("telemetry-upload")
        let state = dir.appendingPathComponent("state").path
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/spool/#"])

        // 1. No server: rows pile up on disk, bounded at 20 (the oldest dropped), and the decisions go on.
        let first = try GatewayRuntime(
            config: config(id: "spool", port: port, broker: broker, state: state, seed: 1), logger: testLogger())
        let spool = try #require(first.spool)
        let group1 = ServiceGroup(services: first.services, logger: testLogger())
        let run1 = Task { try await group1.run() }
        _ = try await waitUntil(timeout: 30, "the spool to overflow") { spool.droppedCount > 0 ? true : nil }
        #expect(try spooledLines(state).count <= 20)
        try await probe.waitFor("occupant/spool/occupancy", timeout: 10)
        await group1.triggerGracefulShutdown()
        try await run1.value
        let kept = try spooledLines(state)
        #expect(kept.count == 20, "\(kept.count) rows on disk after the stop")
        // The oldest went: the first sample (simulated midnight) is no longer there.
        #expect(!kept.contains { $0.contains(#""at":"2026-01-05T00:00:0"#) })

        // 2. The server comes back (answering the first batch 500 after storing it); a restarted gateway sends
        //    what the first one left, every row once.
        let host = try await TestTrainingHost(port: port, gatewayID: "spool")
        host.failNextTelemetry()
        //    (A larger limit now, so none of the kept rows is dropped while the first batch is retried.)
        let second = try GatewayRuntime(
            config: config(id: "spool", port: port, broker: broker, state: state, seed: 2, spoolLimit: 1000),
            logger: testLogger())
        let group2 = ServiceGroup(services: second.services, logger: testLogger())
        let run2 = Task { try await group2.run() }
        _ = try await waitUntil(timeout: 30, "the kept rows delivered") {
            let rows = Set(host.rows)
            return kept.allSatisfy(rows.contains) ? true : nil
        }
        _ = try await waitUntil(timeout: 10, "a duplicate answer") { host.duplicates > 0 ? true : nil }
        await group2.triggerGracefulShutdown()
        try await run2.value
        await host.stop()

        let rows = host.rows
        #expect(Set(rows).count == rows.count, "a row was stored twice")
        let posts = host.requests.filter { $0.method == "POST" }
        #expect(posts.first?.status == 500)
        #expect(posts.contains { $0.status == 200 && $0.batchID == posts.first?.batchID })
        // Every batch holds at most uploadBatch rows, in the contract's format.
        let firstRow = try #require(rows.first)
        let object = try #require(json(firstRow))
        #expect(object["at"] is String && object["readings"] is [String: Any] && object["health"] is [String: Any])
        // telemetry: http — nothing on the broker's telemetry topic.
        #expect(probe.messages(on: "occupant/spool/telemetry").isEmpty)
    }
}

@Suite struct ServerConfigTests {
    @Test func serverDefaults() throws {
        let config = try GatewayConfig.parse(
            yaml: "server: { url: 'http://trainer:8080/', tokenFile: /etc/occupant/token }")
        let server = try #require(config.server)
        #expect(server.url == "http://trainer:8080")
        #expect(server.pollInterval == 300 && server.pollJitter == 0.1)
        #expect(server.uploadInterval == 30 && server.uploadBatch == 500 && server.spoolLimit == 100_000)
        #expect(server.telemetry == .http)
        #expect(!config.telemetryOverMQTT)
        #expect(try GatewayConfig.parse(yaml: "{}").server == nil)
        #expect(
            try GatewayConfig.parse(yaml: "simulate: { scenario: day, labels: true, labelEvery: 10m }").simulatedLabels?
                .every == 600)
    }

    @Test(arguments: [
        (
            "server: { url: 'ftp://trainer', token: t }",
            "gateway.yaml:1: server.url: expected an http:// or https:// URL, got 'ftp://trainer'"
        ),
        ("server: { url: 'http://trainer' }", "gateway.yaml:1: server: a server needs 'token' or 'tokenFile'"),
        (
            "server: { url: 'http://trainer', token: t, tokenFile: f }",
            "gateway.yaml:1: server: give either 'token' or 'tokenFile', not both"
        ),
        (
            "server: { url: 'http://trainer', token: t, telemetry: pigeon }",
            "gateway.yaml:1: server.telemetry: expected one of http, mqtt, both, got 'pigeon'"
        ),
        (
            "server: { url: 'http://trainer', token: t, pollIntervl: 5s }",
            "gateway.yaml:1: server.pollIntervl: unknown key 'pollIntervl' (did you mean 'pollInterval'?)"
        ),
        (
            "server: { url: 'http://trainer', token: t, pollInterval: 0s }",
            "gateway.yaml:1: server.pollInterval: must be positive"
        ),
        ("server: { url: 'http://trainer', token: t, pollJitter: 2 }", "gateway.yaml:1: server.pollJitter: 2"),
        (
            "server: { url: 'http://trainer', token: t, uploadBatch: 0 }",
            "gateway.yaml:1: server.uploadBatch: 0 is out of range"
        ),
        ("server: { token: t }", "gateway.yaml:1: server.url: missing required key 'url'"),
    ])
    func aBadServerKeyIsOneLineNamingIt(yaml: String, expected: String) {
        do {
            _ = try GatewayConfig.parse(yaml: yaml, source: "gateway.yaml")
            Issue.record("expected an error containing: \(expected)")
        } catch {
            #expect(error.description.hasPrefix(expected), "got: \(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func anUnreadableTokenFileNamesTheKey() throws {
        var config = try GatewayConfig.parse(
            yaml: "simulate: day\nserver: { url: 'http://127.0.0.1:9', tokenFile: /nonexistent/token }")
        config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
        config.stateDirectory = try temporaryDirectory("token-file").path
        #expect(throws: OccupantError.self) { try GatewayRuntime(config: config, logger: testLogger()) }
        do {
            _ = try GatewayRuntime(config: config, logger: testLogger())
        } catch let error as OccupantError {
            #expect(error.message.hasPrefix("server.tokenFile: cannot read /nonexistent/token"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

@Suite(.serialized) struct SimulatedLabelTests {
    @Test func simulateLabelsPublishesTheScenarioGroundTruth() async throws {
        let broker = try await MosquittoBroker()
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/labels/labels"])
        let gateway = try ChildProcess([
            "gateway", "run", "--simulate", "--speed", "600", "--simulate-labels", "--broker", broker.endpoint,
            "--gateway-id", "labels",
        ])
        defer { gateway.signal(SIGKILL) }
        // The office day starts vacant at midnight: after 30 simulated minutes (3 s) the running stretch is reported.
        let label = try await probe.waitFor("occupant/labels/labels", timeout: 20, "a label")
        let object = try #require(jsonObject(label))
        #expect((object["from"] as? String)?.hasPrefix("2026-01-05T00:00:") == true)
        #expect(object["occupied"] as? Bool == false)
        #expect(!label.retain)
        let refused = try await ChildProcess.run([
            "gateway", "run", "--bus", "1", "--simulate-labels", "--broker", broker.endpoint,
        ])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("simulated ground truth needs the simulated thermostat"))
    }

    @Test func oneLabelPerStretchWhenItEndsAndTheRunningOneEveryInterval() {
        var tracker = SimulatedLabeler.Tracker(every: 1800)
        let t0 = Instant(iso8601: "2026-01-05T08:00:00Z")!
        var labels: [JSON] = []
        // Vacant for an hour, occupied for 45 minutes, vacant again.
        for second in stride(from: 0, to: 6300, by: 1) {
            let occupied = second >= 3600 && second < 6300
            labels += tracker.observe(occupied, at: t0 + Double(second))
        }
        labels += tracker.observe(false, at: t0 + 6300)
        let texts = labels.map(\.serialized)
        #expect(
            texts == [
                #"{"from":"2026-01-05T08:00:00.000Z","to":"2026-01-05T08:30:00.000Z","occupied":false}"#,
                #"{"from":"2026-01-05T08:00:00.000Z","to":"2026-01-05T09:00:00.000Z","occupied":false}"#,
                #"{"from":"2026-01-05T09:00:00.000Z","to":"2026-01-05T09:30:00.000Z","occupied":true}"#,
                #"{"from":"2026-01-05T09:00:00.000Z","to":"2026-01-05T09:45:00.000Z","occupied":true}"#,
            ])
    }
}

@Suite struct TelemetrySpoolTests {
    func sample(_ second: Double) -> Sample {
        Sample(
            at: Instant(seconds: 1_767_571_200 + second),
            readings: [
                Reading(channel: "sound", value: .number(second))
            ])
    }

    @Test func batchesKeepTheirIdAcrossARestartAndTheOldestRowsGoFirst() throws {
        let dir = try temporaryDirectory("spool").appendingPathComponent("spool").path
        let spool = try TelemetrySpool(directory: dir, limit: 10, batchSize: 4, logger: testLogger())
        for s in 0..<6 { spool.append(sample(Double(s))) }
        try spool.flush()
        let batch = try #require(try spool.nextBatch())
        #expect(batch.rows == 4)

        // A restart: the same batch, the same id; nothing is sent twice once acknowledged.
        let reopened = try TelemetrySpool(directory: dir, limit: 10, batchSize: 4, logger: testLogger())
        #expect(reopened.count == 6)
        let again = try #require(try reopened.nextBatch())
        #expect(again == batch)
        reopened.acknowledge(again)
        #expect(reopened.count == 2)

        // Over the limit: the oldest rows are dropped, the newest kept.
        for s in 6..<20 { reopened.append(sample(Double(s))) }
        try reopened.flush()
        #expect(reopened.count == 10)
        #expect(reopened.droppedCount == 6)
        var values: [Double] = []
        while let b = try reopened.nextBatch() {
            for line in String(decoding: b.body, as: UTF8.self).split(separator: "\n") {
                values.append(try #require((json(String(line))?["readings"] as? [String: Double])?["sound"]))
            }
            reopened.acknowledge(b)
        }
        #expect(values == (10..<20).map(Double.init))
    }

    /// Segments made within one millisecond still reopen in the order they were written (their names once sorted by
    /// a random suffix in that case, which reordered batches across a restart).
    @Test func segmentsMadeWithinOneMillisecondReopenInOrder() throws {
        let dir = try temporaryDirectory("spool-order").appendingPathComponent("spool").path
        let spool = try TelemetrySpool(directory: dir, limit: 1000, batchSize: 1, logger: testLogger())
        for s in 0..<64 { spool.append(sample(Double(s))) }
        try spool.flush()
        let reopened = try TelemetrySpool(directory: dir, limit: 1000, batchSize: 1, logger: testLogger())
        var values: [Double] = []
        while let b = try reopened.nextBatch() {
            let line = String(decoding: b.body, as: UTF8.self).trimmingCharacters(in: .newlines)
            values.append(try #require((json(line)?["readings"] as? [String: Double])?["sound"]))
            reopened.acknowledge(b)
        }
        #expect(values == (0..<64).map(Double.init))
    }
}
