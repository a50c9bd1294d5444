import OccupantCore
import Testing

@testable import Gateway

/// The decision written straight into bytes (every published cycle) is the documented payload, byte for byte.
@Suite struct DecisionPayloadTests {
    static let decisions: [(Decision, String?)] = {
        let at = Instant(iso8601: "2026-01-05T08:30:00.125Z")!
        return [
            (
                Decision(
                    roomOccupancy: true, probability: 0.93, decidedBy: "rule:sound>10",
                    inputs: .one("sound", .number(42)),
                    health: ["sound": .ok, "hvac": .degraded, "temperature": .failed], stale: nil, at: at), nil
            ),
            (
                Decision(
                    roomOccupancy: false, probability: 0.123456789012345678, decidedBy: "model:office@3",
                    inputs: .features(
                        names: ["sound_mean_5m", "hvac_heating", "tod_cos", "a\"quote", "b\\slash\n\u{1}"],
                        values: [41.5, 1, -0.7071067811865476, .nan, 1e20]),
                    health: ChannelHealthList([
                        Reading(channel: "temperature", value: nil, health: .ok),
                        Reading(channel: "sound", value: nil, health: .degraded),
                    ]), stale: nil, at: at + 0.0004), "occupied without a break since … (12h 04m) — “long”"
            ),
            (
                Decision(
                    roomOccupancy: nil, probability: nil, decidedBy: "override", inputs: ["hvac": .category("heating")],
                    health: ["sound": .failed], stale: "sound: no valid reading for 12s\t(0x48)",
                    at: Instant(seconds: -1.5)), nil
            ),
            (
                Decision(
                    roomOccupancy: true, probability: .infinity, decidedBy: "", inputs: .none, health: [:], stale: nil,
                    at: Instant(seconds: 0)), ""
            ),
            (
                Decision(
                    roomOccupancy: true, probability: -0.0, decidedBy: "x",
                    inputs: ["b": .number(-12_345_678_901_234), "a": .number(999_999_999_999_999), "c": .number(.nan)],
                    health: [:], stale: nil, at: Instant(seconds: 253_402_300_800)), nil
            ),
        ]
    }()

    @Test(arguments: 0..<decisions.count)
    func theBytesAreTheSerialisedDocument(index: Int) {
        let (decision, alert) = Self.decisions[index]
        var bytes: [UInt8] = Array("prefix".utf8)
        Payloads.writeDecision(decision, alert: alert, into: &bytes)
        #expect(
            String(decoding: bytes.dropFirst(6), as: UTF8.self) == Payloads.decision(decision, alert: alert).serialized)
    }

    @Test func integersAreWrittenLikeJSON() {
        for value: Int64 in [0, 7, -7, 10, 99, 100, 123_456_789, -999_999_999_999_999, .max, .min + 1] {
            var bytes: [UInt8] = []
            JSONBytes.write(integer: value, into: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == String(value))
        }
    }
}
