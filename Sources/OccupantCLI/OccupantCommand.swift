import ArgumentParser
import Foundation
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

    /// Runs the command line; `--simulate` with no value means the built-in day. A usage error (unknown option,
    /// missing or bad value, a failed `validate()`) prints the parser's message and exits 2, as every other
    /// configuration error does; ArgumentParser's own default would be 64.
    public static func run(arguments: [String]) async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot(expandingOptionalValues(arguments))
        } catch {
            exitReporting(error)
        }
        do {
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                var command = command
                try command.run()
            }
        } catch {
            exitReporting(error)
        }
        exit(withError: nil)
    }

    /// Exits with `error`'s status, usage errors mapped to ``ExitStatus/configuration``.
    static func exitReporting(_ error: any Error) -> Never {
        let status = exitStatus(for: error)
        if status == ExitStatus.configuration && exitCode(for: error) == .validationFailure {
            printError(fullMessage(for: error))
            Foundation.exit(status)
        }
        exit(withError: error)
    }

    /// The process exit status for `error`: ArgumentParser's, except usage errors, which are configuration errors.
    public static func exitStatus(for error: any Error) -> Int32 {
        let code = exitCode(for: error)
        return code == .validationFailure ? ExitStatus.configuration : code.rawValue
    }

    /// `--simulate` may stand alone: give it its default value so the parser sees `--simulate day`.
    static func expandingOptionalValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        for (i, argument) in arguments.enumerated() {
            out.append(argument)
            if argument == "--simulate" {
                let next = i + 1 < arguments.count ? arguments[i + 1] : nil
                if next == nil || next!.hasPrefix("-") { out.append("day") }
            }
        }
        return out
    }
}

/// `occupant version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print Occupant's version.")

    func run() {
        print("occupant \(occupantVersion)")
    }
}
