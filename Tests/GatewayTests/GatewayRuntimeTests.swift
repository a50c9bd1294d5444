import Foundation
import Logging
import MQTT
import OccupantTesting
import ServiceLifecycle
import Testing

@testable import Gateway

/// The gateway's services in-process against a real broker, with faults injected into the simulated bus.
@Suite(.serialized) struct GatewayRuntimeTests {
    @Test func keepsDecidingAndPublishingThroughASensorFailure() async throws {
        let broker = try await MosquittoBroker()
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/fault/#"])
        var config = try GatewayConfig.parse(
            yaml: """
                gatewayId: fault
                simulate: { scenario: day, speed: 60 }
                decision: { staleAfter: 30s, heartbeat: 10s }
                sensors: { degradedAfter: 2, failedAfter: 5 }
                telemetry: { interval: 10s }
                """)
        config.broker.port = broker.port
        config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let runtime = try GatewayRuntime(config: config, logger: logger)
        let group = ServiceGroup(services: runtime.services, logger: logger)
        let running = Task { try await group.run() }

        try await probe.waitFor("occupant/fault/occupancy") { jsonObject($0)?["stale"] == nil }
        let bus = try #require(runtime.simulatedBus)
        bus.inject(.noAcknowledge(address: 0x30))
        let stale = try await probe.waitFor("occupant/fault/occupancy", timeout: 20, "stale") {
            jsonObject($0)?["stale"] is String
        }
        let object = try #require(jsonObject(stale))
        #expect(object["roomOccupancy"] is NSNull)
        #expect((object["stale"] as? String)?.contains("no acknowledge") == true)
        let failed = try await probe.waitFor("occupant/fault/occupancy", timeout: 20, "health failed") {
            (jsonObject($0)?["health"] as? [String: String])?["sound"] == "failed"
        }
        #expect(failed.topic == "occupant/fault/occupancy")
        // Telemetry keeps flowing, with the reason.
        let telemetry = try await probe.waitFor("occupant/fault/telemetry", timeout: 20, "telemetry with the failure") {
            (jsonObject($0)?["unavailable"] as? [String: String])?["sound"]?.contains("no acknowledge") == true
        }
        #expect(telemetry.topic == "occupant/fault/telemetry")

        bus.clearFaults()
        let index = probe.messages.count
        try await probe.waitFor("occupant/fault/occupancy", timeout: 20, after: index, "recovered") {
            jsonObject($0)?["stale"] == nil && (jsonObject($0)?["health"] as? [String: String])?["sound"] == "ok"
        }
        await group.triggerGracefulShutdown()
        try await running.value
        try await probe.waitFor("occupant/fault/status", timeout: 10, "offline on shutdown") { $0.text == "offline" }
    }

    @Test func sighupReloadsAndABrokenProfileKeepsTheRunningOne() async throws {
        let broker = try await MosquittoBroker()
        let dir = try temporaryDirectory()
        let profilePath = dir.appendingPathComponent("board.yaml").path
        try String(contentsOfFile: packageRootPath("firmware-profiles/thermostat-mcu.yaml"), encoding: .utf8)
            .write(toFile: profilePath, atomically: true, encoding: .utf8)
        let configPath = dir.appendingPathComponent("gateway.yaml").path
        try """
        gatewayId: reload
        profile: \(profilePath)
        simulate: { scenario: day, speed: 60 }
        broker: { port: \(broker.port) }
        decision: { threshold: 10, heartbeat: 5s }
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let gateway = try ChildProcess(["gateway", "run", "--config", configPath])
        defer { gateway.signal(SIGKILL) }
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/reload/occupancy"])
        try await probe.waitFor("occupant/reload/occupancy")

        try "name: broken\n".write(toFile: profilePath, atomically: true, encoding: .utf8)
        gateway.signal(SIGHUP)
        _ = try await waitUntil(timeout: 15, "reload failure logged") {
            gateway.stderr.contains("reload failed, keeping the running configuration") ? true : nil
        }
        #expect(gateway.stderr.contains("missing required key 'devices'"))
        let index = probe.messages.count
        try await probe.waitFor("occupant/reload/occupancy", timeout: 15, after: index, "still deciding")

        // A good change takes effect: the rule's threshold moves to 200, so the room reads vacant.
        try String(contentsOfFile: packageRootPath("firmware-profiles/thermostat-mcu.yaml"), encoding: .utf8)
            .write(toFile: profilePath, atomically: true, encoding: .utf8)
        try String(contentsOfFile: configPath, encoding: .utf8).replacingOccurrences(
            of: "threshold: 10", with: "threshold: 200"
        )
        .write(toFile: configPath, atomically: true, encoding: .utf8)
        gateway.signal(SIGHUP)
        try await probe.waitFor("occupant/reload/occupancy", timeout: 20, "decided by the new rule") {
            jsonObject($0)?["decidedBy"] as? String == "rule:sound>200"
        }
        #expect(gateway.isRunning)
    }
}
