import Logging
import MQTT
import OccupantCore
import OccupantTesting
import ServiceLifecycle
import Testing

@testable import Gateway

/// The occupancy attributes are published when what they say changes, not with every decision (issue 16: CPU per
/// cycle; and Home Assistant's recorder writes a state row for every attributes message). Counted on a real broker.
@Suite(.serialized) struct HomeAssistantAttributesTests {
    static let id = "haattr"
    var base: String { "occupant/\(Self.id)" }

    @Test func theRefreshIntervalIsReadAndChecked() throws {
        #expect(try GatewayConfig.parse(yaml: "{}").homeAssistant.attributesRefresh == 60)
        #expect(
            try GatewayConfig.parse(yaml: "homeAssistant: { attributesRefresh: 5m }").homeAssistant.attributesRefresh
                == 300)
        #expect(
            try GatewayConfig.parse(yaml: "homeAssistant: { attributesRefresh: 0s }").homeAssistant.attributesRefresh
                == 0)
        do {
            _ = try GatewayConfig.parse(yaml: "homeAssistant: { attributesRefresh: 2d }")
            Issue.record("a refresh of 2 days was accepted")
        } catch {
            #expect("\(error)".contains("homeAssistant.attributesRefresh"))
        }
    }

    /// Unchanged attributes are refreshed every `attributesRefresh` of decision time, and at once when the clock
    /// stepped back (NTP at boot) instead of only after the step.
    @Test func unchangedAttributesAreRefreshedOnTheIntervalAndAfterAClockStepBack() {
        let connection = RecordingConnection()
        connection.setConnected(true)
        let topics = GatewayTopics(prefix: "occupant", gatewayID: "refresh")
        let publisher = GatewayPublisher(
            connection: connection, topics: topics, discovery: nil, edukitThing: nil, queueLimit: 10,
            logger: Logger(label: "refresh") { _ in SwiftLogNoOpLogHandler() })
        let t0 = Instant(seconds: 1_800_000_000)
        let controls = HomeAssistantControls(
            settings: .init(attributesRefresh: 60), publisher: publisher, clock: ManualClock(t0),
            board: ModelStatusBoard(), logger: Logger(label: "refresh") { _ in SwiftLogNoOpLogHandler() })
        func decide(at offset: Double) {
            let decision = Decision(
                roomOccupancy: false, probability: 0, decidedBy: StaticRule().id, inputs: .one("sound", .number(3)),
                health: ["sound": .ok], stale: nil, at: t0 + offset)
            controls.published(decision, scorer: StaticRule())
        }
        var attributes: Int { connection.published.filter { $0.topic == topics.occupancyAttributes }.count }
        decide(at: 0)
        #expect(attributes == 1)
        for second in stride(from: 0.1, to: 60, by: 0.1) { decide(at: second) }
        #expect(attributes == 1)
        decide(at: 60)
        #expect(attributes == 2)
        decide(at: -3600)
        #expect(attributes == 3)
        decide(at: -3599.9)
        #expect(attributes == 3)
    }

    /// Every cycle publishes a decision (heartbeat of one tick, the simulated thermostat at 20×); the attributes
    /// follow a change at once (the override), then stay quiet while nothing they say changes, and are sent again —
    /// once — when Home Assistant restarts and after the broker restarted (retained for a new subscriber).
    @Test func attributesAreSentOnChangeAndAgainAfterReconnect() async throws {
        let broker = try await MosquittoBroker()
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["\(base)/#"])
        var config = try GatewayConfig.parse(
            yaml: """
                gatewayId: \(Self.id)
                simulate: { scenario: day, speed: 20 }
                decision: { heartbeat: 100ms }
                telemetry: { enabled: false }
                monitor: { enabled: false }
                broker: { reconnect: { min: 1s, max: 1s } }
                homeAssistant: { attributesRefresh: 1d }
                """)
        config.broker.port = broker.port
        config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let runtime = try GatewayRuntime(config: config, logger: quiet)
        let group = ServiceGroup(services: runtime.services, logger: quiet)
        let running = Task { try await group.run() }
        defer { running.cancel() }
        let attributes = "\(base)/occupancy/attributes"
        let decisions = "\(base)/occupancy"

        // The first decision brings the first attributes.
        try await probe.waitFor(attributes) { jsonObject($0)?["decidedBy"] as? String == "rule:sound>10" }

        // A change (the override) is sent at once, with the decision it applies to.
        let beforeOverride = probe.messages.count
        try probe.publish(MQTTMessage(topic: "\(base)/override/set", text: "empty"))
        let overridden = try await probe.waitFor(attributes, after: beforeOverride, "with the override") {
            jsonObject($0)?["override"] as? String == "empty" && jsonObject($0)?["decidedBy"] as? String == "override"
        }
        let at = try #require(jsonObject(overridden)?["at"] as? String)
        #expect(
            probe.messages(on: decisions).contains {
                jsonObject($0)?["at"] as? String == at && jsonObject($0)?["decidedBy"] as? String == "override"
            }, "the attributes came with the first overridden decision")

        // Then 200 decisions (every cycle) and no attributes: nothing they say changed.
        let quietFrom = probe.messages.count
        try await count(decisions, atLeast: 200, after: quietFrom, on: probe)
        #expect(published(attributes, after: quietFrom, on: probe) == 0)

        // Home Assistant restarts: the attributes once more, then quiet again.
        let beforeRestart = probe.messages.count
        try probe.publish(MQTTMessage(topic: "homeassistant/status", text: "online"))
        try await probe.waitFor(attributes, after: beforeRestart, "after Home Assistant's restart")
        try await count(decisions, atLeast: 100, after: beforeRestart, on: probe)
        #expect(published(attributes, after: beforeRestart, on: probe) == 1)

        // The broker restarts (and loses its retained messages): after the reconnect the attributes are sent again,
        // retained, so a subscriber that comes later gets them.
        let beforeReconnect = probe.messages.count
        broker.stop()
        try await broker.start()
        try await probe.waitFor("\(base)/status", timeout: 30, after: beforeReconnect, "online again") {
            $0.text == "online"
        }
        try await probe.waitFor(attributes, after: beforeReconnect, "after the reconnect")
        let fresh = try await MQTTProbe(port: broker.port, subscriptions: [attributes])
        let retained = try await fresh.waitFor(attributes, "retained after the reconnect")
        #expect(retained.retain && jsonObject(retained)?["override"] as? String == "empty")

        await group.triggerGracefulShutdown()
        try await running.value
    }

    private func published(_ topic: String, after index: Int, on probe: MQTTProbe) -> Int {
        probe.messages.dropFirst(index).filter { $0.topic == topic }.count
    }

    private func count(_ topic: String, atLeast n: Int, after index: Int, on probe: MQTTProbe) async throws {
        _ = try await waitUntil(timeout: 60, "\(n) messages on \(topic)") {
            published(topic, after: index, on: probe) >= n ? true : nil
        }
    }
}
