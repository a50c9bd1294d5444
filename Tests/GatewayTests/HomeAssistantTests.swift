import Evaluator
import Foundation
import Logging
import MQTT
import OccupantCore
import OccupantTesting
import ServiceLifecycle
import Testing

@testable import Gateway

/// The override and the occupancy history as plain values.
@Suite struct HomeAssistantStateTests {
    @Test func anOverrideForcesItsStateAndExpiresBackToAuto() {
        var o = Override(maxDuration: 600)
        let t0 = Instant(seconds: 1_800_000_000)
        #expect(o.forced == nil && o.until == nil)
        o.set(.empty, at: t0)
        #expect(o.forced == false && o.until == t0 + 600)
        let r1 = o.expire(at: t0 + 599)
        #expect(!r1)
        let r2 = o.expire(at: t0 + 600)
        #expect(r2)
        #expect(o.mode == .auto && o.forced == nil && o.until == nil)
        let r3 = o.expire(at: t0 + 700)
        #expect(!r3) // expires once
        o.set(.occupied, at: t0 + 700)
        o.set(.auto, at: t0 + 701)
        #expect(o.forced == nil && o.until == nil)
    }

    @Test func aCorrectionLabelsTheSpanSinceTheLastChangeAtMostTheWindow() {
        let t0 = Instant(seconds: 1_800_000_000)
        var h = OccupancyHistory(start: t0, maxOccupied: nil)
        // Nothing published yet: from the start.
        #expect(h.correctionSpan(at: t0 + 100, window: 1800) == (t0, t0 + 100))
        _ = h.observe(false, at: t0 + 10)
        _ = h.observe(true, at: t0 + 200)
        _ = h.observe(true, at: t0 + 300)
        #expect(h.lastChange == t0 + 200)
        #expect(h.correctionSpan(at: t0 + 500, window: 1800) == (t0 + 200, t0 + 500))
        // Long ago: only the window.
        #expect(h.correctionSpan(at: t0 + 10_000, window: 1800) == (t0 + 8200, t0 + 10_000))
        // A stale stretch is a change too (the published state was unknown).
        _ = h.observe(nil, at: t0 + 10_500)
        #expect(h.correctionSpan(at: t0 + 10_600, window: 1800) == (t0 + 10_500, t0 + 10_600))
    }

    @Test func occupiedTooLongIsRaisedOnceAndClearedByAVacantDecision() {
        let t0 = Instant(seconds: 1_800_000_000)
        var h = OccupancyHistory(start: t0, maxOccupied: 3600)
        let r4 = h.observe(true, at: t0)
        #expect(!r4)
        let r5 = h.observe(nil, at: t0 + 1800)
        #expect(!r5) // stale does not end the stretch
        let r6 = h.observe(true, at: t0 + 3600)
        #expect(!r6)
        #expect(h.alert == nil)
        let r7 = h.observe(true, at: t0 + 3601)
        #expect(r7)
        #expect(h.alert?.contains("homeAssistant.maxOccupied (1h 00m)") == true)
        let r8 = h.observe(true, at: t0 + 4000)
        #expect(!r8) // raised once
        #expect(h.alert != nil)
        let r9 = h.observe(false, at: t0 + 4001)
        #expect(!r9)
        #expect(h.alert == nil && h.occupiedSince == nil)
    }

    /// The attributes keep schema 1: the same members in the same order; `why` is the model's own three largest
    /// contributions for this feature vector.
    @Test func theAttributesKeepTheirSchemaAndNameTheTopFeatures() throws {
        let bundle = try MonitorTests.bundleWithBaseline()
        let scorer = try ModelScorer(bundle: bundle)
        let names = bundle.manifest.features.names
        let values = names.indices.map { Double($0 * 7 % 5) + 0.25 }
        let t0 = Instant(seconds: 1_800_000_000)
        let decision = Decision(
            roomOccupancy: true, probability: bundle.model.probability(values), decidedBy: scorer.id,
            inputs: .features(names: names, values: values), health: ChannelHealthList([]), stale: nil, at: t0)
        var override = Override(maxDuration: 60)
        override.set(.empty, at: t0)
        var history = OccupancyHistory(start: t0, maxOccupied: nil)
        _ = history.observe(true, at: t0)
        let json = OccupancyAttributes(
            decision: decision, scorer: scorer, override: override, history: history, monitor: nil
        ).json
        guard case .object(let members) = json else {
            Issue.record("not an object")
            return
        }
        #expect(
            members.map(\.key) == [
                "schema", "modelId", "decidedBy", "probability", "why", "override", "overrideUntil", "occupiedSince",
                "occupiedTooLong", "warning", "estimatedAccuracy", "drift", "driftedFeatures", "at",
            ])
        let contributions = bundle.model.contributions(values).values
        let expected = names.indices.sorted { abs(contributions[$0]) > abs(contributions[$1]) }.prefix(3)
        let why = try #require(json["why"])
        #expect(
            why
                == .array(
                    expected.map {
                        .object([
                            "feature": .string(names[$0]), "value": .number(values[$0]),
                            "contribution": .number(contributions[$0]),
                        ])
                    }))
        #expect(json["modelId"] == .string("monitored@1") && json["override"] == .string("empty"))
        #expect(json["overrideUntil"] == .string((t0 + 60).iso8601))
        #expect(json["estimatedAccuracy"] == .null && json["drift"] == .string("unknown"))

        // The rule names its input, with no contribution.
        let rule = StaticRule()
        let ruled = Decision(
            roomOccupancy: true, probability: 1, decidedBy: rule.id, inputs: .one("sound", .number(42)),
            health: ChannelHealthList([]), stale: nil, at: t0)
        let ruleJSON = OccupancyAttributes(
            decision: ruled, scorer: rule, override: Override(maxDuration: 60), history: history, monitor: nil
        ).json
        #expect(ruleJSON["modelId"] == .string("rule:sound>10"))
        #expect(ruleJSON["why"] == .array([.object(["feature": "sound", "value": 42, "contribution": .null])]))
    }

    @Test func theConfigurationSectionIsReadAndCheckedWithKeyPaths() throws {
        let config = try GatewayConfig.parse(
            yaml: "homeAssistant: { correctionWindow: 10m, override: { maxDuration: 2h }, maxOccupied: off }")
        #expect(
            config.homeAssistant
                == HomeAssistantSettings(correctionWindow: 600, overrideMaxDuration: 7200, maxOccupied: nil))
        #expect(try GatewayConfig.parse(yaml: "{}").homeAssistant == HomeAssistantSettings())
        #expect(throws: DocumentErrors.self) {
            try GatewayConfig.parse(yaml: "homeAssistant: { override: { maxDuration: 0s } }")
        }
        do {
            _ = try GatewayConfig.parse(yaml: "homeAssistant: { overide: 1h }")
            Issue.record("an unknown key was accepted")
        } catch {
            #expect("\(error)".contains("homeAssistant.overide"))
        }
    }
}

/// The Home Assistant controls on a running gateway (in-process, real mosquitto, the simulated thermostat at 600×,
/// a tree-ensemble bundle deciding).
@Suite(.serialized) struct HomeAssistantTests {
    static let id = "hagw"

    func start(_ broker: MosquittoBroker) throws -> (GatewayRuntime, Task<Void, any Error>, ServiceGroup) {
        var config = try GatewayConfig.parse(
            yaml: """
                gatewayId: \(Self.id)
                simulate: { scenario: day, speed: 600 }
                monitor: { window: 10m }
                telemetry: { enabled: false }
                homeAssistant: { correctionWindow: 20m, override: { maxDuration: 30m }, maxOccupied: 10m }
                """)
        config.broker.port = broker.port
        config.stateDirectory = try temporaryDirectory("ha").appendingPathComponent("state").path
        config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let runtime = try GatewayRuntime(config: config, logger: quiet)
        let scorer = try ModelScorer(bundle: try MonitorTests.bundleWithBaseline())
        runtime.loop.replaceScorer(scorer, hysteresis: scorer.hysteresis, note: nil)
        let group = ServiceGroup(services: runtime.services, logger: quiet)
        return (runtime, Task { try await group.run() }, group)
    }

    @Test func discoveryCorrectionOverrideAttributesAndBadCommands() async throws {
        let broker = try await MosquittoBroker()
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["homeassistant/#", "occupant/\(Self.id)/#"])
        let (runtime, running, group) = try start(broker)
        defer { running.cancel() }
        let base = "occupant/\(Self.id)"
        let node = "occupant_\(Self.id)"

        // Discovery: two buttons, the select, the update and the diagnostic sensors.
        for (component, object) in [
            ("button", "correct_occupied"), ("button", "correct_empty"), ("select", "override"), ("update", "model"),
            ("sensor", "estimated_accuracy"), ("sensor", "drift"), ("sensor", "probability"),
            ("binary_sensor", "occupied_too_long"),
        ] {
            try await probe.waitFor("homeassistant/\(component)/\(node)/\(object)/config")
        }
        let empty = try #require(
            jsonObject(try await probe.waitFor("homeassistant/button/\(node)/correct_empty/config")))
        #expect(empty["name"] as? String == "Room is empty")
        #expect(empty["command_topic"] as? String == "\(base)/correct" && empty["payload_press"] as? String == "empty")
        let select = try #require(jsonObject(try await probe.waitFor("homeassistant/select/\(node)/override/config")))
        #expect(select["options"] as? [String] == ["auto", "occupied", "empty"])
        #expect(select["command_topic"] as? String == "\(base)/override/set")
        #expect(select["state_topic"] as? String == "\(base)/override")
        let update = try #require(jsonObject(try await probe.waitFor("homeassistant/update/\(node)/model/config")))
        #expect(update["state_topic"] as? String == "\(base)/model/update")
        #expect(update["entity_category"] as? String == "diagnostic")
        let occupancy = try #require(
            jsonObject(try await probe.waitFor("homeassistant/binary_sensor/\(node)/occupancy/config")))
        #expect(occupancy["json_attributes_topic"] as? String == "\(base)/occupancy/attributes")
        try await probe.waitFor("\(base)/override") { $0.text == "auto" }

        // Attributes: the model, its probability and the three features that moved the decision most.
        let names = try MonitorTests.bundleWithBaseline().manifest.features.names
        let attributes = try #require(
            jsonObject(
                try await probe.waitFor("\(base)/occupancy/attributes", "with a model's why") {
                    (jsonObject($0)?["why"] as? [Any])?.count == 3
                        && jsonObject($0)?["decidedBy"] as? String == "model:monitored@1"
                }))
        #expect(attributes["schema"] as? Int == 1 && attributes["modelId"] as? String == "monitored@1")
        #expect(attributes["probability"] is Double)
        let why = try #require(attributes["why"] as? [[String: Any]])
        let contributions = why.compactMap { $0["contribution"] as? Double }
        #expect(contributions.count == 3 && why.allSatisfy { names.contains($0["feature"] as? String ?? "") })
        #expect(zip(contributions, contributions.dropFirst()).allSatisfy { abs($0) >= abs($1) })
        for key in [
            "override", "overrideUntil", "occupiedSince", "occupiedTooLong", "warning", "estimatedAccuracy", "drift",
        ] {
            #expect(attributes.keys.contains(key), "attribute \(key)")
        }
        // After a monitor window: the estimated accuracy and the drift state.
        try await probe.waitFor("\(base)/occupancy/attributes", timeout: 30, "with the monitor's figures") {
            jsonObject($0)?["estimatedAccuracy"] is Double && jsonObject($0)?["drift"] as? String != "unknown"
        }

        // The update entity: installed model, the server's assignment once it names one, the bundle's metrics.
        let installed = try #require(jsonObject(try await probe.waitFor("\(base)/model/update")))
        #expect(installed["installed_version"] as? String == "monitored@1")
        #expect(installed["latest_version"] as? String == "monitored@1")
        #expect((installed["release_summary"] as? String)?.contains("accuracy 0.93") == true)
        runtime.modelStatus.update { $0.assigned = "monitored@2" }
        try await probe.waitFor("\(base)/model/update", "with the assigned version") {
            jsonObject($0)?["latest_version"] as? String == "monitored@2"
                && jsonObject($0)?["installed_version"] as? String == "monitored@1"
        }

        // Bad commands are ignored (the log line is checked in `HomeAssistantCommandTests`); the gateway handles its
        // messages in order, so once the valid press after them has its label they have been handled.
        let beforeBad = probe.messages.count
        try probe.publish(MQTTMessage(topic: "\(base)/override/set", text: "maybe"))
        try probe.publish(MQTTMessage(topic: "\(base)/correct", text: "OCCUPIED"))

        // "Room is empty": a correction label for the span since the last published change (at most 20 minutes).
        try probe.publish(MQTTMessage(topic: "\(base)/correct", text: "empty"))
        let labelMessage = try await probe.waitFor("\(base)/labels", after: beforeBad)
        #expect(probe.messages.dropFirst(beforeBad).filter { $0.topic == "\(base)/labels" }.count == 1)
        #expect(!probe.messages.dropFirst(beforeBad).contains { $0.topic == "\(base)/override" })
        #expect(runtime.homeAssistant?.override.mode == .auto)
        let label = try FleetJSON.decode(LabelDocument.self, from: labelMessage.payload)
        #expect(label.occupied == false && label.source == "correction")
        let from = try #require(label.from.seconds)
        let to = try #require(label.to.seconds)
        // The last change the gateway published before the press, as the probe saw it.
        var lastChange: Double?
        var previous: Bool??
        for m in probe.messages(on: "\(base)/occupancy") {
            guard let doc = try? FleetJSON.decode(DecisionDocument.self, from: m.payload),
                let at = Instant(iso8601: doc.at)?.seconds, at <= to
            else { continue }
            if previous == nil || previous! != doc.roomOccupancy { lastChange = at }
            previous = doc.roomOccupancy
        }
        let expectedFrom = max(try #require(lastChange), to - 1200)
        #expect(abs(from - expectedFrom) < 0.002, "label from \(from), expected \(expectedFrom)")
        #expect(to > from && to - from <= 1200.001)

        // The override: published decisions say so, the guard raises its alert (occupied > 10 min of a 30 min
        // override), and at expiry the select returns to auto and the model decides again.
        let beforeOverride = probe.messages.count
        try probe.publish(MQTTMessage(topic: "\(base)/override/set", text: "occupied"))
        try await probe.waitFor("\(base)/override", after: beforeOverride) { $0.text == "occupied" }
        let overridden = try await probe.waitFor("\(base)/occupancy", after: beforeOverride, "decided by the override")
        {
            jsonObject($0)?["decidedBy"] as? String == "override"
        }
        #expect(jsonObject(overridden)?["roomOccupancy"] as? Bool == true)
        let alerted = try await probe.waitFor("\(base)/occupancy", timeout: 30, after: beforeOverride, "with the alert")
        {
            (jsonObject($0)?["alert"] as? String)?.contains("homeAssistant.maxOccupied") == true
        }
        #expect(jsonObject(alerted)?["decidedBy"] as? String == "override")
        try await probe.waitFor("\(base)/occupancy/attributes", after: beforeOverride, "too long") {
            jsonObject($0)?["occupiedTooLong"] as? Bool == true && jsonObject($0)?["warning"] is String
        }
        let afterExpiry = try await waitUntil(timeout: 30, "the override expired") { () -> Int? in
            let all = probe.messages
            return all.indices.dropFirst(beforeOverride).first {
                all[$0].topic == "\(base)/override" && all[$0].text == "auto"
            }
        }
        try await probe.waitFor("\(base)/occupancy", after: afterExpiry, "the model again") {
            jsonObject($0)?["decidedBy"] as? String == "model:monitored@1"
        }
        // The override never became a label.
        #expect(probe.messages(on: "\(base)/labels").count == 1)

        // Home Assistant restarts: discovery of the controls again, live.
        let beforeRestart = probe.messages.count
        try probe.publish(MQTTMessage(topic: "homeassistant/status", text: "online"))
        let again = try await probe.waitFor("homeassistant/select/\(node)/override/config", after: beforeRestart)
        #expect(!again.retain)
        try await probe.waitFor("homeassistant/button/\(node)/correct_empty/config", after: beforeRestart)

        await group.triggerGracefulShutdown()
        try await running.value
    }
}

/// Commands as the broker delivers them, to controls with a recorded log.
@Suite struct HomeAssistantCommandTests {
    @Test func aCommandPayloadThatIsNotAllowedIsIgnoredWithOneLogLine() throws {
        let log = RecordedLog()
        let connection = RecordingConnection()
        connection.setConnected(true)
        let topics = GatewayTopics(prefix: "occupant", gatewayID: "cmd")
        let publisher = GatewayPublisher(
            connection: connection, topics: topics, discovery: nil, edukitThing: nil, queueLimit: 10,
            logger: log.logger)
        let clock = ManualClock(Instant(seconds: 1_800_000_000))
        let controls = HomeAssistantControls(
            settings: .init(), publisher: publisher, clock: clock, board: ModelStatusBoard(), logger: log.logger)
        clock.advance(60)
        for (topic, text) in [
            (topics.overrideCommand, "maybe"), (topics.overrideCommand, ""), (topics.correctionCommand, "OCCUPIED"),
            (topics.correctionCommand, String(repeating: "x", count: 100)),
        ] {
            controls.received(MQTTMessage(topic: topic, text: text))
        }
        #expect(connection.published.isEmpty)
        #expect(controls.override.mode == .auto)
        #expect(log.lines.map(\.level) == [.warning, .warning, .warning, .warning])
        #expect(
            log.lines.map(\.text) == [
                "ignoring 'maybe' on occupant/cmd/override/set: expected one of auto, occupied, empty",
                "ignoring '' on occupant/cmd/override/set: expected one of auto, occupied, empty",
                "ignoring 'OCCUPIED' on occupant/cmd/correct: expected one of occupied, empty",
                "ignoring '\(String(repeating: "x", count: 40))…' on occupant/cmd/correct: expected one of occupied, empty",
            ])
        #expect(log.lines.allSatisfy { !$0.text.contains("\n") })

        // The allowed ones act: a label marked as a correction, the override state retained.
        controls.received(MQTTMessage(topic: topics.correctionCommand, text: "occupied"))
        controls.received(MQTTMessage(topic: topics.overrideCommand, text: "empty"))
        let label = try #require(connection.published.first { $0.topic == topics.labels })
        let document = try FleetJSON.decode(LabelDocument.self, from: label.payload)
        #expect(document.occupied && document.source == "correction")
        #expect(document.from.seconds == 1_800_000_000 && document.to.seconds == 1_800_000_060)
        let state = try #require(connection.published.last { $0.topic == topics.overrideState })
        #expect(state.text == "empty" && state.retain)
        #expect(controls.override.mode == .empty)
    }
}
