import Foundation
import Logging
import MQTT
import OccupantCore
import OccupantTesting

@testable import Server

/// The server's MQTT intake on a real broker, for one configured gateway (`gw-a` in scope `office`) and a SQLite
/// store: subscribed and ready, with a connection that publishes as the gateway. `stop()` ends it.
struct MQTTIntakeRig {
    let broker: MosquittoBroker
    /// The store's file (to open it again, as after a restart).
    let path: String
    let store: SQLiteStore
    let mqtt: ServerMQTT
    let task: Task<Void, any Error>
    let gateway: MQTTProbe

    init(_ name: String) async throws {
        let dir = try temporaryDirectory(name)
        broker = try await MosquittoBroker()
        let config = try ServerConfig.parse(
            yaml: """
                broker: { host: 127.0.0.1, port: \(broker.port), clientId: server-\(name) }
                gateways:
                  - { id: gw-a, scope: office, token: token-a }
                """)
        path = dir.appendingPathComponent("server.sqlite").path
        store = try SQLiteStore(path: path)
        var logger = Logger(label: "server-mqtt")
        logger.logLevel = .critical
        let mqtt = try ServerMQTT(config: config, store: store, logger: logger)
        self.mqtt = mqtt
        task = Task { try await mqtt.run() }
        let broker = broker
        try await waitUntil(timeout: 20, "the server's subscriptions") {
            broker.log.contains("occupant/+/model/status") ? true : nil
        }
        gateway = try await MQTTProbe(port: broker.port, subscriptions: [])
    }

    /// Publishes `text` as gw-a's retained `model/status`.
    func publishStatus(_ text: String) throws {
        try gateway.publish(MQTTMessage(topic: "occupant/gw-a/model/status", text: text, retain: true))
    }

    func stop() async {
        mqtt.client?.stop()
        _ = try? await task.value
        broker.stop()
    }
}
