import FleetProtocol
import Foundation
import Logging
import OccupantCore

/// The registry's announcer in a server: announcements and alerts go into the store's outbox, and `OutboxDrainer`
/// delivers them (once, retried until delivered) through the MQTT broker and the alert webhook.
struct OutboxAnnouncer: FleetAnnouncer {
    let outbox: any Outbox
    let topics: ServerTopics
    let broker: Bool
    let webhook: String?
    let logger: Logger
    /// Wakes this process's drainer.
    let wake: @Sendable () -> Void

    func modelAvailable(gateway: String, model: ModelRecord, url: String) async {
        await modelAvailable(gateway: gateway, model: model, url: url, shadow: nil)
    }

    func modelAvailable(gateway: String, model: ModelRecord, url: String, shadow: ModelRecord?) async {
        guard broker else { return }
        let message = ServerMQTT.announcement(topics: topics, gateway: gateway, model: model, url: url, shadow: shadow)
        await add(.mqtt, message.topic, String(decoding: message.payload, as: UTF8.self), retain: true)
    }

    func alert(_ alert: AlertDocument) async {
        let body = (try? FleetJSON.text(alert)) ?? alert.message
        if broker { await add(.mqtt, topics.alerts, body, retain: false) }
        if let webhook { await add(.webhook, webhook, body, retain: false) }
    }

    private func add(_ channel: OutboxEntry.Channel, _ target: String, _ payload: String, retain: Bool) async {
        do {
            try await outbox.add(channel: channel, target: target, payload: payload, retain: retain)
            wake()
        } catch {
            logger.error(
                "outbox: cannot keep the message for \(target): \(error); not sent (gateways still learn of models at their next poll)"
            )
        }
    }
}
