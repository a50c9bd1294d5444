import OccupantCore
import Testing

@testable import Sensors

@Suite struct ProfileValidationTests {
    static let valid = """
        name: test
        devices:
          - name: mcu
            address: 0x30
            read: { register: 0x00, length: 4 }
        channels:
          - name: temperature
            device: mcu
            field: { at: 0, size: 2, order: little }
            signed: true
            scale: 0.01
            units: °C
          - name: sound
            device: mcu
            field: { at: 2, size: 1 }
          - name: hvac
            device: mcu
            field: { at: 3, size: 1 }
            mappings: { 0: off, 1: heating }
        """

    @Test func shippedProfilesAreValid() throws {
        for name in ["thermostat-mcu", "sht31-ads1115-pcf8574", "tmp102-mcp23008"] {
            let profile = try FirmwareProfile.load(path: profilePath(name))
            #expect(profile.name == name)
            #expect(Set(profile.channels.map(\.name)).isSuperset(of: ["temperature", "sound", "hvac"]))
        }
    }

    @Test func minimalProfileParses() throws {
        let profile = try FirmwareProfile.parse(yaml: Self.valid)
        #expect(profile.channels.map(\.name) == ["temperature", "sound", "hvac"])
        #expect(profile.channel(named: "temperature")?.signedBits == 16)
        #expect(profile.devices[0].read == .register([0x00], length: 4))
    }

    /// Each broken profile and the message (key path included) it must produce.
    @Test(arguments: [
        ("address: 0x30", "address: 0x90", "devices[0].address: 0x90 is out of range 0x03…0x77"),
        ("address: 0x30", "address: 200", "devices[0].address: 200 is out of range 3…119"),
        (
            "read: { register: 0x00, length: 4 }", "read: { register: 0x00, length: 40 }",
            "devices[0].read.length: 40 is out of range 1…32"
        ),
        (
            "read: { register: 0x00, length: 4 }", "read: { register: 0, command: [1], length: 4 }",
            "devices[0].read: give either 'register' or 'command', not both"
        ),
        (
            "    scale: 0.01\n", "    scale: 0.01\n    sacle: 2\n",
            "channels[0].sacle: unknown key 'sacle' (did you mean 'scale'?)"
        ),
        (
            "field: { at: 2, size: 1 }", "field: { at: 3, size: 2 }",
            "channels[1].field: bytes 3…4 lie outside the 4 bytes read from device 'mcu'"
        ),
        (
            "    device: mcu\n    field: { at: 2", "    device: mic\n    field: { at: 2",
            "channels[1].device: no device named 'mic' (devices: mcu)"
        ),
        (
            "1: heating", "1: boiling",
            "channels[2].mappings.1: hvac values must be one of heating, cooling, fan, standby, off, got 'boiling'"
        ),
        ("units: °C", "units: °F", "channels[0].units: temperature is kept in °C inside Occupant"),
        ("scale: 0.01", "scale: ten", "channels[0].scale: expected a number, got 'ten'"),
        (
            "name: test\n", "name: test\nfirmware: newest\n",
            "firmware: expected a version range such as '>=2.1, <3', got 'newest'"
        ),
        (
            "  - name: sound\n    device: mcu\n", "  - name: temperature\n    device: mcu\n",
            "channels[1]: duplicate channel name 'temperature'"
        ),
        ("    mappings: { 0: off, 1: heating }", "", "channels[2]: channel 'hvac' is categorical"),
    ])
    func brokenProfileNamesTheKey(original: String, replacement: String, expected: String) throws {
        let yaml = Self.valid.replacingOccurrences(of: original, with: replacement)
        #expect(yaml != Self.valid, "the test's replacement did not apply")
        do {
            _ = try FirmwareProfile.parse(yaml: yaml, source: "p.yaml")
            Issue.record("expected an error containing: \(expected)")
        } catch {
            #expect(error.description.contains(expected), "got: \(error.description)")
            #expect(error.code == .profile)
        }
    }

    @Test func everyProblemIsReportedWithItsLine() {
        let yaml = """
            name: broken
            devices:
              - name: a
                address: 0x200
                read: { length: 1 }
            channels:
              - name: sound
                device: b
                field: { size: 9 }
            """
        do {
            _ = try FirmwareProfile.parse(yaml: yaml, source: "broken.yaml")
            Issue.record("expected errors")
        } catch {
            let lines = error.description.split(separator: "\n")
            #expect(lines.count == 3, "got: \(error.description)")
            #expect(lines.contains("broken.yaml:4: devices[0].address: 0x200 is out of range 0x03…0x77"))
            #expect(lines.contains { $0.hasPrefix("broken.yaml:8: channels[0].device: no device named 'b'") })
            #expect(lines.contains("broken.yaml:9: channels[0].field.size: 9 is out of range 1…8"))
        }
    }

    /// A device with errors is reported once, at the device: channels naming it do not add
    /// `no device named 'sht31' (devices: )` each.
    @Test func aBrokenDeviceIsReportedOnceNotByEveryChannel() {
        let yaml = """
            name: broken
            devices:
              - name: sht31
                address: 0x94
                read: { command: [0x24, 0x00], length: 6 }
              - name: adc
                address: 0x48
                read: { register: 0, length: 2 }
            channels:
              - { name: temperature, device: sht31, field: { size: 2 } }
              - { name: humidity, device: sht31, field: { at: 3, size: 2 } }
              - { name: sound, device: adc, field: { size: 2 } }
              - { name: light, device: lux, field: { size: 1 } }
            """
        do {
            _ = try FirmwareProfile.parse(yaml: yaml, source: "broken.yaml")
            Issue.record("expected errors")
        } catch {
            let lines = error.description.split(separator: "\n").map(String.init)
            #expect(lines.count == 2, "got: \(error.description)")
            #expect(lines.contains("broken.yaml:4: devices[0].address: 0x94 is out of range 0x03…0x77"))
            #expect(!error.description.contains("no device named 'sht31'"))
            // A device that was never declared is still an error, listing every declared device.
            #expect(lines.contains("broken.yaml:13: channels[3].device: no device named 'lux' (devices: sht31, adc)"))
        }
    }

    @Test func unreadableFileIsOneLine() {
        do {
            _ = try FirmwareProfile.load(path: "/nonexistent/profile.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "/nonexistent/profile.yaml: cannot read the profile: no such file")
        }
    }

    @Test func versionRanges() throws {
        let range = try #require(VersionRange(">=2.1, <3"))
        #expect(range.contains("2.1"))
        #expect(range.contains("2.9.7"))
        #expect(!range.contains("3.0"))
        #expect(!range.contains("2.0.9"))
        #expect(VersionRange("")!.contains("17"))
        #expect(VersionRange(">=x") == nil)
    }
}
