import Foundation
import Logging
import MQTT
import OccupantCore
import OccupantTesting
import Server
import Testing

/// The correction loop end to end: a simulated gateway process, a real mosquitto, the server's MQTT intake and its
/// SQLite store. Pressing Home Assistant's "Room is empty" stores a label marked as a correction for the span since
/// the gateway's last published change.
@Suite(.serialized) struct HomeAssistantCorrectionTests {
    @Test func pressingRoomIsEmptyStoresACorrectionLabelOnTheServer() async throws {
        let broker = try await MosquittoBroker()
        let dir = try temporaryDirectory("correction")
        let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path)
        let mqtt = try ServerMQTT(
            config: try MQTTIntakeDeliveryTests.config(port: broker.port, clientID: "server-correction"), store: store,
            logger: Logger(label: "correction") { _ in SwiftLogNoOpLogHandler() })
        let server = Task { try await mqtt.run() }
        defer {
            mqtt.client?.stop()
            server.cancel()
        }
        try await waitUntil(timeout: 20, "the server's subscriptions") {
            broker.log.contains(" occupant/+/model/status") ? true : nil
        }
        let probe = try await MQTTProbe(
            port: broker.port,
            subscriptions: ["occupant/gw-a/#", "homeassistant/button/occupant_gw-a/+/config"])
        let gateway = try ChildProcess([
            "gateway", "run", "--simulate", "--speed", "60", "--broker", broker.endpoint, "--gateway-id", "gw-a",
        ])
        defer { gateway.signal(SIGKILL) }

        let button = try await probe.waitFor("homeassistant/button/occupant_gw-a/correct_empty/config", timeout: 30)
        #expect(jsonObject(button)?["name"] as? String == "Room is empty")
        let topic = try #require(jsonObject(button)?["command_topic"] as? String)
        let payload = try #require(jsonObject(button)?["payload_press"] as? String)
        // Published right after the gateway subscribed to its commands.
        try await probe.waitFor("occupant/gw-a/override", timeout: 30) { $0.text == "auto" }
        try await probe.waitFor("occupant/gw-a/occupancy", timeout: 30)

        // A payload Home Assistant would never send: one log line, nothing else (handled in order, before the press).
        try probe.publish(MQTTMessage(topic: "occupant/gw-a/override/set", text: "maybe"))
        try probe.publish(MQTTMessage(topic: topic, text: payload))
        let published = try FleetJSON.decode(
            LabelDocument.self, from: try await probe.waitFor("occupant/gw-a/labels", timeout: 30).payload)
        #expect(published.occupied == false && published.source == "correction")
        let from = try #require(published.from.seconds)
        let to = try #require(published.to.seconds)
        // Since the last published change, at most the default 30-minute window.
        #expect(to > from && to - from <= 1800.001)
        let stored = try await waitUntil(timeout: 30, "the label stored") { () async throws -> [LabelRange]? in
            let labels = try await store.labels(gateways: ["gw-a"])
            return labels.isEmpty ? nil : labels
        }
        #expect(
            stored == [LabelRange(gateway: "gw-a", from: from, to: to, occupied: false, source: "mqtt:correction")])
        let refusals = gateway.stderr.split(separator: "\n").filter { $0.contains("ignoring 'maybe'") }
        #expect(refusals.count == 1, "\(gateway.stderr)")
        #expect(refusals.first?.contains("expected one of auto, occupied, empty") == true)
        #expect(!probe.messages(on: "occupant/gw-a/override").contains { $0.text != "auto" })
    }

    @Test func aLabelSourceThatIsNotAShortNameIsRefusedWithOneLine() throws {
        let intake = Intake(maxFutureSkew: 300)
        let now = 1_800_000_000.0
        let good = #"{"from":1799999000,"to":1799999600,"occupied":true,"source":"correction"}"#
        let labels = try intake.labels(
            json: Array(good.utf8), gateway: "gw-a", now: now, source: "mqtt", known: { _ in true })
        #expect(labels.map { $0.source } == ["mqtt:correction"])
        let bad = #"{"from":1799999000,"to":1799999600,"occupied":true,"source":"a b"}"#
        #expect {
            try intake.labels(json: Array(bad.utf8), gateway: "gw-a", now: now, source: "mqtt", known: { _ in true })
        } throws: { error in
            "\(error)".contains("'source' must be 1–32 letters, digits, _ or -")
        }
    }
}
