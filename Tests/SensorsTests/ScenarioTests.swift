import OccupantCore
import Testing

@testable import Sensors

@Suite struct ScenarioTests {
    @Test func officeDayHasTheCasesTheRuleGetsWrong() {
        let day = OfficeDayScenario(seed: 7)
        var loudAndEmpty = 0
        var quietAndOccupied = 0
        var occupied = 0
        let start = day.start
        for s in stride(from: 0.0, to: 86_400, by: 10) {
            let state = day.state(at: start + s)
            let sound = state.values["sound"]?.number ?? 0
            if state.occupied == true { occupied += 1 }
            if state.occupied == false && sound > 10 { loudAndEmpty += 1 }
            if state.occupied == true && sound <= 10 { quietAndOccupied += 1 }
        }
        #expect(occupied > 1500 && occupied < 5000) // roughly 8 of 24 hours
        #expect(loudAndEmpty > 500) // HVAC noise floor above the threshold with nobody there
        #expect(quietAndOccupied > 300) // people sitting still
        // Deterministic: the same instant gives the same state.
        #expect(day.state(at: start + 1234) == day.state(at: start + 1234))
    }

    @Test func replayUsesTheLatestRowAndLoops() throws {
        let csv = """
            time,sound,temperature,hvac,occupied
            2026-01-05T08:00:00Z,5,20.5,standby,0
            2026-01-05T08:00:10Z,40,20.6,heating,1
            """
        let replay = try ReplayScenario(csv: csv)
        #expect(replay.start == Instant(iso8601: "2026-01-05T08:00:00Z"))
        #expect(replay.state(at: replay.start + 5).values["sound"] == .number(5))
        #expect(replay.state(at: replay.start + 10).values["hvac"] == .category("heating"))
        #expect(replay.state(at: replay.start + 10).occupied == true)
        #expect(replay.state(at: replay.start + 11).values["sound"] == .number(5)) // looped (span 11 s)
    }

    @Test(arguments: [
        ("sound\n5\n", "needs a 'time' column"),
        ("time,sound\nnoon,5\n", "line 2: time 'noon' is neither ISO-8601 nor Unix seconds"),
        ("time,sound\n10,5\n5,6\n", "line 3: time goes backwards"),
        ("time,sound\n10,5,7\n", "line 2: 3 fields, the header has 2"),
    ])
    func badReplayFilesSayWhatIsWrong(csv: String, expected: String) {
        do {
            _ = try ReplayScenario(csv: csv, name: "r.csv")
            Issue.record("expected: \(expected)")
        } catch {
            #expect(error.message.contains(expected), "got: \(error.message)")
        }
    }
}

@Suite struct SensorSourceTests {
    @Test func theSimulatedSourceStartsAtTheScenarioPlusItsOffset() throws {
        let profile = try FirmwareProfile.load(path: profilePath("thermostat-mcu"))
        let source = try SensorSource(
            .simulated(scenario: "day", speed: 1, seed: 1, offset: 9.5 * 3600), profile: profile)
        #expect(source.simulatedBus != nil)
        #expect(source.bus.name == "simulated")
        let start = OfficeDayScenario(seed: 1).start + 9.5 * 3600
        #expect(abs(source.clock.now() - start) < 60)
    }

    @Test func theBusSourceNamesItsDevice() throws {
        let profile = try FirmwareProfile.load(path: profilePath("thermostat-mcu"))
        let source = try SensorSource(.bus(3), profile: profile)
        #expect(source.bus.name == "/dev/i2c-3")
        #expect(source.simulatedBus == nil)
    }

    @Test func anUnreadableScenarioIsAnError() throws {
        let profile = try FirmwareProfile.load(path: profilePath("thermostat-mcu"))
        #expect(throws: OccupantError.self) {
            try SensorSource(.simulated(scenario: "/nonexistent/replay.csv"), profile: profile)
        }
    }
}
