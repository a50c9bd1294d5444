import ArgumentParser
import Gateway
import Logging
import OccupantCore
import ServiceLifecycle
import UnixSignals

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The flags of `occupant gateway run` and of the lean `occupant-gateway` daemon (the same flags, the same run).
public struct GatewayRunOptions: ParsableArguments {
    public init() {}

    @Option(help: "Configuration file (YAML).")
    public var config: String?

    @Option(
        help: ArgumentHelp(
            "Use the simulated thermostat: 'day' (built in; the default when no value follows) or a CSV file to replay.",
            valueName: "scenario"))
    public var simulate: String?

    @Option(help: "Simulated time runs this many times faster than real time (with --simulate).")
    public var speed: Double?

    @Flag(
        help:
            "Publish the simulated scenario's ground truth on occupant/<id>/labels, one label per occupied or vacant stretch (demo; with --simulate)."
    )
    public var simulateLabels = false

    @Option(help: ArgumentHelp("MQTT broker, overriding the configuration.", valueName: "host:port"))
    public var broker: String?

    @Option(help: "Gateway id used in topics.")
    public var gatewayId: String?

    @Option(help: "Firmware profile: a file, or the name of a shipped profile.")
    public var profile: String?

    @Option(help: "I2C bus number (/dev/i2c-N).")
    public var bus: Int?

    @Option(help: "Stop after this many cycles (benchmarks).")
    public var cycles: Int?

    @Flag(help: "On exit, print timing and resource figures as one JSON line on stdout.")
    public var stats = false

    @OptionGroup public var logging: LoggingOptions

    public func validate() throws {
        if let speed, speed <= 0 { throw ValidationError("--speed must be positive") }
        if let cycles, cycles <= 0 { throw ValidationError("--cycles must be positive") }
        if simulate != nil && bus != nil { throw ValidationError("give either --simulate or --bus, not both") }
        if let broker, parseEndpoint(broker) == nil {
            throw ValidationError("--broker: expected HOST:PORT, got '\(broker)'")
        }
    }

    /// Samples, decides and publishes until SIGTERM or SIGINT (or `--cycles`).
    public func run() async throws {
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

    public func resolvedConfig() throws -> GatewayConfig {
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

    /// `max_rss_kb` is the process's peak (it survives an exec from `occupant`); `peak_rss_image_kb` (VmHWM) is the
    /// peak of this program image alone.
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
            "peak_rss_image_kb": .finite(statusKilobytes("VmHWM:")),
            "rss_at_exit_kb": .finite(currentRSSKilobytes()),
        ])
        print(json.serialized)
    }
}

/// Runs a daemon's services until SIGTERM or SIGINT (or one of them ends); shutdown runs in reverse order.
public func runServices(_ services: [any Service]) async throws {
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
public func parseEndpoint(_ text: String) -> (String, Int)? {
    guard let colon = text.lastIndex(of: ":") else { return nil }
    let host = String(text[..<colon])
    guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
        return nil
    }
    return (host, port)
}

/// VmRSS from /proc/self/status, in kB.
public func currentRSSKilobytes() -> Double? { statusKilobytes("VmRSS:") }

/// A `kB` line of /proc/self/status (`VmRSS:`, `VmHWM:`).
func statusKilobytes(_ key: String) -> Double? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix(key) {
        return Double(line.split(separator: " ").dropFirst().first ?? "")
    }
    return nil
}

/// `--simulate SCENARIO` names the built-in `day` or a CSV file to replay. A file that is not there is a
/// configuration error (exit 2, one line), found before anything starts.
public func checkScenario(_ scenario: String) throws {
    guard scenario != "day" else { return }
    var info = stat()
    guard stat(scenario, &info) == 0, info.st_mode & S_IFMT != S_IFDIR else {
        throw report(
            OccupantError(
                .configuration,
                "--simulate \(scenario): no such replay file (give 'day' or a CSV file with a time column)"))
    }
}
