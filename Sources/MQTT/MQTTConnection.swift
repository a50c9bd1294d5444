import OccupantCore

/// The publishing seam: what the gateway needs from an MQTT client. `MosquittoClient` is the real one; tests may
/// use a recording fake.
public protocol MQTTConnection: Sendable {
    var isConnected: Bool { get }
    /// Hands a message to the client; returns its message id. Throws when not connected or refused.
    @discardableResult
    func publish(_ message: MQTTMessage) throws(OccupantError) -> Int32
    func subscribe(_ topic: String, qos: Int32) throws(OccupantError)
}

extension MosquittoClient: MQTTConnection {}
