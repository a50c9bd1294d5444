import Foundation
import Logging
import MQTT
import OccupantTesting
import ServiceLifecycle
import Testing

@testable import Gateway

/// The gateway side of model delivery against a real mosquitto and a real HTTP training host on loopback: push,
/// poll with 304, a resumed download, refusals that are not fetched again.
@Suite(.serialized) struct ModelDeliveryTests {
    @Test func aPushMakesTheGatewayFetchVerifyInstallAndSwitch() async throws {
        let rig = try await DeliveryRig(id: "push", pollInterval: "300s")
        defer { rig.kill() }
        // The server has nothing yet: the first poll answers 204 and the rule keeps deciding.
        try await rig.probe.waitFor("occupant/push/model/status", timeout: 20, "no model") {
            jsonObject($0)?["active"] is NSNull
        }
        _ = try await waitUntil(timeout: 10, "the first poll") { rig.host.requests.first { $0.status == 204 } }
        try await rig.probe.waitFor("occupant/push/occupancy", timeout: 20, "the rule") {
            jsonObject($0)?["decidedBy"] as? String == "rule:sound>10"
        }
        // Home Assistant's update entity: the rule, and nothing assigned.
        try await rig.probe.waitFor("occupant/push/model/update", timeout: 20, "the rule") {
            jsonObject($0)?["installed_version"] as? String == "rule"
                && jsonObject($0)?["latest_version"] as? String == "rule"
        }

        let bundle = try rig.bundle("v1")
        rig.host.serve(bundle)
        let sha = TestTrainingHost.sha256(bundle)
        try rig.announce(sha: sha, version: 1, size: bundle.count)

        try await rig.probe.waitFor("occupant/push/occupancy", timeout: 20, "the pushed model") {
            jsonObject($0)?["decidedBy"] as? String == "model:bench-d6-100@1"
        }
        let status = try await rig.probe.waitFor("occupant/push/model/status", timeout: 10, "active") {
            jsonObject($0)?["active"] as? String == "bench-d6-100@1"
        }
        #expect(jsonObject(status)?["sha256"] as? String == sha)
        #expect(jsonObject(status)?["refused"] is NSNull)
        // Retained: a late subscriber gets it from the broker.
        let late = try await MQTTProbe(port: rig.broker.port, subscriptions: ["occupant/push/model/status"])
        let retained = try await late.waitFor("occupant/push/model/status", timeout: 10) { $0.retain }
        #expect(jsonObject(retained)?["active"] as? String == "bench-d6-100@1")
        // Fetched because of the push: one 204 poll and one 200 download, nothing else (the poll is 5 minutes away).
        #expect(rig.host.requests.map(\.status) == [204, 200])
        #expect(FileManager.default.fileExists(atPath: "\(rig.state)/models/bench-d6-100-v1.occmodel"))

        // The retained announcement comes back on every reconnect: the active hash is not fetched again.
        // A negative check (no request may follow), so a bounded window rather than an event: the gateway emits
        // nothing for an announcement of the model it already runs.
        try rig.announce(sha: sha, version: 1, size: bundle.count)
        try await Task.sleep(for: .milliseconds(500))
        #expect(rig.host.requests.count == 2)
        try await rig.stop()
    }

    @Test func pollsAnswer304WhenNothingChanged() async throws {
        let rig = try await DeliveryRig(id: "poll", pollInterval: "300ms")
        defer { rig.kill() }
        let bundle = try rig.bundle("v1")
        rig.host.serve(bundle)
        let sha = TestTrainingHost.sha256(bundle)
        try await rig.probe.waitFor("occupant/poll/model/status", timeout: 20, "active") {
            jsonObject($0)?["active"] as? String == "bench-d6-100@1"
        }
        let notModified = try await waitUntil(timeout: 15, "three 304s") {
            let r = rig.host.requests.filter { $0.status == 304 }
            return r.count >= 3 ? r : nil
        }
        #expect(rig.host.requests.filter { $0.status == 200 }.count == 1)
        #expect(notModified.allSatisfy { $0.ifNoneMatch?.contains("\"\(sha)\"") == true })
        // Home Assistant's update entity: the installed bundle and the one the server names in X-Occupant-Model
        // (the test host always says test@1), with the bundle's figures.
        try await rig.probe.waitFor("occupant/poll/model/update", timeout: 20, "installed and assigned") {
            jsonObject($0)?["installed_version"] as? String == "bench-d6-100@1"
                && jsonObject($0)?["latest_version"] as? String == "test@1"
        }
        try await rig.probe.waitFor("occupant/poll/occupancy", timeout: 20, "the model") {
            jsonObject($0)?["decidedBy"] as? String == "model:bench-d6-100@1"
        }
        try await rig.stop()
    }

    @Test func anInterruptedDownloadResumesWithRange() async throws {
        let rig = try await DeliveryRig(
            id: "resume", pollInterval: "300s",
            startServing: { host, bundle in
                host.serve(bundle)
                host.cutNextDownload(after: bundle.count / 2)
            })
        defer { rig.kill() }
        try await rig.probe.waitFor("occupant/resume/model/status", timeout: 30, "active") {
            jsonObject($0)?["active"] as? String == "bench-d6-100@1"
        }
        let gets = rig.host.requests.filter { $0.method == "GET" }
        #expect(gets.map(\.status) == [200, 206])
        let range = try #require(gets.last?.range)
        let start = try #require(Int(range.dropFirst("bytes=".count).dropLast()))
        #expect(start > 0 && start <= rig.v1Size / 2, "resumed at \(start) of \(rig.v1Size)")
        try await rig.probe.waitFor("occupant/resume/occupancy", timeout: 20, "the model") {
            jsonObject($0)?["decidedBy"] as? String == "model:bench-d6-100@1"
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(rig.state)/models").filter {
            $0.hasPrefix(".download-")
        }
        #expect(leftovers.isEmpty)
        try await rig.stop()
    }

    @Test func badBundlesAreRefusedOnceAndTheRunningModelKeepsDeciding() async throws {
        let rig = try await DeliveryRig(id: "refuse", pollInterval: "300ms")
        defer { rig.kill() }
        rig.host.serve(try rig.bundle("v1"))
        try await rig.probe.waitFor("occupant/refuse/model/status", timeout: 20, "v1 active") {
            jsonObject($0)?["active"] as? String == "bench-d6-100@1"
        }

        // A bit flipped in transit (or on the server): a valid hash of invalid bytes.
        var corrupt = try rig.bundle("v2")
        corrupt[corrupt.count / 2] ^= 0x40
        let corruptSHA = TestTrainingHost.sha256(corrupt)
        rig.host.serve(corrupt)
        try rig.announce(sha: corruptSHA, version: 2, size: corrupt.count)
        let refused = try await rig.probe.waitFor("occupant/refuse/model/status", timeout: 20, "v2 refused") {
            ((jsonObject($0)?["refused"] as? [String: Any])?["sha256"] as? String) == corruptSHA
        }
        let refusal = try #require(jsonObject(refused)?["refused"] as? [String: Any])
        #expect((refusal["reason"] as? String)?.contains(": ") == true)
        #expect(jsonObject(refused)?["active"] as? String == "bench-d6-100@1")

        // Signed by a key this gateway does not trust.
        let foreign = try rig.bundle("v3-foreign")
        let foreignSHA = TestTrainingHost.sha256(foreign)
        rig.host.serve(foreign)
        try rig.announce(sha: foreignSHA, version: 3, size: foreign.count)
        let untrusted = try await rig.probe.waitFor("occupant/refuse/model/status", timeout: 20, "v3 refused") {
            ((jsonObject($0)?["refused"] as? [String: Any])?["sha256"] as? String) == foreignSHA
        }
        let reason = try #require((jsonObject(untrusted)?["refused"] as? [String: Any])?["reason"] as? String)
        #expect(reason.hasPrefix("untrustedKey: "))
        #expect((jsonObject(untrusted)?["refused"] as? [String: Any])?["version"] as? Int == 3)

        // The old model keeps deciding; polls go on, answered 304 for the refused hash, and the bundle is not fetched again.
        let index = rig.probe.messages.count
        try await rig.probe.waitFor("occupant/refuse/occupancy", timeout: 20, after: index, "still v1") {
            jsonObject($0)?["decidedBy"] as? String == "model:bench-d6-100@1"
        }
        let before = rig.host.requests.count
        try rig.announce(sha: foreignSHA, version: 3, size: foreign.count)
        _ = try await waitUntil(timeout: 10, "more polls") { rig.host.requests.count >= before + 3 ? true : nil }
        let downloads = rig.host.requests.filter { $0.status == 200 }
        #expect(downloads.filter { $0.etag == foreignSHA }.count == 1)
        #expect(downloads.filter { $0.etag == corruptSHA }.count == 1)
        #expect(rig.host.requests.suffix(3).allSatisfy { $0.status == 304 })
        try await rig.stop()
    }

    @Test func aWrongTokenIsLoggedAndTheRuleKeepsDeciding() async throws {
        let rig = try await DeliveryRig(id: "token", pollInterval: "300ms", token: "wrong")
        defer { rig.kill() }
        rig.host.serve(try rig.bundle("v1"))
        _ = try await waitUntil(timeout: 10, "a 401") { rig.host.requests.first { $0.status == 401 } }
        // Retried (1 s backoff) and answered 401 again: one warning for all of them.
        _ = try await waitUntil(timeout: 20, "three 401s") {
            rig.host.requests.filter { $0.status == 401 }.count >= 3 ? true : nil
        }
        #expect(rig.runtime.updater?.failureWarnings == 1)
        try await rig.probe.waitFor("occupant/token/occupancy", timeout: 20, "the rule") {
            jsonObject($0)?["decidedBy"] as? String == "rule:sound>10"
        }
        #expect(!rig.host.requests.contains { $0.status == 200 })
        try await rig.stop()
    }
}

/// A real broker, a real HTTP training host and an in-process gateway with a `server:` section, plus signed bundles
/// made from the committed xgboost fixture by `occupant model import`.
final class DeliveryRig: @unchecked Sendable {
    // @unchecked: set up once in init, then only read; the running task is cancelled from the test's task.
    let id: String
    let dir: URL
    let state: String
    let broker: MosquittoBroker
    let host: TestTrainingHost
    let probe: MQTTProbe
    let runtime: GatewayRuntime
    let group: ServiceGroup
    let running: Task<Void, any Error>
    let bundles: [String: [UInt8]]
    var v1Size: Int { bundles["v1"]!.count }

    init(
        id: String, pollInterval: String, token: String = "gw-token", extra: String = "", topLevel: String = "",
        limits: ModelUpdater.DownloadLimits? = nil, startServing: ((TestTrainingHost, [UInt8]) -> Void)? = nil
    ) async throws {
        self.id = id
        dir = try temporaryDirectory("delivery-\(id)")
        state = dir.appendingPathComponent("state").path
        bundles = try await DeliveryRig.makeBundles(in: dir)
        broker = try await MosquittoBroker()
        host = try await TestTrainingHost(gatewayID: id)
        startServing?(host, bundles["v1"]!)
        probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/\(id)/#"])
        var config = try GatewayConfig.parse(
            yaml: """
                gatewayId: \(id)
                simulate: { scenario: day, speed: 60 }
                broker: { port: \(broker.port) }
                stateDirectory: \(state)
                trustedKeys: [\(dir.appendingPathComponent("signer.pub").path)]
                decision: { heartbeat: 5s }
                server: { url: "\(host.url)/", token: \(token), pollInterval: \(pollInterval), pollJitter: 0 \(extra) }
                \(topLevel)
                """)
        config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
        runtime = try GatewayRuntime(config: config, logger: testLogger())
        if let limits { runtime.updater?.downloadLimits = limits }
        let group = ServiceGroup(services: runtime.services, logger: testLogger())
        self.group = group
        running = Task { try await group.run() }
    }

    func bundle(_ name: String) throws -> [UInt8] { try #require(bundles[name]) }

    /// The server's retained announcement.
    func announce(sha: String, version: Int, size: Int) throws {
        let payload =
            #"{"modelID":"bench-d6-100","version":\#(version),"sha256":"\#(sha)","size":\#(size),"url":"\#(host.url)/v1/gateways/\#(id)/model"}"#
        try probe.publish(MQTTMessage(topic: "occupant/\(id)/model/available", text: payload, qos: 1, retain: true))
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
        await host.stop()
    }

    func kill() { running.cancel() }

    /// v1, v2 signed by the trusted key; v3 by another one. Made once per process and copied.
    static func makeBundles(in dir: URL) async throws -> [String: [UInt8]] {
        let fixtures = packageRootPath("Tests/Fixtures/models")
        let key = dir.appendingPathComponent("signer").path
        let other = dir.appendingPathComponent("other").path
        for k in [key, other] {
            let generated = try await ChildProcess.run(["keys", "generate", "--out", k])
            try #require(generated.status == 0, "\(generated.stderr)")
        }
        var out: [String: [UInt8]] = [:]
        for (name, version, signer) in [("v1", 1, key), ("v2", 2, key), ("v3-foreign", 3, other)] {
            let path = dir.appendingPathComponent("\(name).occmodel").path
            let result = try await ChildProcess.run([
                "model", "import", "--xgboost", "\(fixtures)/bench-d6-100.model.json",
                "--features", "\(fixtures)/bench-features.yaml", "--signing-key", signer + ".key",
                "--model-version", String(version), "--out", path,
            ])
            try #require(result.status == 0, "\(result.stderr)")
            out[name] = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        }
        return out
    }
}

/// Quiet unless OCCUPANT_TEST_LOG=debug|info|… is set.
func testLogger() -> Logger {
    var logger = Logger(label: "test")
    logger.logLevel =
        ProcessInfo.processInfo.environment["OCCUPANT_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}
