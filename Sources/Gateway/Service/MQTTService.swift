import Logging
import MQTT
import OccupantCore
import ServiceLifecycle
import Synchronization

/// A part of the gateway that listens on the broker: told of every CONNACK (to subscribe) and every message.
public protocol MQTTListener: Sendable {
    func connected()
    func received(_ message: MQTTMessage)
}

/// Owns the broker connection: starts it, reacts to its events (announce on connect, re-announce when Home
/// Assistant comes back), reports an unreachable broker once per outage, and on shutdown publishes `offline` and
/// waits (briefly) for the broker to acknowledge it before disconnecting.
public final class MQTTService: Service, Sendable {
    public let client: MosquittoClient
    public let publisher: GatewayPublisher
    public let connectTimeout: Double
    private let listeners: [any MQTTListener]
    private let logger: Logger
    private let progress = Mutex(Progress())

    struct Progress {
        var everConnected = false
        var outageReported = false
        var offlineID: Int32?
        var stopping = false
    }

    public init(
        client: MosquittoClient, publisher: GatewayPublisher, connectTimeout: Double,
        listeners: [any MQTTListener] = [],
        logger: Logger
    ) {
        self.listeners = listeners
        self.client = client
        self.publisher = publisher
        self.connectTimeout = connectTimeout
        self.logger = logger
        // Only the `offline` status's acknowledgement is awaited (at shutdown): no event per PUBACK until then.
        client.reportDeliveries(false)
    }

    public func run() async throws {
        try client.start()
        let endpoint = client.options.endpoint
        let timeout = connectTimeout
        let watchdog = Task { [weak self] in
            // libmosquitto retries silently when the broker is unreachable: say so once per outage.
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(timeout))
                guard let self else { return }
                self.reportIfUnreachable(endpoint: endpoint)
            }
        }
        defer { watchdog.cancel() }
        await withGracefulShutdownHandler {
            for await event in client.events {
                handle(event)
            }
        } onGracefulShutdown: {
            self.shutDown()
        }
    }

    private func reportIfUnreachable(endpoint: String) {
        let report = progress.withLock { p -> Bool in
            guard !client.isConnected, !p.outageReported, !p.stopping else { return false }
            p.outageReported = true
            return true
        }
        if report {
            let queued = publisher.queueStatus.count
            logger.warning(
                "MQTT broker at \(endpoint) unreachable; still deciding, retrying with backoff",
                metadata: ["mqtt.queued": "\(queued)"])
        }
    }

    func handle(_ event: MQTTEvent) {
        switch event {
        case .connected:
            let first = progress.withLock { p -> Bool in
                defer {
                    p.everConnected = true
                    p.outageReported = false
                }
                return !p.everConnected
            }
            logger.info(
                first ? "connected to MQTT broker" : "reconnected to MQTT broker",
                metadata: ["mqtt.broker": "\(client.options.endpoint)"])
            publisher.connected()
            for listener in listeners { listener.connected() }
        case .refused(let reason):
            logger.error(
                "MQTT broker refused the connection: \(reason)", metadata: ["mqtt.broker": "\(client.options.endpoint)"]
            )
        case .disconnected(let reason):
            let stopping = progress.withLock { $0.stopping }
            if !stopping { logger.warning("MQTT \(reason); still deciding, will reconnect") }
        case .message(let message):
            if message.topic == publisher.topics.homeAssistantStatus, message.text == "online" {
                logger.info("Home Assistant is online: sending discovery and state again")
                publisher.homeAssistantOnline()
            }
            for listener in listeners { listener.received(message) }
        case .delivered(let id):
            let done = progress.withLock { $0.stopping && $0.offlineID == id }
            if done { client.stop() }
        }
    }

    private func shutDown() {
        // Under the lock, so the acknowledgement's event cannot be handled before the id is recorded.
        client.reportDeliveries(true)
        let id = progress.withLock { p -> Int32? in
            p.stopping = true
            p.offlineID = publisher.goOffline()
            return p.offlineID
        }
        guard id != nil else {
            client.stop()
            return
        }
        // Don't wait for the broker's acknowledgement forever.
        let client = self.client
        Task {
            try? await Task.sleep(for: .seconds(2))
            client.stop()
        }
    }
}
