import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import OccupantCore
import Server
import ServiceLifecycle

/// `occupant server …`: the training host and the commands an operator runs against it.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the training host, or ask a running one about its models and gateways.",
        subcommands: [Run.self, Models.self, Gateways.self, Retrain.self, Labels.self, Token.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Collect telemetry and labels, retrain, promote and deliver models.",
            discussion: """
                HTTP API on http.host:http.port, storage in <stateDirectory>/server.sqlite, signed bundles in \
                <stateDirectory>/artifacts. SIGTERM or SIGINT stop it cleanly.
                """)

        @Option(help: "Server configuration file (default: \(ServerConfig.defaultPath) if present, else built-in defaults).")
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
                var config = try ServerConfig.loadOrDefault(path: self.config)
                if let port { config.http.port = port }
                if let stateDirectory { config.stateDirectory = stateDirectory }
                runtime = try ServerRuntime(config: config, logger: logger)
            } catch {
                throw report(error)
            }
            logger.info(
                "occupant \(occupantVersion) server: state \(runtime.config.stateDirectory), \(runtime.config.gateways.count) gateways in \(runtime.config.scopes.count) scopes")
            try await runServices(runtime.services)
        }
    }

    struct Models: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the registry: versions, aliases, metrics, promotions.")
        @OptionGroup var client: ServerClientOptions
        @Option(help: "Only this scope.") var scope: String?
        @Flag(help: "Print the server's JSON.") var json = false

        func run() async throws {
            let query = scope.map { "?scope=\($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0)" } ?? ""
            let body = try await client.call("GET", "/v1/models\(query)")
            if json { return print(body) }
            guard let doc = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return print(body) }
            let models = doc["models"] as? [[String: Any]] ?? []
            if models.isEmpty { print("no models yet") }
            for m in models {
                let report = m["report"] as? [String: Any]
                let holdout = report?["holdout"] as? [String: Any]
                let challenger = holdout?["challenger"] as? [String: Any]
                let aliases = (m["aliases"] as? [String] ?? []).joined(separator: ",")
                print(String(
                    format: "%@ v%d  %@  %@  holdout accuracy %.4f on %d rows  data %@ … %@%@",
                    m["scope"] as? String ?? "?", m["version"] as? Int ?? 0, m["modelID"] as? String ?? "?",
                    String((m["sha256"] as? String ?? "").prefix(12)), challenger?["accuracy"] as? Double ?? .nan,
                    challenger?["rows"] as? Int ?? 0, m["dataFrom"] as? String ?? "?", m["dataTo"] as? String ?? "?",
                    aliases.isEmpty ? "" : "  [\(aliases)]"))
            }
            for p in doc["promotions"] as? [[String: Any]] ?? [] {
                print("\(p["at"] as? String ?? "?")  \(p["scope"] as? String ?? "?") v\(p["challenger"] as? Int ?? 0) \((p["promoted"] as? Bool ?? false) ? "promoted" : "not promoted"): \(p["reason"] as? String ?? "")")
            }
            for a in doc["alerts"] as? [[String: Any]] ?? [] {
                print("ALERT \(a["at"] as? String ?? "?")  \(a["message"] as? String ?? "")")
            }
        }
    }

    struct Gateways: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Which model each gateway should run, and which it reports running.")
        @OptionGroup var client: ServerClientOptions
        @Flag(help: "Print the server's JSON.") var json = false

        func run() async throws {
            let body = try await client.call("GET", "/v1/gateways")
            if json { return print(body) }
            guard let doc = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return print(body) }
            for g in doc["gateways"] as? [[String: Any]] ?? [] {
                let refused = (g["refused"] as? String).map { "  refused: \($0)" } ?? ""
                print("\(g["id"] as? String ?? "?")  scope \(g["scope"] as? String ?? "?")  assigned \(g["assigned"] as? String ?? "rule")  active \(g["active"] as? String ?? "-")\(refused)")
            }
        }
    }

    struct Retrain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Retrain a scope now and apply the promotion rule.")
        @OptionGroup var client: ServerClientOptions
        @Option(help: "The scope to retrain.") var scope: String

        func run() async throws {
            print(try await client.call("POST", "/v1/scopes/\(scope)/retrain", timeout: 3600))
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
            print(try await client.call("POST", "/v1/labels", body: [UInt8](data), contentType: type))
        }
    }

    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new random bearer token and print it with its SHA-256 (put the hash in the server config).")

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
struct ServerClientOptions: ParsableArguments {
    @Option(help: "The server's base URL (default: from --config, else http://127.0.0.1:8080).")
    var url: String?
    @Option(help: "Server configuration file to take the URL from.")
    var config: String?
    @Option(help: "File holding the admin token (default: $OCCUPANT_ADMIN_TOKEN).")
    var adminTokenFile: String?

    func baseURL() throws -> String {
        if let url { return url.hasSuffix("/") ? String(url.dropLast()) : url }
        if let config {
            do {
                return try ServerConfig.load(path: config).baseURL
            } catch {
                throw report(error)
            }
        }
        return ServerConfig().baseURL
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

    /// The response body; a non-2xx answer exits 1 with the server's reason.
    func call(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String? = nil, timeout: Int64 = 30) async throws -> String {
        let base = try baseURL()
        var request = HTTPClientRequest(url: base + path)
        request.method = .init(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(try token())")
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: contentType ?? "application/octet-stream")
        }
        let client = HTTPClient.shared
        let response: HTTPClientResponse
        let text: String
        do {
            response = try await client.execute(request, timeout: .seconds(timeout))
            text = String(buffer: try await response.body.collect(upTo: 64 << 20))
        } catch {
            throw report(OccupantError(.io, "cannot reach the server at \(base): \(error)"))
        }
        guard (200..<300).contains(response.status.code) else {
            let reason = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["error"] as? String ?? text
            throw report(OccupantError(.io, "server answered \(response.status.code): \(reason)"))
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
