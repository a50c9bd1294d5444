import OccupantCore

/// The documents a gateway publishes. The per-cycle ones (`DecisionDocument`, `TelemetryDocument`) are written by
/// hand without Foundation; tests check that they decode as those documents.
public enum Payloads {
    /// `occupant/<id>/occupancy`, a `DecisionDocument`:
    /// `{"roomOccupancy":true,"probability":0.93,"decidedBy":"rule:sound>10","inputs":{…},"health":{…},"at":"…"}`.
    /// When the inputs are stale `roomOccupancy` and `probability` are null and `stale` says why; `alert` is the
    /// "occupied too long" warning while it stands.
    public static func decision(_ d: Decision, alert: String? = nil) -> JSON {
        .object([
            "roomOccupancy": d.roomOccupancy.map { JSON.bool($0) } ?? .null,
            "probability": .finite(d.probability),
            "decidedBy": .string(d.decidedBy),
            "inputs": .object(d.inputs.sorted { $0.key < $1.key }.map { JSON.Member($0.key, $0.value.json) }),
            "health": .object(
                d.health.sorted { $0.key < $1.key }.map { JSON.Member($0.key, .string($0.value.rawValue)) }),
            "stale": d.stale.map { JSON.string($0) },
            "alert": alert.map { JSON.string($0) },
            "at": .string(d.at.iso8601),
        ])
    }

    /// `occupant/<id>/telemetry`, a `TelemetryDocument`: every channel's latest value (null when unavailable) and health.
    public static func telemetry(_ sample: Sample) -> JSON {
        var readings: [JSON.Member] = []
        var health: [JSON.Member] = []
        var problems: [JSON.Member] = []
        for r in sample.readings {
            readings.append(JSON.Member(r.channel, r.value?.json ?? .null))
            health.append(JSON.Member(r.channel, .string(r.health.rawValue)))
            if let reason = r.unavailable { problems.append(JSON.Member(r.channel, .string(reason))) }
        }
        return .object([
            "at": .string(sample.at.iso8601),
            "readings": .object(readings),
            "health": .object(health),
            "unavailable": problems.isEmpty ? nil : .object(problems),
        ])
    }

    /// `occupant/<id>/model/status`: which model runs and the last refusal.
    public static func modelStatus(_ status: ModelStatus, at: Instant) -> ModelStatusDocument {
        var document = ModelStatusDocument(
            active: status.active?.name, sha256: status.active?.sha256,
            refused: status.refused.map { .init(version: $0.version, sha256: $0.sha256, reason: $0.reason) },
            rolledBack: status.rolledBack.map {
                .init(version: $0.version, sha256: $0.sha256, guardName: $0.guardName, reason: $0.reason, at: $0.at)
            },
            guardAlert: status.guardAlert.map {
                .init(version: $0.version, sha256: $0.sha256, guardName: $0.guardName, reason: $0.reason, at: $0.at)
            },
            at: at.iso8601)
        document.shadow = status.shadow?.name
        document.shadowSha256 = status.shadow?.sha256
        return document
    }

    /// `occupant/<id>/labels`, a `LabelDocument`: `{"from":"…","to":"…","occupied":true}`.
    public static func label(from: Instant, to: Instant, occupied: Bool) -> JSON {
        .object(["from": .string(from.iso8601), "to": .string(to.iso8601), "occupied": .bool(occupied)])
    }

    /// The EduKit Smart Thermostat's shadow update, in that firmware's units: temperature °F − 50, sound 0–255,
    /// hvacStatus HEATING | COOLING | STANDBY.
    public static func edukitShadow(_ d: Decision, sample: Sample) -> JSON? {
        guard let occupied = d.roomOccupancy else { return nil }
        var reported: [JSON.Member] = []
        if let t = sample.value("temperature")?.number {
            reported.append(JSON.Member("temperature", .number(((t * 1.8 + 32 - 50) * 100).rounded() / 100)))
        }
        if let s = sample.value("sound")?.number {
            reported.append(JSON.Member("sound", .number(min(255, max(0, s.rounded())))))
        }
        reported.append(JSON.Member("roomOccupancy", .bool(occupied)))
        if let hvac = sample.value("hvac")?.category {
            let status: String
            switch HVACMode(rawValue: hvac) {
            case .heating: status = "HEATING"
            case .cooling: status = "COOLING"
            default: status = "STANDBY"
            }
            reported.append(JSON.Member("hvacStatus", .string(status)))
        }
        return .object([.init("state", .object([.init("reported", .object(reported))]))])
    }
}
