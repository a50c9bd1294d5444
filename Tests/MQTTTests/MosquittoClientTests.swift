import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import MQTT

/// Against a real mosquitto started on a free loopback port.
@Suite(.serialized) struct MosquittoClientTests {
    @Test func publishesRetainedAndReceives() async throws {
        let broker = try await MosquittoBroker()
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["test/#"])
        let client = try MosquittoClient(options: MQTTOptions(port: broker.port, clientID: "publisher"))
        let task = Task { for await _ in client.events {} }
        defer {
            task.cancel()
            client.stop()
        }
        try client.start()
        _ = try await waitUntil(timeout: 10, "connected") { client.isConnected ? true : nil }
        try client.publish(MQTTMessage(topic: "test/state", text: "hello", retain: true))
        let got = try await probe.waitFor("test/state")
        #expect(got.text == "hello")

        // A new subscriber gets the retained message.
        let late = try await MQTTProbe(port: broker.port, subscriptions: ["test/state"])
        let retained = try await late.waitFor("test/state")
        #expect(retained.retain)
        #expect(retained.text == "hello")
    }

    @Test func refusesToPublishWhileDisconnected() async throws {
        let port = try freeLoopbackPort()
        let client = try MosquittoClient(options: MQTTOptions(port: port, clientID: "nobody"))
        defer { client.stop() }
        try client.start()
        #expect(!client.isConnected)
        #expect(throws: OccupantError.self) { try client.publish(MQTTMessage(topic: "t", text: "x")) }
    }

    @Test func connectsOnceTheBrokerAppearsAndAfterItRestarts() async throws {
        let port = try freeLoopbackPort()
        let client = try MosquittoClient(
            options: MQTTOptions(port: port, clientID: "patient", reconnectMin: 1, reconnectMax: 2))
        let events = Locked<[MQTTEvent]>([])
        let task = Task { for await e in client.events { events.withLock { $0.append(e) } } }
        defer {
            task.cancel()
            client.stop()
        }
        try client.start()
        try await Task.sleep(for: .microseconds(1_500_000))
        #expect(!client.isConnected) // no broker yet: libmosquitto retries silently

        let broker = try await MosquittoBroker(port: port)
        _ = try await waitUntil(timeout: 15, "first connection") { client.isConnected ? true : nil }
        broker.stop()
        _ = try await waitUntil(timeout: 15, "disconnect noticed") { client.isConnected ? nil : true }
        try await broker.start()
        _ = try await waitUntil(timeout: 15, "reconnection") { client.isConnected ? true : nil }
        // The flag flips on libmosquitto's thread; the events reach the collector task a moment later.
        let connects = try? await waitUntil(timeout: 5, "two connected events") {
            let n = events.withLock { $0.filter { $0 == .connected }.count }
            return n >= 2 ? n : nil
        }
        #expect(connects == 2)
        #expect(events.withLock { $0.contains { if case .disconnected = $0 { true } else { false } } })
    }

    @Test func willIsPublishedWhenTheClientVanishes() async throws {
        let broker = try await MosquittoBroker()
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["gw/status"])
        // A child process would be killed with SIGKILL in the gateway tests; here the broker drops the
        // client when its keepalive lapses is too slow, so simulate a vanished client by an abrupt stop.
        let options = MQTTOptions(
            port: broker.port, clientID: "mortal", keepalive: 5,
            will: MQTTMessage(topic: "gw/status", text: "offline", retain: true))
        let client = try MosquittoClient(options: options)
        try client.start()
        _ = try await waitUntil(timeout: 10, "connected") { client.isConnected ? true : nil }
        try client.publish(MQTTMessage(topic: "gw/status", text: "online", retain: true))
        try await probe.waitFor("gw/status", where: { $0.text == "online" })
        // A clean disconnect must NOT trigger the will.
        client.stop()
        try await Task.sleep(for: .microseconds(500_000))
        #expect(!probe.messages(on: "gw/status").contains { $0.text == "offline" })
    }
}
