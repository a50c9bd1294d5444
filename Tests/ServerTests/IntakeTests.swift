import Foundation
import OccupantCore
import Server
import Testing

@Suite struct IntakeTests {
    let intake = Intake(maxFutureSkew: 300)
    let now = Instant(iso8601: "2026-06-01T12:00:00Z")!.seconds

    func rows(_ text: String) throws(IntakeError) -> [TelemetryRow] {
        try intake.telemetry(ndjson: Array(text.utf8), gateway: "gw", now: now)
    }

    func refusal(_ text: String) -> IntakeError? {
        do {
            _ = try rows(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsTheGatewaysTelemetryPayload() throws {
        let parsed = try rows(
            """
            {"at":"2026-06-01T10:00:00Z","readings":{"sound":12.5,"temperature":21.25,"hvac":"heating","co2":null},"health":{"sound":"ok"}}

            {"at":1780308000,"readings":{"sound":3}}
            """)
        #expect(parsed.count == 2)
        #expect(parsed[0].readings["sound"] == .number(12.5))
        #expect(parsed[0].readings["hvac"] == .category("heating"))
        #expect(parsed[0].readings["co2"] == .some(nil))
        #expect(parsed[1].at == 1_780_308_000)
    }

    @Test func badTelemetryIsRefusedWithTheLineAndTheReason() {
        let good = #"{"at":"2026-06-01T10:00:00Z","readings":{"sound":1}}"#
        #expect(refusal("\(good)\n{\"at\":") == IntakeError(400, "line 2: not valid JSON"))
        #expect(refusal(#"{"readings":{"sound":1}}"#)?.message == "line 1: 'at' is missing")
        #expect(
            refusal(#"{"at":"yesterday","readings":{"sound":1}}"#)?.message.contains("'at' is not an ISO-8601") == true)
        #expect(
            refusal(#"{"at":"2026-06-01T10:00:00Z","readings":{"sound":"NaN"}}"#)?.message.contains(
                "not a finite number") == true)
        #expect(refusal(#"{"at":"2026-06-01T10:00:00Z","readings":{"sound":1e999}}"#) != nil)
        #expect(
            refusal(#"{"at":"2026-06-01T10:00:00Z","readings":{"sound":true}}"#)?.message.contains("readings.sound")
                == true)
        #expect(
            refusal(#"{"at":"2027-01-01T00:00:00Z","readings":{"sound":1}}"#)?.message.contains("in the future") == true
        )
        #expect(
            refusal(#"{"at":"1970-01-02T00:00:00Z","readings":{"sound":1}}"#)?.message.contains("before 2000") == true)
        #expect(refusal(#"{"at":"2026-06-01T10:00:00Z","readings":{}}"#)?.message.contains("empty") == true)
        #expect(refusal("\n\n")?.message == "the batch holds no telemetry lines")
    }

    @Test func labelsFromJSONAndCSV() throws {
        let known: (String) -> Bool = { $0 == "gw" }
        let one = try intake.labels(
            json: Array(#"{"from":"2026-06-01T08:00:00Z","to":"2026-06-01T09:00:00Z","occupied":true}"#.utf8),
            gateway: "gw", now: now, source: "mqtt", known: known)
        #expect(
            one == [LabelRange(gateway: "gw", from: now - 4 * 3600, to: now - 3 * 3600, occupied: true, source: "mqtt")]
        )
        let csv = try intake.labels(
            csv: "gateway,from,to,occupied\ngw,2026-06-01T08:00:00Z,2026-06-01T09:00:00Z,0\n", now: now, known: known)
        #expect(csv.first?.occupied == false)

        func refused(_ body: () throws -> [LabelRange]) -> IntakeError? {
            do {
                _ = try body()
                return nil
            } catch {
                return error as? IntakeError
            }
        }
        #expect(
            refused {
                try intake.labels(
                    json: Array(#"{"from":"2026-06-01T09:00:00Z","to":"2026-06-01T08:00:00Z","occupied":true}"#.utf8),
                    gateway: "gw", now: now, source: "http", known: known)
            }?.message == "'to' must be after 'from'")
        #expect(
            refused {
                try intake.labels(
                    json: Array(#"{"gateway":"other","from":1780300000,"to":1780300060,"occupied":true}"#.utf8),
                    gateway: nil, now: now, source: "http", known: known)
            }?.status == 404)
        #expect(
            refused { try intake.labels(csv: "gateway,from,occupied\n", now: now, known: known) }?.message.contains(
                "no 'to' column") == true)
        #expect(
            refused {
                try intake.labels(
                    csv: "gateway,from,to,occupied\ngw,1780300000,1780300060,maybe\n", now: now, known: known)
            }?.message
                == "line 2: occupied is 'maybe', not 0/1 or true/false")
    }
}
