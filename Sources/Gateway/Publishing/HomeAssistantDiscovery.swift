import OccupantCore

/// Home Assistant MQTT discovery documents for one gateway: an occupancy `binary_sensor` plus `sensor`s for the
/// numeric channels and the probability.
public struct HomeAssistantDiscovery: Sendable {
    public let topics: GatewayTopics
    public let deviceName: String
    public let model: String
    public let swVersion: String
    /// Numeric channels with their units (`temperature` → °C).
    public let numericChannels: [(name: String, units: String?)]

    public init(
        topics: GatewayTopics, model: String, swVersion: String, numericChannels: [(name: String, units: String?)]
    ) {
        self.topics = topics
        self.deviceName = "Occupant \(topics.gatewayID)"
        self.model = model
        self.swVersion = swVersion
        self.numericChannels = numericChannels
    }

    private var device: JSON {
        .object([
            "identifiers": .array([.string(topics.discoveryNode)]),
            "name": .string(deviceName),
            "manufacturer": "Occupant",
            "model": .string(model),
            "sw_version": .string(swVersion),
        ])
    }

    private var uniquePrefix: String { topics.discoveryNode }

    /// Every discovery message, retained.
    public var messages: [(topic: String, payload: JSON)] {
        var out: [(String, JSON)] = []
        out.append(
            (
                topics.discovery(component: "binary_sensor", object: "occupancy"),
                .object([
                    "name": "Occupancy",
                    "unique_id": .string("\(uniquePrefix)_occupancy"),
                    "device_class": "occupancy",
                    "state_topic": .string(topics.occupancy),
                    // Stale decisions carry roomOccupancy: null, which Home Assistant shows as unknown.
                    "value_template":
                        "{% if value_json.roomOccupancy is none %}None{% elif value_json.roomOccupancy %}ON{% else %}OFF{% endif %}",
                    "payload_on": "ON",
                    "payload_off": "OFF",
                    "availability_topic": .string(topics.status),
                    "payload_available": "online",
                    "payload_not_available": "offline",
                    "json_attributes_topic": .string(topics.occupancy),
                    "device": device,
                ])
            ))
        out.append(
            (
                topics.discovery(component: "sensor", object: "probability"),
                .object([
                    "name": "Occupancy probability",
                    "unique_id": .string("\(uniquePrefix)_probability"),
                    "state_topic": .string(topics.occupancy),
                    "value_template": "{{ value_json.probability }}",
                    "state_class": "measurement",
                    "availability_topic": .string(topics.status),
                    "device": device,
                ])
            ))
        for channel in numericChannels {
            var members: [JSON.Member] = [
                .init("name", .string(channel.name.prefix(1).uppercased() + channel.name.dropFirst())),
                .init("unique_id", .string("\(uniquePrefix)_\(channel.name)")),
                .init("state_topic", .string(topics.telemetry)),
                .init("value_template", .string("{{ value_json.readings.\(channel.name) }}")),
                .init("state_class", "measurement"),
                .init("availability_topic", .string(topics.status)),
            ]
            if channel.name == "temperature" { members.append(.init("device_class", "temperature")) }
            if channel.name == "humidity" { members.append(.init("device_class", "humidity")) }
            if let units = channel.units, units != "level" {
                members.append(.init("unit_of_measurement", .string(units == "%RH" ? "%" : units)))
            }
            members.append(.init("device", device))
            out.append((topics.discovery(component: "sensor", object: channel.name), .object(members)))
        }
        return out
    }
}
