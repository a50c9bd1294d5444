import OccupantCore
import Testing

@testable import Sensors

@Suite struct ConversionTests {
    @Test func sensirionCRCOfBEEFIs92() {
        // SHT3x datasheet §4.12: CRC-8 of 0xBEEF is 0x92.
        #expect(CRC.sensirion.checksum([0xBE, 0xEF]) == 0x92)
        // SMBus PEC (CRC-8, poly 0x07) of "123456789" is 0xF4.
        #expect(CRC.smbus.checksum(Array("123456789".utf8)) == 0xF4)
    }

    @Test(
        arguments: [
            ([UInt8]([0x66, 0x66, 0x93]), 25.0), // S_T = 0x6666 → −45 + 175 × 0.4
            ([0x00, 0x00, 0x81], -45.0),
            ([0xFF, 0xFF, 0xAC], 130.0),
        ] as [([UInt8], Double)])
    func sht31Temperature(bytes: [UInt8], celsius: Double) throws {
        let channel = FirmwareProfile.Channel(
            name: "temperature", device: "sht31", field: .init(at: 0, size: 2, crc: .sensirion),
            scale: 175.0 / 65535.0, offset: -45)
        let decoded = channel.decode(bytes, deviceLabel: "SHT31 at 0x44")
        #expect(decoded.problem == nil)
        let value = try #require(decoded.value?.number)
        #expect(abs(value - celsius) < 1e-9)
    }

    @Test func sht31CRCMismatchIsAProblemNotANumber() {
        let channel = FirmwareProfile.Channel(
            name: "temperature", device: "sht31", field: .init(at: 0, size: 2, crc: .sensirion), scale: 175.0 / 65535.0,
            offset: -45)
        let decoded = channel.decode([0x66, 0x66, 0x00], deviceLabel: "SHT31 at 0x44 on /dev/i2c-1")
        #expect(decoded.value == nil)
        #expect(
            decoded.problem == "SHT31 at 0x44 on /dev/i2c-1: CRC mismatch for temperature (got 0x00, expected 0x93)")
    }

    // TMP102 datasheet Table 7-1 (12-bit mode): the register holds the value left-justified.
    @Test(
        arguments: [
            ([UInt8]([0x7F, 0xF0]), 127.9375), ([0x64, 0x00], 100), ([0x50, 0x00], 80), ([0x4B, 0x00], 75),
            ([0x32, 0x00], 50), ([0x19, 0x00], 25), ([0x00, 0x40], 0.25), ([0x00, 0x10], 0.0625), ([0x00, 0x00], 0),
            ([0xFF, 0xC0], -0.25), ([0xE7, 0x00], -25), ([0xC9, 0x00], -55),
        ] as [([UInt8], Double)])
    func tmp102Table(bytes: [UInt8], celsius: Double) {
        let channel = FirmwareProfile.Channel(
            name: "temperature", device: "tmp102", field: .init(at: 0, size: 2), shift: 4, signedBits: 12, scale: 0.0625
        )
        #expect(channel.decode(bytes, deviceLabel: "TMP102").value == .number(celsius))
    }

    // ADS1115 datasheet Table 9-3: ±4.096 V range, 125 µV per code.
    @Test(
        arguments: [
            ([UInt8]([0x7F, 0xFF]), 4.095875), ([0x00, 0x01], 0.000125), ([0x00, 0x00], 0), ([0xFF, 0xFF], -0.000125),
            ([0x80, 0x00], -4.096),
        ] as [([UInt8], Double)])
    func ads1115Codes(bytes: [UInt8], volts: Double) throws {
        let channel = FirmwareProfile.Channel(
            name: "envelope", device: "adc", field: .init(at: 0, size: 2), signedBits: 16, scale: 0.000125)
        let value = try #require(channel.decode(bytes, deviceLabel: "ADS1115").value?.number)
        #expect(abs(value - volts) < 1e-12)
    }

    @Test func outOfRangeIsUnavailableWithTheValue() throws {
        let profile = try FirmwareProfile.load(path: profilePath("tmp102-mcp23008"))
        let temperature = try #require(profile.channel(named: "temperature"))
        let decoded = temperature.decode([0xC9, 0x00], deviceLabel: "TMP102 at 0x48")
        #expect(decoded.value == nil)
        #expect(decoded.problem == "temperature -55 °C below minimum -40")
    }

    @Test func categoricalMappingAndUnmappedValue() throws {
        let profile = try FirmwareProfile.load(path: profilePath("sht31-ads1115-pcf8574"))
        let hvac = try #require(profile.channel(named: "hvac"))
        #expect(hvac.decode([0xFE], deviceLabel: "PCF8574").value == .category("heating")) // P0 low, P3–P7 high
        #expect(hvac.decode([0xFF], deviceLabel: "PCF8574").value == .category("standby"))
        let fault = hvac.decode([0xF8], deviceLabel: "PCF8574") // heat and cool together: a wiring fault
        #expect(fault.value == nil)
        #expect(fault.problem == "hvac: raw value 0 has no mapping")
    }

    @Test func mcuRegisterMapLittleEndianSigned() throws {
        let profile = try FirmwareProfile.load(path: profilePath("thermostat-mcu"))
        let bytes: [UInt8] = [0xE6, 0xFB, 0x2A, 0x02] // -1050 → -10.5 °C, sound 42, heating
        #expect(profile.channel(named: "temperature")?.decode(bytes, deviceLabel: "MCU").value == .number(-10.5))
        #expect(profile.channel(named: "sound")?.decode(bytes, deviceLabel: "MCU").value == .number(42))
        #expect(profile.channel(named: "hvac")?.decode(bytes, deviceLabel: "MCU").value == .category("heating"))
    }

    @Test(arguments: ["thermostat-mcu", "sht31-ads1115-pcf8574", "tmp102-mcp23008"])
    func encodeThenDecodeRoundTrips(profileName: String) throws {
        let profile = try FirmwareProfile.load(path: profilePath(profileName))
        let values: [String: ChannelValue] = [
            "temperature": .number(21.5), "humidity": .number(40), "sound": .number(37), "hvac": .category("cooling"),
        ]
        for device in profile.devices {
            var bytes = [UInt8](repeating: 0, count: device.read.length)
            let channels = profile.channels.filter { $0.device == device.name }
            for channel in channels { #expect(channel.encode(values[channel.name]!, into: &bytes)) }
            for channel in channels {
                let decoded = channel.decode(bytes, deviceLabel: device.label)
                #expect(decoded.problem == nil, "\(profileName).\(channel.name)")
                switch (decoded.value, values[channel.name]!) {
                case (.number(let got)?, .number(let want)):
                    // Within one step of the channel's resolution.
                    #expect(
                        abs(got - want) <= abs(channel.scale) * Double(1 << channel.shift),
                        "\(profileName).\(channel.name)")
                case (let got, let want):
                    #expect(got == want, "\(profileName).\(channel.name)")
                }
            }
        }
    }
}
