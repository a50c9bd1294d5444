import OccupantCore

extension ServerConfig {
    /// `retrain.rooms`: a gateway (a room) with at least `labels` label spans falling on at least `days` different
    /// UTC days gets a model of its own, trained on its stream alone, when that model beats the scope's (fleet) model
    /// on the room's latest held-out rows; otherwise the room keeps the fleet model.
    public struct Rooms: Sendable, Equatable {
        public var enabled = true
        public var labels = 50
        public var days = 7

        public init(enabled: Bool = true, labels: Int = 50, days: Int = 7) {
            self.enabled = enabled
            self.labels = labels
            self.days = days
        }
    }

    static let roomKeys = ["enabled", "labels", "days"]

    mutating func apply(rooms: FieldMap) {
        if let v = rooms.optional("enabled")?.bool() { self.retrain.rooms.enabled = v }
        if let v = rooms.optional("labels")?.int(in: 1...1_000_000) { self.retrain.rooms.labels = v }
        if let v = rooms.optional("days")?.int(in: 2...3650) { self.retrain.rooms.days = v }
    }
}
