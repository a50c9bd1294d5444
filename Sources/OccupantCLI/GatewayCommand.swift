import ArgumentParser
import Gateway
import GatewayDaemon

/// `occupant gateway run`: the boot service.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run the gateway daemon.",
        subcommands: [GatewayRunCommand.self, MonitorBenchCommand.self],
        defaultSubcommand: GatewayRunCommand.self
    )
}

struct GatewayRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Sample the sensors, decide occupancy and publish it over MQTT until stopped.",
        discussion: """
            Reads the configuration file (default \(GatewayConfig.defaultPath) when it exists); flags override it. \
            SIGTERM or SIGINT publish 'offline' and exit; SIGHUP reloads the configuration and profile. \
            Exit status 2 means a configuration or profile error.
            """
    )

    /// The same flags as `occupant-gateway` (which `occupant` runs in its place when installed beside it).
    @OptionGroup var options: GatewayRunOptions

    var simulate: String? { options.simulate }
    var speed: Double? { options.speed }

    func run() async throws { try await options.run() }

    func resolvedConfig() throws -> GatewayConfig { try options.resolvedConfig() }
}
