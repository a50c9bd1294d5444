import FleetProtocol
import OccupantCore

/// Where the registry says things to the fleet: model announcements (MQTT push) and alerts (MQTT and webhook).
public protocol FleetAnnouncer: Sendable {
    func modelAvailable(gateway: String, model: ModelRecord, url: String) async
    /// An alert raised (`state: open`) or cleared (`state: cleared`).
    func alert(_ alert: AlertDocument) async
}
