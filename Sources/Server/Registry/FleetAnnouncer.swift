import FleetProtocol
import OccupantCore

/// Where the registry says things to the fleet: model announcements (MQTT push) and alerts (MQTT and webhook).
public protocol FleetAnnouncer: Sendable {
    func modelAvailable(gateway: String, model: ModelRecord, url: String) async
    /// The same announcement naming the bundle `gateway` should score in shadow (nil: none).
    func modelAvailable(gateway: String, model: ModelRecord, url: String, shadow: ModelRecord?) async
    /// An alert raised (`state: open`) or cleared (`state: cleared`).
    func alert(_ alert: AlertDocument) async
}

extension FleetAnnouncer {
    /// Announcers that know nothing of shadows announce the model alone (the gateway then asks `…/shadow`).
    public func modelAvailable(gateway: String, model: ModelRecord, url: String, shadow: ModelRecord?) async {
        await modelAvailable(gateway: gateway, model: model, url: url)
    }
}
