import AsyncHTTPClient
import FleetProtocol
import Foundation
import Logging
import MQTT
import NIOCore
import OccupantCore
import ServiceLifecycle
import Synchronization

/// The server's broker side: telemetry, labels and monitor windows from every gateway through a shared subscription
/// (several server processes split the load), each gateway's retained `model/status`, and the model announcements and
/// alerts the registry sends. Announcements are kept and sent again on every (re)connect, so none is lost to an outage.
///
/// The session is persistent (`clean_session` false under the configured client id) and messages are taken from
/// the broker one at a time, the next only once the previous is stored: a burst waits in the broker instead of a
/// buffer here, and what is published while the server restarts is delivered when it is back (up to the broker's
/// `max_queued_messages`).
public final class ServerMQTT: Service, FleetAnnouncer, Sendable {
    public let client: MosquittoClient?
    let config: ServerConfig
    let store: any ServerStore
    let intake: Intake
    let logger: Logger
    let clock: any WallClock
    private let pending = Mutex<[String: MQTTMessage]>([:])
    private let registry = Mutex<ModelRegistry?>(nil)
    let refusals = Mutex(RefusalLog())
    /// Deliveries waiting for the broker's acknowledgement, by message id (`deliver`, ServerMQTT+Outbox).
    let acknowledgements = Mutex<[Int32: CheckedContinuation<Void, any Error>]>([:])
    /// Called on every (re)connect: the outbox sends at once what failed while the broker was away.
    let onConnect = Mutex<(@Sendable () -> Void)?>(nil)

    public init(config: ServerConfig, store: any ServerStore, logger: Logger, clock: any WallClock = SystemClock())
        throws
    {
        self.config = config
        self.clock = clock
        self.store = store
        self.logger = logger
        intake = Intake(maxFutureSkew: config.intake.maxFutureSkew)
        if let b = config.broker {
            client = try MosquittoClient(
                options: MQTTOptions(
                    host: b.host, port: b.port, clientID: b.clientID, keepalive: 30, username: b.username,
                    password: b.password,
                    tls: b.caFile.map { MQTTOptions.TLS(caFile: $0) }, will: nil, reconnectMin: 1, reconnectMax: 30,
                    cleanSession: false, holdUntilHandled: true))
        } else {
            client = nil
        }
    }

    func attach(_ registry: ModelRegistry) { self.registry.withLock { $0 = registry } }

    var topics: ServerTopics {
        ServerTopics(
            prefix: config.topicPrefix, shareGroup: config.broker?.shareGroup ?? ServerTopics.defaultShareGroup)
    }

    public func run() async throws {
        guard let client else {
            try? await gracefulShutdown()
            return
        }
        try client.start()
        await withGracefulShutdownHandler {
            // One message at a time: the network thread waits until it is stored (`messageHandled`), so the broker
            // holds the rest of a burst, and queues what arrives while this server is away (persistent session).
            for await event in client.events {
                await handle(event)
                if case .message = event { client.messageHandled() }
            }
        } onGracefulShutdown: {
            client.stop()
        }
        client.stop() // also when the task was cancelled: the network thread must not wait for a consumer that left
        let dropped = client.droppedMessages
        if dropped > 0 {
            logger.error(
                "MQTT: \(dropped) messages arrived after the intake stopped and were not stored",
                metadata: ["mqtt.dropped": "\(dropped)"])
        }
    }

    func handle(_ event: MQTTEvent) async {
        guard let client else { return }
        switch event {
        case .connected:
            logger.info("connected to MQTT broker", metadata: ["mqtt.broker": "\(client.options.endpoint)"])
            do {
                for filter in topics.subscriptions { try client.subscribe(filter, qos: 1) }
            } catch {
                logger.error("\(error)")
            }
            for message in pending.withLock({ Array($0.values) }) { _ = try? client.publish(message) }
            onConnect.withLock({ $0 })?()
        case .refused(let reason):
            logger.error("MQTT broker refused the connection: \(reason)")
        case .disconnected(let reason):
            logger.warning("MQTT \(reason); will reconnect")
        case .message(let message):
            await receive(message)
        case .delivered(let mid):
            acknowledged(mid)
        }
    }

    /// `<prefix>/<gateway>/<kind>`: stores what is valid; bad input is logged once per gateway and kind (in bounded
    /// memory, see `RefusalLog`), never stored.
    func receive(_ message: MQTTMessage) async {
        guard let (gateway, kind) = GatewayTopics.parse(message.topic, prefix: config.topicPrefix) else { return }
        guard config.gateway(gateway) != nil else {
            let shown = gateway.count > 64 ? "\(gateway.prefix(64))…" : gateway
            refuseOnce(gateway, kind, "unknown gateway '\(shown)' on a \(kind.rawValue) topic; ignored")
            return
        }
        let intake = Intake(config.intake)
        let now = clock.now().seconds
        do {
            switch kind {
            case .telemetry:
                let row = try intake.telemetry(json: message.payload, gateway: gateway, now: now)
                _ = try await store.insertTelemetry(gateway: gateway, batchID: nil, rows: [row])
            case .labels:
                let labels = try intake.labels(
                    json: message.payload, gateway: gateway, now: now, source: "mqtt",
                    known: { self.config.gateway($0) != nil })
                try await store.insertLabels(labels)
                await registry.withLock({ $0 })?.labelsArrived(labels)
            case .modelStatus:
                guard !message.payload.isEmpty else { return }
                let status = try FleetJSON.decode(ModelStatusDocument.self, from: message.payload)
                var report = GatewayStatus(
                    gateway: gateway, active: status.active, sha256: status.sha256, refused: status.refused?.summary,
                    at: now)
                report.spoolBacklog = status.spoolBacklog
                report.process = status.process
                // A rollback is checked and stored first: a bad `rolledBack` member refuses the whole report.
                if let r = status.rolledBack { try await recordRollback(r, gateway: gateway, now: now) }
                if let registry = registry.withLock({ $0 }) {
                    try await registry.gatewayReported(
                        report,
                        rolledBack: status.rolledBack.map { ($0.sha256.lowercased(), "\($0.guardName): \($0.reason)") })
                    try await registry.guardReported(gateway: gateway, alert: status.guardAlert)
                } else {
                    try await store.setGatewayStatus(report)
                }
            case .monitor:
                guard !message.payload.isEmpty else { return } // a cleared retained message
                let document = try intake.monitor(json: message.payload, gateway: gateway, now: now)
                try await store.insertMonitor(document)
                do {
                    try await registry.withLock({ $0 })?.checkMonitor(gateway: gateway)
                } catch {
                    logger.error("judging \(gateway)'s monitor windows for alerts: \(error)")
                }
            case .occupancy, .status, .modelAvailable:
                return
            }
            registry.withLock({ $0 })?.metrics.mqttMessage(kind: kind.rawValue, stored: true)
        } catch let error as IntakeError {
            registry.withLock({ $0 })?.metrics.mqttMessage(kind: kind.rawValue, stored: false)
            refuseOnce(gateway, kind, "\(message.topic): \(error.message); not stored")
        } catch {
            registry.withLock({ $0 })?.metrics.mqttMessage(kind: kind.rawValue, stored: false)
            refuseOnce(gateway, kind, "\(message.topic): \(Intake.describe(error)); not stored")
        }
    }

    private func refuseOnce(_ gateway: String, _ kind: GatewayTopicKind, _ text: String) {
        let action = refusals.withLock { $0.note("\(gateway.prefix(64)) \(kind.rawValue) \(text.prefix(60))") }
        switch action {
        case .log:
            logger.warning("\(text)")
        case .suppressed(let n):
            logger.warning(
                "\(n) MQTT refusals suppressed so far (each distinct one is logged once, up to 1024 distinct ones)")
        case .quiet:
            break
        }
    }

    // MARK: FleetAnnouncer

    public func modelAvailable(gateway: String, model: ModelRecord, url: String) async {
        await modelAvailable(gateway: gateway, model: model, url: url, shadow: nil)
    }

    public func modelAvailable(gateway: String, model: ModelRecord, url: String, shadow: ModelRecord?) async {
        let message = Self.announcement(topics: topics, gateway: gateway, model: model, url: url, shadow: shadow)
        pending.withLock { $0[message.topic] = message }
        guard let client, client.isConnected else { return }
        do {
            try client.publish(message)
        } catch {
            logger.warning(
                "announcing \(model.modelID)@\(model.version) to \(gateway): \(error); sent again on reconnect")
        }
    }

    public func alert(_ alert: AlertDocument) async {
        let body = (try? FleetJSON.text(alert)) ?? alert.message
        if let client, client.isConnected {
            _ = try? client.publish(MQTTMessage(topic: topics.alerts, text: body, qos: 1))
        }
        guard let webhook = config.alerts.webhook else { return }
        var request = HTTPClientRequest(url: webhook)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            if response.status.code >= 300 {
                logger.warning("alert webhook \(webhook) answered \(response.status.code)")
            }
        } catch {
            logger.warning("alert webhook \(webhook): \(error)")
        }
    }
}
