import ArgumentParser
import GatewayDaemon
import OccupantCore

/// `occupant`: the gateway daemon, the field technician's tools, and (later) the training host, in one binary.
public struct OccupantCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "occupant",
        abstract: "Occupancy decisions on the gateway: I2C sensors in, a local model, MQTT out.",
        discussion: """
            Gateway mode reads a thermostat's sensors over I2C as a firmware profile describes them, decides whether \
            the room is occupied, and publishes the decision over MQTT (with Home Assistant discovery).
            """,
        version: occupantVersion,
        subcommands: [
            GatewayCommand.self, ServerCommand.self, SensorsCommand.self, ProfileCommand.self, ModelCommand.self,
            KeysCommand.self,
            TrainCommand.self, EvaluateCommand.self, WatchCommand.self, VersionCommand.self, FitBenchCommand.self,
            StoreCrashCommand.self,
        ]
    )

    public init() {}

    /// Runs the command line (``CommandLineRunner``): `--simulate` may stand alone; a usage error exits 2.
    public static func run(arguments: [String]) async {
        await CommandLineRunner.run(OccupantCommand.self, arguments: arguments)
    }

    /// The process exit status for `error`: ArgumentParser's, except usage errors, which are configuration errors.
    public static func exitStatus(for error: any Error) -> Int32 {
        CommandLineRunner.exitStatus(OccupantCommand.self, for: error)
    }

    /// `--simulate` may stand alone: give it its default value so the parser sees `--simulate day`.
    static func expandingOptionalValues(_ arguments: [String]) -> [String] {
        CommandLineRunner.expandingOptionalValues(arguments)
    }
}

/// `occupant version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print Occupant's version.")

    func run() {
        print("occupant \(occupantVersion)")
    }
}
