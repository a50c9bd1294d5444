import ArgumentParser
import Gateway
import GatewayDaemon
import I2C
import OccupantCore
import Sensors

/// `occupant sensors read`: the field technician's first command on a new install.
struct SensorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensors",
        abstract: "Read the thermostat's sensors.",
        subcommands: [SensorsReadCommand.self]
    )
}

struct SensorsReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read every channel once and print raw bytes, decoded values, units and health.",
        discussion: "Exit status 0 when every channel gave a valid value, 1 when any did not, 2 for a bad profile."
    )

    @Option(help: "Firmware profile: a file, or the name of a shipped profile.")
    var profile: String

    @Option(help: "I2C bus number (/dev/i2c-N).")
    var bus: Int?

    @Option(help: ArgumentHelp("Read the simulated thermostat instead: 'day' or a CSV file.", valueName: "scenario"))
    var simulate: String?

    @Option(help: "Take this many samples, one interval apart.")
    var samples: Int = 1

    func validate() throws {
        if (bus == nil) == (simulate == nil) { throw ValidationError("give exactly one of --bus N or --simulate") }
        if samples < 1 { throw ValidationError("--samples must be at least 1") }
    }

    func run() async throws {
        if let simulate { try checkScenario(simulate) }
        let profile: FirmwareProfile
        let source: SensorSource
        do {
            profile = try ProfileLocator.load(self.profile)
            // The simulated day is read at 9:30, when the office is busy.
            let kind: SensorSource.Kind =
                self.bus.map { .bus($0) } ?? .simulated(scenario: simulate!, offset: 9.5 * 3600)
            source = try SensorSource(kind, profile: profile)
        } catch {
            throw report(error)
        }
        let (bus, clock) = (source.bus, source.clock)
        // A diagnostic: each reading stands alone, so one failed read shows as a failed channel, not as `ok`.
        var reader = SensorReader(
            profile: profile, bus: bus, settings: SensorSettings(degradedAfter: 1, failedAfter: 1))
        var allValid = true
        for i in 0..<samples {
            if i > 0 { try await clock.sleep(seconds: reader.interval) }
            let (sample, _) = await reader.sample(at: clock.now())
            print(SensorTable.render(profile: profile, busName: bus.name, sample: sample))
            allValid = allValid && sample.readings.allSatisfy { $0.value != nil }
        }
        if !allValid { throw ExitCode(ExitStatus.failure) }
    }
}

/// The text table `sensors read` prints.
enum SensorTable {
    static func render(profile: FirmwareProfile, busName: String, sample: Sample) -> String {
        var rows: [[String]] = [["channel", "device", "raw", "value", "units", "health", "note"]]
        for reading in sample.readings {
            let channel = profile.channel(named: reading.channel)
            let device = channel.flatMap { profile.device(named: $0.device) }
            rows.append([
                reading.channel,
                device?.label ?? "-",
                reading.raw.isEmpty ? "-" : hexString(reading.raw, separator: " "),
                reading.value?.description ?? "unavailable",
                channel?.units ?? "",
                reading.health.rawValue,
                reading.unavailable ?? "",
            ])
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = "profile \(profile.name) on \(busName) at \(sample.at.iso8601)\n"
        for row in rows {
            let line = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
            out += line.trimmingTrailingSpaces + "\n"
        }
        return String(out.dropLast())
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
