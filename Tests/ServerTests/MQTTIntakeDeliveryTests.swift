import Foundation
import Logging
import MQTT
import OccupantCore
import OccupantTesting
import Server
import Testing

/// Nothing the broker delivered at QoS 1 is lost: a burst far beyond any in-memory buffer is stored in full, and what
/// is published while the server is away is stored once it is back (its session is persistent).
@Suite(.serialized) struct MQTTIntakeDeliveryTests {
    static func config(port: Int, clientID: String) throws -> ServerConfig {
        try ServerConfig.parse(
            yaml: """
                broker: { host: 127.0.0.1, port: \(port), clientId: \(clientID) }
                gateways:
                  - { id: gw-a, scope: office, token: token-a }
                """)
    }

    /// A gateway-side publisher: QoS 1 telemetry with distinct instants; counts the broker's PUBACKs.
    final class Publisher: Sendable {
        let client: MosquittoClient
        let acknowledged = Locked(0)
        let connected = Locked(false)
        private let task: Task<Void, Never>

        init(port: Int) async throws {
            let client = try MosquittoClient(
                options: MQTTOptions(port: port, clientID: "burst-\(UUID().uuidString.prefix(6))"))
            self.client = client
            let (acknowledged, connected) = (self.acknowledged, self.connected)
            task = Task {
                for await event in client.events {
                    switch event {
                    case .connected: connected.withLock { $0 = true }
                    case .delivered: acknowledged.withLock { $0 += 1 }
                    default: break
                    }
                }
            }
            try client.start()
            try await waitUntil(timeout: 10, "the publisher connected") { connected.withLock { $0 } ? true : nil }
        }

        /// Publishes `count` readings stamped `start`, `start` + 1 ms, …; returns once the broker acknowledged all.
        func burst(_ count: Int, start: Double) async throws {
            let before = acknowledged.withLock { $0 }
            for i in 0..<count {
                let at = start + Double(i) / 1000
                try client.publish(
                    MQTTMessage(topic: "occupant/gw-a/telemetry", text: #"{"at":\#(at),"readings":{"sound":\#(i)}}"#))
            }
            try await waitUntil(timeout: 120, "the broker acknowledged \(count) messages") {
                acknowledged.withLock { $0 } - before >= count ? true : nil
            }
        }

        deinit {
            client.stop()
            task.cancel()
        }
    }

    func runServer(_ mqtt: ServerMQTT, broker: MosquittoBroker, subscriptions: Int) async throws -> Task<
        Void, any Error
    > {
        let task = Task { try await mqtt.run() }
        try await waitUntil(timeout: 20, "the server's subscriptions") {
            broker.log.components(separatedBy: " occupant/+/model/status").count - 1 >= subscriptions ? true : nil
        }
        return task
    }

    @Test func aTwentyThousandMessageBurstIsStoredInFull() async throws {
        // The broker must hold what the server has not taken yet (its default is 1,000 per client).
        let broker = try await MosquittoBroker(maxQueuedMessages: 100_000)
        let dir = try temporaryDirectory("burst")
        let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path)
        let mqtt = try ServerMQTT(
            config: try Self.config(port: broker.port, clientID: "server-burst"), store: store,
            logger: Logger(label: "burst"))
        let server = try await runServer(mqtt, broker: broker, subscriptions: 1)
        let publisher = try await Publisher(port: broker.port)
        let start = Date().timeIntervalSince1970 - 3_600
        try await publisher.burst(20_000, start: start)
        try await waitUntil(timeout: 600, "20,000 rows stored") {
            try await store.telemetryCount() >= 20_000 ? true : nil
        }
        #expect(try await store.telemetryCount() == 20_000)
        #expect(mqtt.client?.droppedMessages == 0)
        mqtt.client?.stop()
        _ = try? await server.value
    }

    @Test func messagesPublishedWhileTheServerIsAwayAreStoredWhenItReturns() async throws {
        let broker = try await MosquittoBroker(maxQueuedMessages: 100_000)
        let dir = try temporaryDirectory("away")
        let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path)
        let config = try Self.config(port: broker.port, clientID: "server-away")
        let first = try ServerMQTT(config: config, store: store, logger: Logger(label: "first"))
        let firstTask = try await runServer(first, broker: broker, subscriptions: 1)
        let publisher = try await Publisher(port: broker.port)
        let start = Date().timeIntervalSince1970 - 3_600
        try await publisher.burst(100, start: start)
        try await waitUntil(timeout: 60, "the first 100 rows stored") {
            try await store.telemetryCount() >= 100 ? true : nil
        }
        // The server stops (a restart); the gateway goes on publishing and the broker acknowledges it all.
        first.client?.stop()
        _ = try? await firstTask.value
        try await publisher.burst(2_000, start: start + 100)
        #expect(try await store.telemetryCount() == 100)
        // Back under the same client id: the broker delivers what it queued for the session.
        let second = try ServerMQTT(config: config, store: store, logger: Logger(label: "second"))
        let secondTask = try await runServer(second, broker: broker, subscriptions: 2)
        try await waitUntil(timeout: 120, "the 2,000 rows published while away stored") {
            try await store.telemetryCount() >= 2_100 ? true : nil
        }
        #expect(try await store.telemetryCount() == 2_100)
        second.client?.stop()
        _ = try? await secondTask.value
    }

    /// The real process, killed outright: what gateways publish while it is down waits in the broker for its session.
    @Test func aKilledServerProcessStoresWhatWasPublishedWhileItWasDown() async throws {
        let h = try await ServerHarness(name: "mqtt-kill")
        try await h.start()
        try await waitUntil(timeout: 20, "the server's subscriptions") {
            h.broker.log.contains(" occupant/+/model/status") ? true : nil
        }
        let publisher = try await Publisher(port: h.broker.port)
        let start = Date().timeIntervalSince1970 - 3_600
        try await publisher.burst(100, start: start)
        try await waitUntil(timeout: 60, "the first 100 rows stored") {
            try await h.stats()["telemetryRows"] == 100 ? true : nil
        }
        h.process?.signal(SIGKILL)
        _ = try await h.process?.wait(timeout: 10)
        try await publisher.burst(1_000, start: start + 100)
        try await h.start()
        let stored = try await waitUntil(timeout: 120, "the 1,000 rows published while down stored") {
            let rows = try await h.stats()["telemetryRows"] ?? 0
            return rows >= 1_100 ? rows : nil
        }
        #expect(stored == 1_100)
    }

    /// With `persistence true` (as `broker-config` writes) the queue survives the broker's own restart too (here a
    /// kill after an autosave).
    @Test func theQueueSurvivesABrokerRestartWithPersistence() async throws {
        let broker = try await MosquittoBroker(maxQueuedMessages: 100_000, persistence: true)
        let dir = try temporaryDirectory("broker-restart")
        let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path)
        let config = try Self.config(port: broker.port, clientID: "server-broker-restart")
        let first = try ServerMQTT(config: config, store: store, logger: Logger(label: "first"))
        let firstTask = try await runServer(first, broker: broker, subscriptions: 1)
        first.client?.stop()
        _ = try? await firstTask.value
        let publisher = try await Publisher(port: broker.port)
        try await publisher.burst(500, start: Date().timeIntervalSince1970 - 3_600)
        // Two saves after the broker acknowledged everything: the first of them is complete on disk. Then the
        // broker is killed and comes back on the same port and folder.
        let saves = broker.saves
        try await waitUntil(timeout: 20, "two database saves") { broker.saves >= saves + 2 ? true : nil }
        broker.stop()
        try await broker.start()
        let second = try ServerMQTT(config: config, store: store, logger: Logger(label: "second"))
        let secondTask = try await runServer(second, broker: broker, subscriptions: 2)
        try await waitUntil(timeout: 60, "the 500 rows queued across the broker restart stored") {
            try await store.telemetryCount() >= 500 ? true : nil
        }
        #expect(try await store.telemetryCount() == 500)
        second.client?.stop()
        _ = try? await secondTask.value
    }
}
