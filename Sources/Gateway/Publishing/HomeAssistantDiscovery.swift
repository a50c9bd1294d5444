import OccupantCore

/// Home Assistant MQTT discovery documents for one gateway: an occupancy `binary_sensor`, the probability, the
/// controls (correction buttons, override select, model update) and diagnostics, and `sensor`s for the numeric
/// channels.
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

    /// Who made the discovery documents (Home Assistant logs it with each entity).
    private var origin: JSON {
        .object(["name": "Occupant", "sw_version": .string(swVersion)])
    }

    private var uniquePrefix: String { topics.discoveryNode }

    /// The Home Assistant controls and diagnostics: correction buttons, override select, model update, estimated
    /// accuracy, drift and the "occupied too long" problem sensor.
    private var controls: [(topic: String, payload: JSON)] {
        func entity(_ component: String, _ object: String, _ members: [JSON.Member]) -> (String, JSON) {
            let common: [JSON.Member] = [
                .init("unique_id", .string("\(uniquePrefix)_\(object)")),
                .init("availability_topic", .string(topics.status)),
                .init("device", device), .init("origin", origin),
            ]
            return (topics.discovery(component: component, object: object), .object(members + common))
        }
        var out: [(String, JSON)] = []
        for (object, name, payload) in [
            ("correct_occupied", "Room is occupied", "occupied"), ("correct_empty", "Room is empty", "empty"),
        ] {
            out.append(
                entity(
                    "button", object,
                    [
                        .init("name", .string(name)), .init("command_topic", .string(topics.correctionCommand)),
                        .init("payload_press", .string(payload)), .init("icon", "mdi:account-check"),
                    ]))
        }
        out.append(
            entity(
                "select", "override",
                [
                    .init("name", "Occupancy override"), .init("command_topic", .string(topics.overrideCommand)),
                    .init("state_topic", .string(topics.overrideState)),
                    .init("options", .array(Override.Mode.allCases.map { .string($0.rawValue) })),
                    .init("icon", "mdi:account-lock"),
                ]))
        out.append(
            entity(
                "update", "model",
                [
                    .init("name", "Occupancy model"), .init("state_topic", .string(topics.modelUpdate)),
                    .init("entity_category", "diagnostic"),
                ]))
        out.append(
            entity(
                "sensor", "estimated_accuracy",
                [
                    .init("name", "Estimated accuracy"), .init("state_topic", .string(topics.occupancyAttributes)),
                    .init("value_template", "{{ value_json.estimatedAccuracy }}"),
                    .init("state_class", "measurement"), .init("entity_category", "diagnostic"),
                ]))
        out.append(
            entity(
                "sensor", "drift",
                [
                    .init("name", "Input drift"), .init("state_topic", .string(topics.occupancyAttributes)),
                    .init("value_template", "{{ value_json.drift }}"),
                    .init("json_attributes_topic", .string(topics.occupancyAttributes)),
                    .init("json_attributes_template", "{{ {'driftedFeatures': value_json.driftedFeatures} | tojson }}"),
                    .init("entity_category", "diagnostic"),
                ]))
        out.append(
            entity(
                "binary_sensor", "occupied_too_long",
                [
                    .init("name", "Occupied too long"), .init("device_class", "problem"),
                    .init("state_topic", .string(topics.occupancyAttributes)),
                    .init("value_template", "{{ 'ON' if value_json.occupiedTooLong else 'OFF' }}"),
                    .init("payload_on", "ON"), .init("payload_off", "OFF"),
                    .init("entity_category", "diagnostic"),
                ]))
        return out
    }

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
                    "json_attributes_topic": .string(topics.occupancyAttributes),
                    "device": device,
                    "origin": origin,
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
                    "entity_category": "diagnostic",
                    "availability_topic": .string(topics.status),
                    "device": device,
                    "origin": origin,
                ])
            ))
        out += controls
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
            members.append(.init("origin", origin))
            out.append((topics.discovery(component: "sensor", object: channel.name), .object(members)))
        }
        return out
    }
}
