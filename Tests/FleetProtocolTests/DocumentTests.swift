import FleetProtocol
import OccupantCore
import Testing

@Suite struct DocumentTests {
    func roundTrip<D: Codable & Equatable>(_ document: D) throws -> String {
        let text = try FleetJSON.text(document)
        #expect(try FleetJSON.decode(D.self, from: text.utf8) == document, "\(text)")
        return text
    }

    @Test func readingsAreNumbersStringsOrNull() throws {
        let readings = try FleetJSON.decode(
            [String: JSONReading].self, from: #"{"sound":12.5,"hvac":"heating","co2":null}"#.utf8)
        #expect(readings.channelValues == ["sound": .number(12.5), "hvac": .category("heating"), "co2": nil])
        #expect(throws: (any Error).self) {
            try FleetJSON.decode([String: JSONReading].self, from: #"{"a":true}"#.utf8)
        }
        #expect(throws: (any Error).self) { try FleetJSON.decode([String: JSONReading].self, from: #"{"a":[1]}"#.utf8) }
        #expect(try FleetJSON.text(["x": JSONReading(.number(.nan))]) == #"{"x":null}"#)
        #expect(JSONReading(.number(3)).description == "3" && JSONReading(.number(2.5)).description == "2.5")
    }

    @Test func timesReadISOOrSecondsAndWriteISO() throws {
        let label = try FleetJSON.decode(
            LabelDocument.self, from: #"{"from":1767571200,"to":"2026-01-05T01:00:00Z","occupied":true}"#.utf8)
        #expect(label.from.seconds == 1_767_571_200 && label.to.seconds == 1_767_574_800 && label.gateway == nil)
        #expect(
            try FleetJSON.text(label)
                == #"{"from":"2026-01-05T00:00:00.000Z","occupied":true,"to":"2026-01-05T01:00:00.000Z"}"#)
        #expect(try FleetJSON.decode(TimeValue.self, from: #""yesterday""#.utf8).seconds == nil)
    }

    @Test func modelStatusWritesNullsAndSummarisesARefusal() throws {
        let idle = ModelStatusDocument(active: nil, sha256: nil, refused: nil, at: "2026-01-05T00:00:00.000Z")
        #expect(try roundTrip(idle) == #"{"active":null,"at":"2026-01-05T00:00:00.000Z","refused":null,"sha256":null}"#)
        let refused = ModelStatusDocument(
            active: "m@1", sha256: "aa", refused: .init(version: 2, sha256: "bb", reason: "badSignature: no"), at: nil)
        _ = try roundTrip(refused)
        #expect(refused.refused?.summary == "v2 badSignature: no")
    }

    @Test func announcementsKeepSlashesUnescaped() throws {
        let a = ModelAnnouncement(
            modelID: "m", version: 3, sha256: "ab", size: 10, url: "http://h:1/v1/gateways/g/model")
        #expect(try roundTrip(a).contains(#""url":"http://h:1/v1/gateways/g/model""#))
    }

    @Test func retrainOutcomeSaysWhetherAModelWasTrained() throws {
        let refused = RetrainOutcome(
            scope: "office", version: nil, promoted: false, reason: "training refused: x", sha256: nil)
        #expect(!refused.trained)
        #expect(refused.summary == "office: no model trained: training refused: x")
        let kept = RetrainOutcome(scope: "office", version: 2, promoted: false, reason: "r", sha256: "ab")
        #expect(kept.trained && kept.summary == "office v2 kept as challenger: r")
        _ = try roundTrip(kept)
    }

    @Test func registryListingCarriesTheReportAsJSON() throws {
        let report = try FleetJSON.decode(
            JSON.self,
            from: #"{"holdout":{"challenger":{"accuracy":0.9741,"rows":250,"auc":"nan"}},"trials":[1,2,true,null]}"#
                .utf8)
        let listing = RegistryListing(
            models: [
                .init(
                    scope: "office", version: 1, modelID: "m", sha256: "ab", size: 5, created: "c", dataFrom: "f",
                    dataTo: "t",
                    aliases: ["champion"], report: report)
            ],
            promotions: [.init(scope: "office", at: "a", challenger: 1, champion: nil, promoted: true, reason: "r")],
            metrics: [
                .init(
                    scope: "office", version: 1, at: "a", kind: "holdout", metric: "accuracy", value: .infinity, rows: 3
                )
            ],
            alerts: [.init(at: "a", message: "m")])
        let text = try FleetJSON.text(listing)
        #expect(
            text.contains(#""champion":null"#) && text.contains(#""value":null"#) && text.contains(#""rows":250"#),
            "\(text)")
        let back = try FleetJSON.decode(RegistryListing.self, from: text.utf8)
        #expect(back.models.first?.holdout?.accuracy == 0.9741)
        #expect(back.models.first?.holdout?.rows == 250)
        #expect(back.models.first?.report["trials"] == .array([1, 2, true, .null]))
        #expect(back.metrics.first?.value == nil)
    }

    @Test func gatewayListingWritesNulls() throws {
        let g = GatewayListing.Gateway(
            id: "g", scope: "s", assigned: nil, assignedSha256: nil, active: "m@1", activeSha256: nil, refused: nil,
            reportedAt: nil)
        let text = try FleetJSON.text(GatewayListing(gateways: [g]))
        #expect(text.contains(#""assigned":null"#) && text.contains(#""active":"m@1""#))
        #expect(try FleetJSON.decode(GatewayListing.self, from: text.utf8).gateways == [g])
    }
}
