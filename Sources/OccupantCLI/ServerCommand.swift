import ArgumentParser
import FleetProtocol
import Foundation
import GatewayDaemon
import Logging
import OccupantCore
import Server
import ServiceLifecycle

/// `occupant server …`: the training host and the commands an operator runs against it.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the training host, or ask a running one about its models and gateways.",
        subcommands: [
            Run.self, Models.self, Gateways.self, Monitor.self, Alerts.self, Promote.self, Rollout.self, Shadow.self,
            Retrain.self, Rooms.self,
            Labels.self, Token.self, BrokerConfig.self,
        ])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Collect telemetry and labels, retrain, promote and deliver models.",
            discussion: """
                HTTP API on http.host:http.port, storage in <stateDirectory>/server.sqlite, signed bundles in \
                <stateDirectory>/artifacts. SIGTERM or SIGINT stop it cleanly.
                """)

        @Option(
            help: "Server configuration file (default: \(ServerConfig.defaultPath) if present, else built-in defaults)."
        )
        var config: String?
        @Option(help: "Override http.port (0 = any free port, written to <stateDirectory>/http.port).")
        var port: Int?
        @Option(help: "Override stateDirectory.")
        var stateDirectory: String?
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = logging.makeLogger(label: "occupant-server")
            let runtime: ServerRuntime
            do {
                runtime = try ServerRuntime(config: try resolvedConfig(), logger: logger)
                try await runtime.ready()
            } catch {
                throw report(error)
            }
            logger.info(
                "occupant \(occupantVersion) server: state \(runtime.config.stateDirectory), \(runtime.config.gateways.count) gateways in \(runtime.config.scopes.count) scopes"
            )
            try await runServices(runtime.services)
        }

        /// The configuration file (or the defaults), then the flags over it.
        func resolvedConfig() throws -> ServerConfig {
            var config = try ServerConfig.loadOrDefault(path: self.config)
            if let port { config.http.port = port }
            if let stateDirectory { config.stateDirectory = stateDirectory }
            return config
        }
    }

    struct Models: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the registry: versions, aliases, metrics, promotions.")
        @OptionGroup var client: ServerClientOptions
        @Option(help: "Only this scope.") var scope: String?
        @Flag(help: "Print the server's JSON.") var json = false

        func run() async throws {
            let listing = try await client.withRegistry { try await $0.models(scope: scope) }
            if json { return try printJSON(listing) }
            for line in Self.lines(listing) { print(line) }
        }

        /// The listing for people: one line per model, promotion and alert.
        static func lines(_ listing: RegistryListing) -> [String] {
            var out: [String] = []
            if listing.models.isEmpty { out.append("no models yet") }
            for m in listing.models {
                let holdout = m.holdout
                let aliases = m.aliases.joined(separator: ",")
                out.append(
                    String(
                        format: "%@ v%d  %@  %@  holdout accuracy %.4f on %d rows  data %@ … %@%@",
                        m.scope, m.version, m.modelID, String(m.sha256.prefix(12)), holdout?.accuracy ?? .nan,
                        holdout?.rows ?? 0,
                        m.dataFrom, m.dataTo, aliases.isEmpty ? "" : "  [\(aliases)]"))
            }
            for p in listing.promotions {
                out.append(
                    "\(p.at)  \(p.scope) v\(p.challenger) \(p.promoted ? "promoted" : "not promoted"): \(p.reason)")
            }
            for a in listing.alerts {
                out.append("ALERT \(a.at)  \(a.message)")
            }
            return out
        }
    }

    struct Gateways: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Which model each gateway should run, and which it reports running.")
        @OptionGroup var client: ServerClientOptions
        @Flag(help: "Print the server's JSON.") var json = false

        func run() async throws {
            let listing = try await client.withRegistry { try await $0.gateways() }
            if json { return try printJSON(listing) }
            for line in Self.lines(listing) { print(line) }
        }

        static func lines(_ listing: GatewayListing) -> [String] {
            listing.gateways.map { g in
                let refused = g.refused.map { "  refused: \($0)" } ?? ""
                let rolledBack = g.rolledBack.map { "  rolled back: \($0)" } ?? ""
                return
                    "\(g.id)  scope \(g.scope)  assigned \(g.assigned ?? "rule")  active \(g.active ?? "-")\(refused)\(rolledBack)"
            }
        }
    }

    struct Monitor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A gateway's monitor windows, oldest first: what its model saw and said, window by window.")
        @OptionGroup var client: ServerClientOptions
        @Argument(help: "The gateway's id.") var gateway: String
        @Option(help: "Only windows ending after this time (ISO-8601 or Unix seconds).") var since: String?
        @Flag(help: "Print the server's JSON.") var json = false

        func validate() throws {
            if let since, TimeValue(text: since).seconds == nil {
                throw ValidationError("--since \(since): expected an ISO-8601 date-time or Unix seconds")
            }
        }

        func run() async throws {
            let listing = try await client.withRegistry { try await $0.monitor(gateway: gateway, since: since) }
            if json { return try printJSON(listing) }
            for line in Self.lines(listing) { print(line) }
        }

        /// A table for people: one row per window. Shares are percentages; `-` where the gateway had no figure.
        static func lines(_ listing: MonitorListing) -> [String] {
            guard !listing.windows.isEmpty else { return ["no monitor windows from \(listing.gateway)"] }
            let header = [
                "FROM", "SAMPLES", "MEAN P", "POSITIVE", "TRANSITIONS", "EXPECTED ACC", "REALISED ACC", "DRIFTED",
                "MISSING/STUCK",
            ]
            let rows = listing.windows.map { w in
                let drifted = (w.drift ?? [:]).filter(\.value.drifted).keys.sorted()
                let inputs = w.inputs.sorted { $0.key < $1.key }.compactMap { channel, input -> String? in
                    var parts: [String] = []
                    if input.missing > 0 { parts.append("missing \(percent(input.missing))") }
                    if input.stuck > 0 { parts.append("stuck \(percent(input.stuck))") }
                    return parts.isEmpty ? nil : "\(channel) \(parts.joined(separator: " "))"
                }
                let realised: String? = w.realised.map { r in percent(r.accuracy) + " (\(r.rows) rows)" }
                let expected = w.expectedAccuracy.map { e in
                    percent(e) + (w.bundleAccuracy.map { " (bundle \(percent($0)))" } ?? "")
                }
                return [
                    w.window.from.instant?.iso8601 ?? "-", String(w.window.samples),
                    w.predictions.meanProbability.map { String(format: "%.3f", $0) } ?? "-",
                    w.predictions.positiveRate.map(percent) ?? "-", String(w.predictions.transitions),
                    expected ?? "-", realised ?? "-",
                    drifted.isEmpty ? "-" : drifted.joined(separator: ","),
                    inputs.isEmpty ? "-" : inputs.joined(separator: ", "),
                ]
            }
            return table(header, rows)
        }

        static func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }
    }

    struct Alerts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the server's alerts, or acknowledge one.",
            subcommands: [List.self, Ack.self], defaultSubcommand: List.self)

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List alerts, oldest first: raised, cleared, acknowledged, and the numbers that raised them.")
            @OptionGroup var client: ServerClientOptions
            @Flag(help: "Only the alerts not yet cleared.") var open = false
            @Flag(help: "Print the server's JSON.") var json = false

            func run() async throws {
                let listing = try await client.withRegistry { try await $0.alerts(open: open) }
                if json { return try printJSON(listing) }
                for line in Self.lines(listing) { print(line) }
            }

            /// A table for people: one row per alert.
            static func lines(_ listing: AlertListing) -> [String] {
                guard !listing.alerts.isEmpty else { return ["no alerts"] }
                let header = ["ID", "KIND", "STATE", "SCOPE", "GATEWAY", "RAISED", "CLEARED", "ACKED", "MESSAGE"]
                let rows = listing.alerts.map { a in
                    [
                        String(a.id), a.kind, a.state, a.scope, a.gateway ?? "-", a.raisedAt, a.clearedAt ?? "-",
                        a.acknowledgedBy.map { "\($0) \(a.acknowledgedAt ?? "")" } ?? "-", a.message,
                    ]
                }
                return table(header, rows)
            }
        }

        struct Ack: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Acknowledge an alert: it stays listed (and open until its condition clears), marked as seen."
            )
            @OptionGroup var client: ServerClientOptions
            @Argument(help: "The alert's id (from `occupant server alerts`).") var id: Int
            @Option(help: "Who acknowledges (default: $USER, else admin).") var by: String?

            func run() async throws {
                let name = by ?? ProcessInfo.processInfo.environment["USER"] ?? "admin"
                let alert = try await client.withRegistry { try await $0.acknowledgeAlert(id, by: name) }
                print(
                    "alert \(alert.id) acknowledged by \(alert.acknowledgedBy ?? name) at \(alert.acknowledgedAt ?? "-")"
                )
            }
        }
    }

    struct Retrain: AsyncParsableCommand {
        /// The exit status when the job promoted no model (no labelled data, training refused, a job already running,
        /// or a challenger that did not beat the champion).
        static let noModelStatus: Int32 = ExitStatus.noBetterModel

        static let configuration = CommandConfiguration(
            abstract: "Retrain a scope now and apply the promotion rule.",
            discussion: """
                Prints one line: the new version and whether it was promoted, or why no model was trained.

                Exit status:
                  0 a model was trained and promoted
                  \(noModelStatus) no model was trained, or the new one was kept as challenger (not promoted)
                  1 the server could not be reached or refused the request
                  2 a bad argument or configuration
                """)
        @OptionGroup var client: ServerClientOptions
        @Option(help: "The scope to retrain.") var scope: String
        @Flag(help: "Print the server's JSON.") var json = false

        func run() async throws {
            let outcome = try await client.withRegistry { try await $0.retrain(scope: scope) }
            if json { try printJSON(outcome) } else { print(outcome.summary) }
            if Self.exitStatus(for: outcome) != 0 { throw ExitCode(Self.exitStatus(for: outcome)) }
        }

        /// 0 when a model was trained and promoted, else ``noModelStatus``.
        static func exitStatus(for outcome: RetrainOutcome) -> Int32 {
            outcome.trained && outcome.promoted ? 0 : noModelStatus
        }
    }

    struct Labels: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import ground-truth labels: CSV with gateway,from,to,occupied (or a JSON document).")
        @OptionGroup var client: ServerClientOptions
        @Argument(help: "The file to send.") var file: String

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw report(OccupantError(.io, "cannot read \(file)"))
            }
            let type = file.lowercased().hasSuffix(".json") ? "application/json" : "text/csv"
            let receipt = try await client.withRegistry { try await $0.importLabels([UInt8](data), contentType: type) }
            print("\(receipt.accepted) label ranges stored")
        }
    }

    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make a new random bearer token and print it with its SHA-256 (put the hash in the server config).")

        func run() throws {
            var bytes = [UInt8](repeating: 0, count: 24)
            for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
            let token = hexString(bytes)
            print("token:       \(token)")
            print("tokenSha256: \(tokenHash(token))")
        }
    }
}

/// `--url` and the admin token for commands that talk to a running server.
///
/// Without `--url` or `--config` the commands ask `http://127.0.0.1:8080` and say so on stderr, so a wrong guess is
/// visible; a server that does not answer fails within 3 seconds with one line naming the URL.
struct ServerClientOptions: ParsableArguments {
    @Option(
        help:
            "The server's base URL (default: from --config, else http://127.0.0.1:8080, which is then named on stderr)."
    )
    var url: String?
    @Option(help: "Server configuration file to take the URL from.")
    var config: String?
    @Option(help: "File holding the admin token (default: $OCCUPANT_ADMIN_TOKEN).")
    var adminTokenFile: String?

    /// The base URL, and whether it is the built-in default.
    func baseURL() throws -> (url: String, isDefault: Bool) {
        if let url { return (url.hasSuffix("/") ? String(url.dropLast()) : url, false) }
        if let config {
            do {
                return (try ServerConfig.load(path: config).baseURL, false)
            } catch {
                throw report(error)
            }
        }
        return (ServerConfig().baseURL, true)
    }

    func token() throws -> String {
        if let adminTokenFile {
            guard let text = try? String(contentsOfFile: adminTokenFile, encoding: .utf8) else {
                throw report(OccupantError(.io, "cannot read --admin-token-file \(adminTokenFile)"))
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let env = ProcessInfo.processInfo.environment["OCCUPANT_ADMIN_TOKEN"], !env.isEmpty { return env }
        throw report(OccupantError(.usage, "no admin token: give --admin-token-file or set OCCUPANT_ADMIN_TOKEN"))
    }

    /// Runs `body` against the server; a failed request exits 1 with one line naming the URL.
    func withRegistry<T: Sendable>(_ body: (RegistryClient) async throws -> T) async throws -> T {
        let (base, isDefault) = try baseURL()
        let token = try token()
        if isDefault { printError("occupant: no --url or --config given: asking \(base)") }
        do {
            return try await RegistryClient.with(baseURL: base, token: token) { client in try await body(client) }
        } catch let error as RegistryClientError {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.failure)
        }
    }
}

/// A fleet document as the server's JSON (keys sorted).
/// A plain-text table: columns padded to their widest cell (the last one left as it is), two spaces apart.
func table(_ header: [String], _ rows: [[String]]) -> [String] {
    let widths = header.indices.dropLast().map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
    return ([header] + rows).map { row in
        row.enumerated().map { i, cell in
            i < widths.count ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) : cell
        }.joined(separator: "  ")
    }
}

func printJSON(_ document: some Encodable) throws {
    print(try FleetJSON.text(document))
}
