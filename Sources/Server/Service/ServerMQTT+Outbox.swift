import FleetProtocol
import Foundation
import MQTT
import OccupantCore
import Synchronization

extension ServerMQTT {
    /// A model announcement for `gateway` (retained, QoS 1) on its `model/available` topic.
    static func announcement(
        topics: ServerTopics, gateway: String, model: ModelRecord, url: String, shadow: ModelRecord?
    ) -> MQTTMessage {
        let announcement = ModelAnnouncement(
            modelID: model.modelID, version: model.version, sha256: model.sha256, size: model.size, url: url,
            shadow: shadow.map { .init(model: "\($0.modelID)@\($0.version)", sha256: $0.sha256) })
        guard let payload = try? FleetJSON.text(announcement) else {
            preconditionFailure("an announcement always encodes")
        }
        return MQTTMessage(topic: topics.modelAvailable(gateway: gateway), text: payload, qos: 1, retain: true)
    }

    /// Publishes `message` (QoS 1) and returns once the broker acknowledged it; throws when not connected, or without
    /// an acknowledgement within `timeout` seconds (the outbox then tries again: delivery is at least once).
    func deliver(_ message: MQTTMessage, timeout: Double) async throws {
        guard let client else { throw OccupantError(.mqtt, "no broker configured") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.publishAcknowledged(client, message) }
            group.addTask {
                try await Task.sleep(for: .seconds(timeout))
                throw OccupantError(
                    .mqtt, "no acknowledgement from \(client.options.endpoint) within \(Int(timeout)) s")
            }
            defer { group.cancelAll() }
            _ = try await group.next()
        }
    }

    private func publishAcknowledged(_ client: MosquittoClient, _ message: MQTTMessage) async throws {
        let wait = AcknowledgementWait()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                self.acknowledgements.withLock { waiters in
                    guard !wait.cancelled else { return c.resume(throwing: CancellationError()) }
                    do {
                        let mid = try client.publish(message)
                        waiters[mid] = c
                        wait.mid = mid
                    } catch {
                        c.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            self.acknowledgements.withLock { waiters in
                wait.cancelled = true
                if let mid = wait.mid { waiters.removeValue(forKey: mid)?.resume(throwing: CancellationError()) }
            }
        }
    }

    /// The broker acknowledged message `mid` (`MQTTEvent.delivered`).
    func acknowledged(_ mid: Int32) {
        acknowledgements.withLock { $0.removeValue(forKey: mid) }?.resume()
    }
}

/// One delivery's message id and whether it was cancelled: read and written only under `acknowledgements`' lock,
/// hence `@unchecked Sendable`.
final class AcknowledgementWait: @unchecked Sendable {
    var mid: Int32?
    var cancelled = false
}
