import Foundation
import Logging
import MQTT
import OccupantCore
import Testing

@testable import Gateway

@Suite struct PayloadTests {
    let at = Instant(iso8601: "2026-01-05T08:30:00Z")!

    @Test func decisionPayloadHasTheDocumentedShape() async throws {
        let d = Decision(
            roomOccupancy: true, probability: 0.93, decidedBy: "rule:sound>10",
            inputs: ["sound": .number(42)], health: ["sound": .ok, "hvac": .degraded], stale: nil, at: at)
        let text = Payloads.decision(d).serialized
        #expect(
            text
                == #"{"roomOccupancy":true,"probability":0.93,"decidedBy":"rule:sound>10","inputs":{"sound":42},"health":{"hvac":"degraded","sound":"ok"},"at":"2026-01-05T08:30:00.000Z"}"#
        )
    }

    @Test func staleDecisionHasNullOccupancyAndAReason() async throws {
        let d = Decision(
            roomOccupancy: nil, probability: nil, decidedBy: "rule:sound>10", inputs: [:], health: ["sound": .failed],
            stale: "sound: no acknowledge", at: at)
        let object = try #require(json(Payloads.decision(d).serialized))
        #expect(object["roomOccupancy"] is NSNull)
        #expect(object["stale"] as? String == "sound: no acknowledge")
    }

    @Test func edukitShadowUsesTheFirmwareUnits() async throws {
        let d = Decision(
            roomOccupancy: false, probability: 0, decidedBy: "rule:sound>10", inputs: [:], health: [:], stale: nil,
            at: at)
        let sample = Sample(
            at: at,
            readings: [
                Reading(channel: "temperature", value: .number(21)), Reading(channel: "sound", value: .number(7.4)),
                Reading(channel: "hvac", value: .category("heating")),
            ])
        let shadow = try #require(Payloads.edukitShadow(d, sample: sample))
        // 21 °C → 21 × 1.8 + 32 − 50 = 19.8 (the firmware's offset Fahrenheit).
        #expect(
            shadow.serialized
                == #"{"state":{"reported":{"temperature":19.8,"sound":7,"roomOccupancy":false,"hvacStatus":"HEATING"}}}"#
        )
    }

    @Test func homeAssistantDiscoveryIsCompleteAndRetainable() async throws {
        let topics = GatewayTopics(prefix: "occupant", gatewayID: "lobby-1", discoveryPrefix: "homeassistant")
        let discovery = HomeAssistantDiscovery(
            topics: topics, model: "Occupant TM-200", swVersion: "0.1.0",
            numericChannels: [("temperature", "°C"), ("sound", "level")])
        let messages = discovery.messages
        #expect(
            messages.map(\.topic) == [
                "homeassistant/binary_sensor/occupant_lobby-1/occupancy/config",
                "homeassistant/sensor/occupant_lobby-1/probability/config",
                "homeassistant/button/occupant_lobby-1/correct_occupied/config",
                "homeassistant/button/occupant_lobby-1/correct_empty/config",
                "homeassistant/select/occupant_lobby-1/override/config",
                "homeassistant/update/occupant_lobby-1/model/config",
                "homeassistant/sensor/occupant_lobby-1/estimated_accuracy/config",
                "homeassistant/sensor/occupant_lobby-1/drift/config",
                "homeassistant/binary_sensor/occupant_lobby-1/occupied_too_long/config",
                "homeassistant/sensor/occupant_lobby-1/temperature/config",
                "homeassistant/sensor/occupant_lobby-1/sound/config",
            ])
        let occupancy = try #require(json(messages[0].payload.serialized))
        #expect(occupancy["device_class"] as? String == "occupancy")
        #expect(occupancy["unique_id"] as? String == "occupant_lobby-1_occupancy")
        #expect(occupancy["state_topic"] as? String == "occupant/lobby-1/occupancy")
        #expect(occupancy["availability_topic"] as? String == "occupant/lobby-1/status")
        #expect(occupancy["json_attributes_topic"] as? String == "occupant/lobby-1/occupancy/attributes")
        #expect(occupancy["payload_not_available"] as? String == "offline")
        let device = try #require(occupancy["device"] as? [String: Any])
        #expect(device["identifiers"] as? [String] == ["occupant_lobby-1"])
        let temperature = try #require(json(messages[9].payload.serialized))
        // Every entity of the device has a unique id and the gateway's availability.
        let ids = try messages.map { try #require(json($0.payload.serialized)?["unique_id"] as? String) }
        #expect(Set(ids).count == messages.count)
        #expect(
            messages.allSatisfy {
                (json($0.payload.serialized)?["origin"] as? [String: Any])?["name"] as? String == "Occupant"
            })
        #expect(
            messages.allSatisfy {
                json($0.payload.serialized)?["availability_topic"] as? String == "occupant/lobby-1/status"
            })
        #expect(temperature["device_class"] as? String == "temperature")
        #expect(temperature["unit_of_measurement"] as? String == "°C")
    }
}

@Suite struct PublisherTests {
    func makePublisher(limit: Int = 5) -> (GatewayPublisher, RecordingConnection) {
        let connection = RecordingConnection()
        let topics = GatewayTopics(prefix: "occupant", gatewayID: "g", discoveryPrefix: "homeassistant")
        let discovery = HomeAssistantDiscovery(topics: topics, model: "m", swVersion: "0", numericChannels: [])
        return (
            GatewayPublisher(
                connection: connection, topics: topics, discovery: discovery, edukitThing: nil, queueLimit: limit,
                logger: Logger(label: "t")), connection
        )
    }

    func makeDecision(_ occupied: Bool, _ t: Double) -> Decision {
        Decision(
            roomOccupancy: occupied, probability: occupied ? 1 : 0, decidedBy: "rule:sound>10", inputs: [:],
            health: [:], stale: nil, at: Instant(seconds: t))
    }

    @Test func queuesWhileDisconnectedWithinItsBoundAndFlushesOnConnect() async throws {
        let (publisher, connection) = makePublisher(limit: 5)
        let sample = Sample(at: Instant(seconds: 0), readings: [])
        publisher.publish(decision: makeDecision(true, 1), sample: sample)
        for _ in 0..<20 { publisher.publish(telemetry: sample) }
        publisher.publish(decision: makeDecision(false, 2), sample: sample)
        let status = publisher.queueStatus
        #expect(status.count == 5)
        #expect(status.droppedTelemetry == 17)
        #expect(status.droppedState == 0)
        #expect(connection.published.isEmpty)

        connection.setConnected(true)
        publisher.connected()
        let topics = connection.published.map(\.topic)
        // Status first, then discovery, then the queue in order, and the current state last.
        #expect(topics.first == "occupant/g/status")
        #expect(connection.published.first?.text == "online")
        #expect(topics.contains("homeassistant/binary_sensor/occupant_g/occupancy/config"))
        let occupancy = connection.published.filter { $0.topic == "occupant/g/occupancy" }
        #expect(occupancy.count == 3) // both queued changes, then the current state again
        #expect(json(occupancy.last!.text)?["roomOccupancy"] as? Bool == false)
        #expect(publisher.queueStatus.count == 0)
    }

    @Test func homeAssistantOnlineResendsDiscoveryAndState() async {
        let (publisher, connection) = makePublisher()
        connection.setConnected(true)
        publisher.publish(decision: makeDecision(true, 1), sample: Sample(at: Instant(seconds: 1), readings: []))
        connection.clear()
        publisher.homeAssistantOnline()
        let topics = connection.published.map(\.topic)
        #expect(topics.contains("homeassistant/binary_sensor/occupant_g/occupancy/config"))
        #expect(topics.last == "occupant/g/occupancy")
        #expect(connection.published.allSatisfy { $0.retain })
    }

    @Test func goesOfflineWithARetainedMessage() async {
        let (publisher, connection) = makePublisher()
        connection.setConnected(true)
        #expect(publisher.goOffline() != nil)
        #expect(
            connection.published.last == MQTTMessage(topic: "occupant/g/status", text: "offline", qos: 1, retain: true))
    }
}
