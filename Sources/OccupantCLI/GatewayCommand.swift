import ArgumentParser
import Foundation
import Gateway
import Logging
import OccupantCore
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

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

    @Option(help: "Configuration file (YAML).")
    var config: String?

    @Option(
        help: ArgumentHelp(
            "Use the simulated thermostat: 'day' (built in; the default when no value follows) or a CSV file to replay.",
            valueName: "scenario"))
    var simulate: String?

    @Option(help: "Simulated time runs this many times faster than real time (with --simulate).")
    var speed: Double?

    @Flag(
        help:
            "Publish the simulated scenario's ground truth on occupant/<id>/labels, one label per occupied or vacant stretch (demo; with --simulate)."
    )
    var simulateLabels = false

    @Option(help: ArgumentHelp("MQTT broker, overriding the configuration.", valueName: "host:port"))
    var broker: String?

    @Option(help: "Gateway id used in topics.")
    var gatewayId: String?

    @Option(help: "Firmware profile: a file, or the name of a shipped profile.")
    var profile: String?

    @Option(help: "I2C bus number (/dev/i2c-N).")
    var bus: Int?

    @Option(help: "Stop after this many cycles (benchmarks).")
    var cycles: Int?

    @Flag(help: "On exit, print timing and resource figures as one JSON line on stdout.")
    var stats = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let speed, speed <= 0 { throw ValidationError("--speed must be positive") }
        if let cycles, cycles <= 0 { throw ValidationError("--cycles must be positive") }
        if simulate != nil && bus != nil { throw ValidationError("give either --simulate or --bus, not both") }
        if let broker, parseEndpoint(broker) == nil {
            throw ValidationError("--broker: expected HOST:PORT, got '\(broker)'")
        }
    }

    func run() async throws {
        let logger = logging.makeLogger(label: "occupant")
        let runtime: GatewayRuntime
        do {
            let config = try resolvedConfig()
            if case .simulated(let scenario, _, _) = config.source { try checkScenario(scenario) }
            runtime = try GatewayRuntime(config: config, logger: logger, maxCycles: cycles)
        } catch {
            throw report(error)
        }
        logger.info(
            "occupant \(occupantVersion) gateway \(runtime.config.gatewayID): profile \(runtime.profile.name), bus \(runtime.bus.name), broker \(runtime.client.options.endpoint)"
        )
        try await runServices(runtime.services)
        if stats { printStats(runtime) }
    }

    func resolvedConfig() throws -> GatewayConfig {
        var config = try GatewayConfig.loadOrDefault(path: self.config)
        if let simulate {
            var speed = self.speed ?? 1
            var seed: UInt64 = 1
            if case .simulated(_, let s, let sd) = config.source {
                speed = self.speed ?? s
                seed = sd
            }
            config.source = .simulated(scenario: simulate, speed: speed, seed: seed)
        } else if let speed, case .simulated(let scenario, _, let seed) = config.source {
            config.source = .simulated(scenario: scenario, speed: speed, seed: seed)
        }
        if let bus { config.source = .bus(bus) }
        if simulateLabels && config.simulatedLabels == nil { config.simulatedLabels = GatewayConfig.SimulatedLabels() }
        if let broker, let (host, port) = parseEndpoint(broker) {
            config.broker.host = host
            config.broker.port = port
        }
        if let gatewayId { config.gatewayID = gatewayId }
        if let profile { config.profile = profile }
        return config
    }

    private func printStats(_ runtime: GatewayRuntime) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu =
            Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        let stats = runtime.loop.stats
        let json = JSON.object([
            "cycles": .number(Double(stats.cycles)),
            "publishes": .number(Double(stats.publishes)),
            "cycle_median_us": .finite(stats.quantile(0.5).map { $0 * 1e6 }),
            "cycle_p99_us": .finite(stats.quantile(0.99).map { $0 * 1e6 }),
            "cpu_seconds": .number(cpu),
            "max_rss_kb": .number(Double(usage.ru_maxrss)),
            "rss_at_exit_kb": .finite(currentRSSKilobytes()),
        ])
        print(json.serialized)
    }
}

/// Runs a daemon's services until SIGTERM or SIGINT (or one of them ends); shutdown runs in reverse order.
func runServices(_ services: [any Service]) async throws {
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "occupant.services", factory: { _ in SwiftLogNoOpLogHandler() })))
    do {
        try await group.run()
    } catch {
        throw report(error)
    }
}

/// `host:port` → (host, port).
func parseEndpoint(_ text: String) -> (String, Int)? {
    guard let colon = text.lastIndex(of: ":") else { return nil }
    let host = String(text[..<colon])
    guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
        return nil
    }
    return (host, port)
}

/// VmRSS from /proc/self/status, in kB.
func currentRSSKilobytes() -> Double? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Double(line.split(separator: " ").dropFirst().first ?? "")
    }
    return nil
}
