import Foundation
import MQTT
import OccupantTesting
import Testing

/// The real Linux I2C backend (`/dev/i2c-1` through CLinuxI2C) in a child process, with the kernel interface faked
/// by tools/fake-i2c under LD_PRELOAD: the open/ioctl/read/write calls are real; only the chips are simulated.
@Suite(.serialized) struct LinuxBusTests {
    /// SHT31 25 °C / 50 %RH, ADS1115 code 0x0817 (sound ≈ 20), PCF8574 0xFE (heat call active).
    static let map = """
        0x44 2400 6666938000A2
        0x48 01C283 -
        0x48 00 0817
        0x20 - FE
        """

    @Test func sensorsReadDecodesTheRealBus() async throws {
        let env = try FakeI2C.environment(map: Self.map)
        let result = try await ChildProcess.run(
            [
                "sensors", "read", "--profile", packageRootPath("firmware-profiles/sht31-ads1115-pcf8574.yaml"),
                "--bus", "1",
            ],
            environment: env)
        #expect(result.status == 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("profile sht31-ads1115-pcf8574 on /dev/i2c-1 at ") == true)
        let row = { (channel: String) in lines.first { $0.hasPrefix(channel + " ") } ?? "" }
        #expect(row("temperature").contains("66 66 93"))
        #expect(row("temperature").contains(" 25 ") || row("temperature").contains(" 25.0"))
        #expect(row("humidity").contains("50.000763"))
        #expect(row("sound").contains("08 17"))
        #expect(row("sound").contains("20.003977"))
        #expect(row("hvac").contains("heating"))
        #expect(lines.dropFirst().allSatisfy { !$0.contains("unavailable") })
    }

    @Test func aMissingChipIsReportedByNameAndTheRestStillRead() async throws {
        // No line for 0x44: the SHT31 does not acknowledge.
        let map = Self.map.split(separator: "\n").filter { !$0.hasPrefix("0x44") }.joined(separator: "\n")
        let env = try FakeI2C.environment(map: map)
        let result = try await ChildProcess.run(
            [
                "sensors", "read", "--profile", packageRootPath("firmware-profiles/sht31-ads1115-pcf8574.yaml"),
                "--bus", "1",
            ],
            environment: env)
        #expect(result.status == 1)
        let temperature = result.stdout.split(separator: "\n").first { $0.hasPrefix("temperature") } ?? ""
        #expect(temperature.contains("unavailable"))
        #expect(temperature.contains("SHT31 0x44 on /dev/i2c-1: no acknowledge"))
        // The health column agrees with the value: a failed read is `failed`, never `ok` next to `unavailable`.
        #expect(temperature.contains("  failed  "), "got: \(temperature)")
        let sound = result.stdout.split(separator: "\n").first { $0.hasPrefix("sound") } ?? ""
        #expect(sound.contains("  ok"), "got: \(sound)")
        #expect(result.stdout.contains("heating"))
    }

    @Test func missingBusDeviceIsAClearError() async throws {
        let env = try FakeI2C.environment(map: Self.map, bus: 1)
        let result = try await ChildProcess.run(
            ["sensors", "read", "--profile", packageRootPath("firmware-profiles/thermostat-mcu.yaml"), "--bus", "7"],
            environment: env)
        #expect(result.status == 1)
        #expect(result.stdout.contains("/dev/i2c-7: bus unavailable (No such file or directory)"))
    }

    @Test func gatewayPublishesFromTheRealBus() async throws {
        let broker = try await MosquittoBroker()
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/hw/#"])
        let env = try FakeI2C.environment(map: Self.map)
        let gateway = try ChildProcess(
            [
                "gateway", "run", "--bus", "1", "--profile", "sht31-ads1115-pcf8574", "--broker", broker.endpoint,
                "--gateway-id", "hw",
            ],
            environment: env)
        defer { gateway.signal(SIGKILL) }
        let decision = try await probe.waitFor("occupant/hw/occupancy", timeout: 20)
        let object = try #require(jsonObject(decision))
        #expect(object["roomOccupancy"] as? Bool == true) // sound ≈ 20 > 10
        let inputs = try #require(object["inputs"] as? [String: Double])
        #expect(abs((inputs["sound"] ?? 0) - 20.003977) < 1e-5)
    }
}
