/// One MQTT application message.
public struct MQTTMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int32
    public var retain: Bool

    public init(topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = false) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }

    public init(topic: String, text: String, qos: Int32 = 1, retain: Bool = false) {
        self.init(topic: topic, payload: Array(text.utf8), qos: qos, retain: retain)
    }

    public var text: String { String(decoding: payload, as: UTF8.self) }
}

/// How to reach and authenticate to the broker.
public struct MQTTOptions: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var clientID: String
    public var keepalive: Int
    public var username: String?
    public var password: String?
    public var tls: TLS?
    /// Sent by the broker if this client vanishes without a clean disconnect.
    public var will: MQTTMessage?
    /// Reconnect backoff: starts at `reconnectMin`, doubles up to `reconnectMax` seconds.
    public var reconnectMin: Int
    public var reconnectMax: Int
    /// false: a persistent session — the broker keeps this client id's subscriptions and queues its QoS 1 messages
    /// while it is away (the server's shared subscription), delivering them on the next connect.
    public var cleanSession: Bool
    /// true: after each received message libmosquitto's network thread waits until the consumer of `events` has
    /// called `MosquittoClient.messageHandled()` for it, so the broker holds everything after it (backpressure
    /// instead of a buffer that drops).
    public var holdUntilHandled: Bool

    public struct TLS: Sendable, Equatable {
        public var caFile: String
        public var certFile: String?
        public var keyFile: String?
        /// Skip host-name verification (test rigs with self-signed certificates only).
        public var insecure: Bool

        public init(caFile: String, certFile: String? = nil, keyFile: String? = nil, insecure: Bool = false) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.insecure = insecure
        }
    }

    public init(
        host: String = "127.0.0.1", port: Int = 1883, clientID: String, keepalive: Int = 30, username: String? = nil,
        password: String? = nil, tls: TLS? = nil, will: MQTTMessage? = nil, reconnectMin: Int = 1,
        reconnectMax: Int = 30, cleanSession: Bool = true, holdUntilHandled: Bool = false
    ) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.keepalive = keepalive
        self.username = username
        self.password = password
        self.tls = tls
        self.will = will
        self.reconnectMin = reconnectMin
        self.reconnectMax = reconnectMax
        self.cleanSession = cleanSession
        self.holdUntilHandled = holdUntilHandled
    }

    public var endpoint: String { "\(host):\(port)" }
}

/// What the client reports from libmosquitto's network thread.
public enum MQTTEvent: Sendable, Equatable {
    case connected
    /// The broker answered CONNACK with a refusal (bad credentials, not authorised): the reason in words.
    case refused(String)
    case disconnected(String)
    case message(MQTTMessage)
    /// A QoS 1 publish was acknowledged (PUBACK) — its message id.
    case delivered(Int32)
}
