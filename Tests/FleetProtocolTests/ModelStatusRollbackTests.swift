import FleetProtocol
import Testing

/// `rolledBack` and `guardAlert` on `model/status` are additive: written only when present (a status without them is
/// byte for byte what it was), `guard` on the wire, and read back as written.
struct ModelStatusRollbackTests {
    @Test func rolledBackIsWrittenOnlyWhenPresentAndRoundTrips() throws {
        let plain = ModelStatusDocument(active: "good@1", sha256: nil, refused: nil, at: "2026-01-05T00:00:00.000Z")
        #expect(
            try FleetJSON.text(plain)
                == #"{"active":"good@1","at":"2026-01-05T00:00:00.000Z","refused":null,"sha256":null}"#)
        let record = ModelStatusDocument.RolledBack(
            version: 2, sha256: String(repeating: "a", count: 64), guardName: "stuck",
            reason: "probability 0.5 unchanged for 1203 s", at: "2026-01-05T00:20:03.000Z")
        let document = ModelStatusDocument(
            active: "good@1", sha256: nil, refused: nil, rolledBack: record, guardAlert: record,
            at: "2026-01-05T00:20:04.000Z")
        let text = try FleetJSON.text(document)
        #expect(text.contains(#""rolledBack":{"at":"2026-01-05T00:20:03.000Z","guard":"stuck","#))
        #expect(text.contains(#""guardAlert":{"#))
        #expect(try FleetJSON.decode(ModelStatusDocument.self, from: Array(text.utf8)) == document)
        #expect(record.summary == "v2 stuck: probability 0.5 unchanged for 1203 s")
    }
}
