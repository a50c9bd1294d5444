import OccupantCore
import OccupantTesting
import Synchronization
import Testing

@testable import MQTT

/// PUBACKs become `.delivered` events only while asked for (a gateway publishing every cycle turns them off: each one
/// woke the consumer of `events` for nothing). Against a real mosquitto.
@Suite(.serialized) struct DeliveryReportTests {
    @Test func acknowledgementsAreReportedOnlyWhileAskedFor() async throws {
        let broker = try await MosquittoBroker()
        let client = try MosquittoClient(options: MQTTOptions(port: broker.port, clientID: "reports"))
        let delivered = Mutex<[Int32]>([])
        let echoes = Mutex(0)
        let task = Task {
            for await event in client.events {
                switch event {
                case .delivered(let id): delivered.withLock { $0.append(id) }
                case .message(let m) where m.topic == "reports/echo": echoes.withLock { $0 += 1 }
                default: break
                }
            }
        }
        defer {
            task.cancel()
            client.stop()
        }
        client.reportDeliveries(false)
        try client.start()
        _ = try await waitUntil(timeout: 10, "connected") { client.isConnected ? true : nil }
        try client.subscribe("reports/echo", qos: 0)

        // Ten QoS 1 messages the broker acknowledges, then a QoS 0 message to ourselves: once it is back, the ten
        // PUBACKs before it on the connection have been handled — and none was reported.
        for i in 0..<10 { try client.publish(MQTTMessage(topic: "reports/quiet", text: "\(i)", qos: 1)) }
        try await waitUntil(timeout: 10, "our own message back") {
            if echoes.withLock({ $0 }) > 0 { return true }
            try? client.publish(MQTTMessage(topic: "reports/echo", text: "ping", qos: 0))
            return nil
        }
        #expect(delivered.withLock { $0 }.isEmpty)

        // Asked for: the next acknowledgement is reported.
        client.reportDeliveries(true)
        let marker = try client.publish(MQTTMessage(topic: "reports/marker", text: "last", qos: 1))
        try await waitUntil(timeout: 10, "the marker's acknowledgement") {
            delivered.withLock { $0.contains(marker) } ? true : nil
        }
        #expect(delivered.withLock { $0 } == [marker])
    }
}
