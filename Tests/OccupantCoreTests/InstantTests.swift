import Testing

@testable import OccupantCore

@Suite struct InstantTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", 0.0),
        ("2026-11-22T08:30:00Z", 1_795_336_200.0),
        ("2015-02-04 17:51:00", 1_423_072_260.0),
        ("2000-02-29T23:59:59.5Z", 951_868_799.5),
        ("2026-11-22T10:30:00+02:00", 1_795_336_200.0),
    ])
    func parsesISO8601(text: String, seconds: Double) throws {
        let instant = try #require(Instant(iso8601: text))
        #expect(instant.seconds == seconds)
    }

    @Test func formatsWithMilliseconds() {
        #expect(Instant(seconds: 1_795_336_200.25).iso8601 == "2026-11-22T08:30:00.250Z")
        #expect(Instant(seconds: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(Instant(seconds: -1).iso8601 == "1969-12-31T23:59:59.000Z")
    }

    @Test(arguments: ["", "2026-13-01", "2026-11-22T25:00:00Z", "yesterday", "2026-11-22T08:30:00Zjunk"])
    func rejectsMalformed(text: String) {
        #expect(Instant(iso8601: text) == nil)
    }

    @Test func dayOfWeekAndSecondOfDay() throws {
        let monday = try #require(Instant(iso8601: "2026-01-05T06:00:00Z"))
        #expect(monday.dayOfWeek == 0)
        #expect(monday.secondOfDay == 6 * 3600)
        #expect((monday + 6 * 86_400).dayOfWeek == 6)
    }
}
