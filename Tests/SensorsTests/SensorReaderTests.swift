import I2C
import OccupantCore
import OccupantTesting
import Testing

@testable import Sensors

@Suite struct SensorReaderTests {
    struct ConstantScenario: Scenario {
        var values: [String: ChannelValue]
        var name: String { "constant" }
        var start: Instant { Instant(seconds: 1_767_600_000) }
        func state(at: Instant) -> ThermostatState { ThermostatState(values: values, occupied: nil) }
    }

    func makeReader(_ profileName: String, values: [String: ChannelValue], settings: SensorSettings = SensorSettings())
        throws -> (SensorReader, SimulatedBus, ManualClock)
    {
        let profile = try FirmwareProfile.load(path: profilePath(profileName))
        let clock = ManualClock()
        let bus = SimulatedBus(profile: profile, scenario: ConstantScenario(values: values), clock: clock)
        return (SensorReader(profile: profile, bus: bus, settings: settings), bus, clock)
    }

    let values: [String: ChannelValue] = [
        "temperature": .number(21.25), "humidity": .number(45), "sound": .number(12), "hvac": .category("heating"),
    ]

    @Test func readsEveryChannelThroughTheDecodePath() async throws {
        var (reader, bus, clock) = try makeReader("sht31-ads1115-pcf8574", values: values)
        let (sample, changes) = await reader.sample(at: clock.now())
        #expect(changes.isEmpty)
        #expect(abs((sample.value("temperature")?.number ?? 0) - 21.25) < 0.01)
        #expect(abs((sample.value("sound")?.number ?? 0) - 12) < 0.01)
        #expect(sample.value("hvac") == .category("heating"))
        #expect(sample.reading("temperature")?.raw.count == 3) // two data bytes and the CRC
        // ADS1115 setup write + register write/read, SHT31 command + read, PCF8574 plain read.
        #expect(bus.transactionCount == 6)
    }

    @Test func noAcknowledgeDegradesThenFailsAndRecovers() async throws {
        var (reader, bus, clock) = try makeReader(
            "sht31-ads1115-pcf8574", values: values, settings: SensorSettings(degradedAfter: 2, failedAfter: 4))
        bus.inject(.noAcknowledge(address: 0x48))
        var allChanges: [HealthChange] = []
        var last: Sample?
        for _ in 0..<5 {
            let (sample, changes) = await reader.sample(at: clock.now())
            allChanges += changes
            last = sample
            clock.advance(1)
        }
        let sound = try #require(last?.reading("sound"))
        #expect(sound.value == nil)
        #expect(sound.unavailable == "ADS1115 0x48 on simulated: no acknowledge")
        #expect(sound.health == .failed)
        // Logged once per change, not per sample.
        #expect(allChanges.map { "\($0.channel):\($0.to)" } == ["sound:degraded", "sound:failed"])
        // Other channels are unaffected.
        #expect(last?.reading("temperature")?.health == .ok)

        bus.clearFaults()
        let (recovered, changes) = await reader.sample(at: clock.now())
        #expect(recovered.value("sound") != nil)
        #expect(changes.map(\.to) == [.ok])
    }

    @Test func corruptCRCIsReportedNotDecoded() async throws {
        var (reader, bus, clock) = try makeReader("sht31-ads1115-pcf8574", values: values)
        bus.inject(.corruptCRC(address: 0x44))
        let (sample, _) = await reader.sample(at: clock.now())
        #expect(sample.value("temperature") == nil)
        #expect(sample.reading("temperature")?.unavailable?.contains("CRC mismatch for temperature") == true)
    }

    @Test func stuckValueIsDetected() async throws {
        var (reader, _, clock) = try makeReader(
            "thermostat-mcu", values: values, settings: SensorSettings(stuckAfter: 30))
        var last: Sample?
        for _ in 0..<40 {
            last = await reader.sample(at: clock.now()).sample
            clock.advance(1)
        }
        // thermostat-mcu says sound is stuck after 10 minutes; temperature after 2 h: the shorter default applies to neither.
        #expect(last?.value("sound") != nil)
        for _ in 0..<600 {
            last = await reader.sample(at: clock.now()).sample
            clock.advance(1)
        }
        #expect(last?.value("sound") == nil)
        #expect(last?.reading("sound")?.unavailable?.hasPrefix("sound stuck at 12 for") == true)
    }

    @Test func outOfRangeValueIsUnavailable() async throws {
        var (reader, bus, clock) = try makeReader("thermostat-mcu", values: values)
        bus.inject(.override(channel: "temperature", value: .number(99)))
        let (sample, _) = await reader.sample(at: clock.now())
        #expect(sample.value("temperature") == nil)
        #expect(sample.reading("temperature")?.unavailable == "temperature 99 °C above maximum 85")
        #expect(sample.value("sound") == .number(12))
    }

    @Test func channelsAreReadAtTheirOwnIntervals() async throws {
        var (reader, bus, clock) = try makeReader("thermostat-mcu", values: values)
        #expect(reader.interval == 0.1)
        _ = await reader.sample(at: clock.now())
        let first = bus.transactionCount
        clock.advance(0.1)
        let (sample, _) = await reader.sample(at: clock.now())
        // One device, read again because sound is due; temperature and hvac carry their last readings.
        #expect(bus.transactionCount == first + 2)
        #expect(sample.value("temperature") == .number(21.25))
    }
}
