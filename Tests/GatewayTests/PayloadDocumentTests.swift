import FleetProtocol
import OccupantCore
import Testing

@testable import Gateway

/// The gateway's hand-written per-cycle payloads are the contract's documents.
@Suite struct PayloadDocumentTests {
    let at = Instant(iso8601: "2026-01-05T08:30:00Z")!

    @Test func decisionsDecodeAsDecisionDocuments() throws {
        let d = Decision(
            roomOccupancy: true, probability: 0.93, decidedBy: "rule:sound>10",
            inputs: ["sound": .number(42), "hvac": .category("heating")], health: ["sound": .ok, "hvac": .degraded],
            stale: nil, at: at)
        let document = try FleetJSON.decode(DecisionDocument.self, from: Payloads.decision(d).serialized.utf8)
        #expect(
            document
                == DecisionDocument(
                    roomOccupancy: true, probability: 0.93, decidedBy: "rule:sound>10",
                    inputs: ["sound": JSONReading(.number(42)), "hvac": JSONReading(.category("heating"))],
                    health: ["sound": "ok", "hvac": "degraded"], stale: nil, at: "2026-01-05T08:30:00.000Z"))
        let stale = Decision(
            roomOccupancy: nil, probability: nil, decidedBy: "rule:sound>10", inputs: [:], health: ["sound": .failed],
            stale: "sound: no acknowledge", at: at)
        let staleDocument = try FleetJSON.decode(DecisionDocument.self, from: Payloads.decision(stale).serialized.utf8)
        #expect(
            staleDocument.roomOccupancy == nil && staleDocument.probability == nil
                && staleDocument.stale == "sound: no acknowledge")
    }

    @Test func telemetryDecodesAsTelemetryDocuments() throws {
        let sample = Sample(
            at: at,
            readings: [
                Reading(channel: "sound", value: .number(7.5)), Reading(channel: "hvac", value: .category("heating")),
            ])
        let document = try FleetJSON.decode(TelemetryDocument.self, from: Payloads.telemetry(sample).serialized.utf8)
        #expect(document.at.seconds == at.seconds)
        #expect(document.readings.channelValues == ["sound": .number(7.5), "hvac": .category("heating")])
        #expect(document.health?.count == 2)
    }

    @Test func labelsAndModelStatusAreTheirDocuments() throws {
        let label = try FleetJSON.decode(
            LabelDocument.self, from: Payloads.label(from: at, to: at + 60, occupied: true).serialized.utf8)
        #expect(label == LabelDocument(from: TimeValue(at), to: TimeValue(at + 60), occupied: true))
        let status = ModelStatus(
            active: .init(modelID: "m", version: 3, sha256: "aa"),
            refused: .init(version: 4, sha256: "bb", reason: "badSignature: x"))
        let document = Payloads.modelStatus(status, at: at)
        #expect(
            document
                == ModelStatusDocument(
                    active: "m@3", sha256: "aa", refused: .init(version: 4, sha256: "bb", reason: "badSignature: x"),
                    at: "2026-01-05T08:30:00.000Z"))
        #expect(
            try FleetJSON.text(Payloads.modelStatus(ModelStatus(), at: at))
                == #"{"active":null,"at":"2026-01-05T08:30:00.000Z","refused":null,"sha256":null}"#)
    }
}
