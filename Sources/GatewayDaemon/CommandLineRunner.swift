import ArgumentParser
import Gateway
import OccupantCore

#if canImport(Glibc)
    import Glibc
#endif

/// How `occupant` and `occupant-gateway` run a command line: `--simulate` may stand alone, and a usage error (unknown
/// option, missing or bad value, a failed `validate()`) prints the parser's message and exits 2, as every other
/// configuration error does; ArgumentParser's own default would be 64.
public enum CommandLineRunner {
    public static func run<Root: ParsableCommand>(_ root: Root.Type, arguments: [String]) async -> Never {
        let command: any ParsableCommand
        do {
            command = try Root.parseAsRoot(expandingOptionalValues(arguments))
        } catch {
            exitReporting(root, error)
        }
        do {
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                var command = command
                try command.run()
            }
        } catch {
            exitReporting(root, error)
        }
        Root.exit(withError: nil)
    }

    /// Exits with `error`'s status, usage errors mapped to ``ExitStatus/configuration``.
    public static func exitReporting<Root: ParsableCommand>(_ root: Root.Type, _ error: any Error) -> Never {
        let status = exitStatus(root, for: error)
        if status == ExitStatus.configuration && Root.exitCode(for: error) == .validationFailure {
            printError(Root.fullMessage(for: error))
            exit(status)
        }
        Root.exit(withError: error)
    }

    /// The process exit status for `error`: ArgumentParser's, except usage errors, which are configuration errors.
    public static func exitStatus<Root: ParsableCommand>(_ root: Root.Type, for error: any Error) -> Int32 {
        let code = Root.exitCode(for: error)
        return code == .validationFailure ? ExitStatus.configuration : code.rawValue
    }

    /// `--simulate` may stand alone: give it its default value so the parser sees `--simulate day`.
    public static func expandingOptionalValues(_ arguments: [String]) -> [String] {
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

/// `occupant-gateway`: the gateway daemon alone, without the training host's stacks. `occupant gateway run` runs it
/// when it is installed next to `occupant`; the flags are the same.
public struct GatewayDaemonCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "occupant-gateway",
        abstract: "Sample the sensors, decide occupancy and publish it over MQTT until stopped.",
        discussion: """
            The lean gateway daemon; 'occupant gateway run' starts it with the same flags. \
            Reads the configuration file (default \(GatewayConfig.defaultPath) when it exists); flags override it. \
            SIGTERM or SIGINT publish 'offline' and exit; SIGHUP reloads the configuration and profile. \
            Exit status 2 means a configuration or profile error.
            """,
        version: occupantVersion
    )

    @OptionGroup public var options: GatewayRunOptions

    public init() {}

    public func run() async throws { try await options.run() }
}
