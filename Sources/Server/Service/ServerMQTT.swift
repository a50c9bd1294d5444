import AsyncHTTPClient
import Foundation
import Logging
import MQTT
import NIOCore
import OccupantCore
import ServiceLifecycle
import Synchronization

/// The server's broker side: telemetry and labels from every gateway through a shared subscription (several
/// server processes split the load), each gateway's retained `model/status`, and the model announcements and alerts
/// the registry sends. Announcements are kept and sent again on every (re)connect, so none is lost to an outage.
public final class ServerMQTT: Service, FleetAnnouncer, Sendable {
    public let client: MosquittoClient?
    let config: ServerConfig
    let store: any ServerStore
    let intake: Intake
    let logger: Logger
    private let pending = Mutex<[String: MQTTMessage]>([:])
    private let registry = Mutex<ModelRegistry?>(nil)
    private let refusals = Mutex<Set<String>>([])

    public init(config: ServerConfig, store: any ServerStore, logger: Logger) throws {
        self.config = config
        self.store = store
        self.logger = logger
        intake = Intake(maxFutureSkew: config.intake.maxFutureSkew)
        if let b = config.broker {
            client = try MosquittoClient(options: MQTTOptions(
                host: b.host, port: b.port, clientID: b.clientID, keepalive: 30, username: b.username, password: b.password,
                tls: b.caFile.map { MQTTOptions.TLS(caFile: $0) }, will: nil, reconnectMin: 1, reconnectMax: 30))
        } else {
            client = nil
        }
    }

    func attach(_ registry: ModelRegistry) { self.registry.withLock { $0 = registry } }

    var prefix: String { config.topicPrefix }

    public func run() async throws {
        guard let client else {
            try? await gracefulShutdown()
            return
        }
        try client.start()
        await withGracefulShutdownHandler {
            for await event in client.events {
                await handle(event)
            }
        } onGracefulShutdown: {
            client.stop()
        }
    }

    func handle(_ event: MQTTEvent) async {
        guard let client else { return }
        switch event {
        case .connected:
            logger.info("connected to MQTT broker", metadata: ["mqtt.broker": "\(client.options.endpoint)"])
            let group = config.broker?.shareGroup ?? "occupant-server"
            do {
                try client.subscribe("$share/\(group)/\(prefix)/+/telemetry", qos: 1)
                try client.subscribe("$share/\(group)/\(prefix)/+/labels", qos: 1)
                try client.subscribe("\(prefix)/+/model/status", qos: 1)
            } catch {
                logger.error("\(error)")
            }
            for message in pending.withLock({ Array($0.values) }) { _ = try? client.publish(message) }
        case .refused(let reason):
            logger.error("MQTT broker refused the connection: \(reason)")
        case .disconnected(let reason):
            logger.warning("MQTT \(reason); will reconnect")
        case .message(let message):
            await receive(message)
        case .delivered:
            break
        }
    }

    /// `<prefix>/<gateway>/<kind>`: stores what is valid; bad input is logged once per gateway and kind, never stored.
    func receive(_ message: MQTTMessage) async {
        let levels = message.topic.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard levels.count >= 3, levels[0] == prefix else { return }
        let gateway = levels[1], kind = levels[2...].joined(separator: "/")
        guard config.gateway(gateway) != nil else {
            refuseOnce(gateway, kind, "unknown gateway '\(gateway)' on \(message.topic); ignored")
            return
        }
        let now = Date().timeIntervalSince1970
        do {
            switch kind {
            case "telemetry":
                let row = try intake.telemetry(json: message.payload, gateway: gateway, now: now)
                _ = try await store.insertTelemetry(gateway: gateway, batchID: nil, rows: [row])
            case "labels":
                let labels = try intake.labels(
                    json: message.payload, gateway: gateway, now: now, source: "mqtt", known: { self.config.gateway($0) != nil })
                try await store.insertLabels(labels)
            case "model/status":
                guard !message.payload.isEmpty else { return }
                let status = try JSONDecoder().decode(StatusDocument.self, from: Data(message.payload))
                let refused = status.refused.map { r in [r.version.map { "v\($0)" }, r.reason].compactMap { $0 }.joined(separator: " ") }
                let report = GatewayStatus(gateway: gateway, active: status.active, sha256: status.sha256, refused: refused, at: now)
                if let registry = registry.withLock({ $0 }) {
                    try await registry.gatewayReported(report)
                } else {
                    try await store.setGatewayStatus(report)
                }
            default:
                return
            }
        } catch let error as IntakeError {
            refuseOnce(gateway, kind, "\(message.topic): \(error.message); not stored")
        } catch {
            refuseOnce(gateway, kind, "\(message.topic): \(Intake.describe(error)); not stored")
        }
    }

    private func refuseOnce(_ gateway: String, _ kind: String, _ text: String) {
        let first = refusals.withLock { $0.insert("\(gateway) \(kind) \(text.prefix(60))").inserted }
        if first { logger.warning("\(text)") }
    }

    // MARK: FleetAnnouncer

    public func modelAvailable(gateway: String, model: ModelRecord, url: String) async {
        let payload = JSON.object([
            "modelID": .string(model.modelID), "version": .number(Double(model.version)), "sha256": .string(model.sha256),
            "size": .number(Double(model.size)), "url": .string(url),
        ])
        let message = MQTTMessage(topic: "\(prefix)/\(gateway)/model/available", text: payload.serialized, qos: 1, retain: true)
        pending.withLock { $0[message.topic] = message }
        guard let client, client.isConnected else { return }
        do {
            try client.publish(message)
        } catch {
            logger.warning("announcing \(model.modelID)@\(model.version) to \(gateway): \(error); sent again on reconnect")
        }
    }

    public func alert(_ alert: QualityAlert) async {
        let body = (try? serverJSONEncoder().encode(alert)).map { String(decoding: $0, as: UTF8.self) } ?? alert.message
        if let client, client.isConnected {
            _ = try? client.publish(MQTTMessage(topic: "\(prefix)/alerts", text: body, qos: 1))
        }
        guard let webhook = config.alerts.webhook else { return }
        var request = HTTPClientRequest(url: webhook)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            if response.status.code >= 300 { logger.warning("alert webhook \(webhook) answered \(response.status.code)") }
        } catch {
            logger.warning("alert webhook \(webhook): \(error)")
        }
    }
}

/// A gateway's `model/status` document.
struct StatusDocument: Decodable {
    struct Refusal: Decodable {
        var version: Int?
        var sha256: String?
        var reason: String?
    }

    var active: String?
    var sha256: String?
    var refused: Refusal?
}
