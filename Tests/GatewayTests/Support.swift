import Foundation
import MQTT
import OccupantCore
import OccupantTesting

func packageRootPath(_ relative: String) -> String {
    packageRoot().appendingPathComponent(relative).path
}

/// A recording stand-in for the broker connection.
final class RecordingConnection: MQTTConnection {
    let state = Locked<(connected: Bool, published: [MQTTMessage], subscriptions: [String])>((false, [], []))

    var isConnected: Bool { state.withLock { $0.connected } }

    func setConnected(_ value: Bool) { state.withLock { $0.connected = value } }

    var published: [MQTTMessage] { state.withLock { $0.published } }

    func clear() { state.withLock { $0.published.removeAll() } }

    @discardableResult
    func publish(_ message: MQTTMessage) throws(OccupantError) -> Int32 {
        let id: Int32? = state.withLock { s in
            guard s.connected else { return nil }
            s.published.append(message)
            return Int32(s.published.count)
        }
        guard let id else { throw OccupantError(.mqtt, "not connected") }
        return id
    }

    func subscribe(_ topic: String, qos: Int32) throws(OccupantError) {
        state.withLock { $0.subscriptions.append(topic) }
    }
}

func json(_ text: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
}
