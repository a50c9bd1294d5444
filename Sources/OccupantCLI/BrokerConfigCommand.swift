import ArgumentParser
import FleetProtocol
import Foundation
import GatewayDaemon
import OccupantCore
import Server

extension ServerCommand {
    /// `occupant server broker-config`: the mosquitto password file, ACL and configuration lines for the fleet.
    struct BrokerConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "broker-config",
            abstract: "Write the mosquitto password file, ACL and mosquitto.conf lines for the configured gateways.",
            discussion: """
                Each gateway's MQTT username is its id and its password its HTTP bearer token (the gateway sets \
                broker.username to its id and broker.passwordFile to its token file). A gateway may write only \
                <prefix>/<id>/… and its own Home Assistant discovery, and read only its own model/available. The \
                server's account is broker.username / broker.password from its configuration. Tokens come from \
                `token:` in the configuration, else from --tokens DIR/<id>.token, else the gateway's line is kept \
                from an existing DIR/passwords. Files are written 0640 (chown them to the broker's group).
                """)

        @Option(
            help: "Server configuration file (default: \(ServerConfig.defaultPath) if present, else built-in defaults)."
        )
        var config: String?
        @Option(help: "Folder to write passwords, acl and mosquitto.conf into (created 0750).")
        var out: String
        @Option(help: "Folder of <gateway-id>.token files, for gateways configured with tokenSha256 only.")
        var tokens: String?
        @Option(help: "Where the broker reads the files, written into mosquitto.conf (default: --out, absolute).")
        var brokerDirectory: String?
        @Option(help: "Home Assistant discovery prefix the gateways publish under.")
        var discoveryPrefix: String = GatewayTopics.defaultDiscoveryPrefix
        @Option(help: "Add a read-only account with this username (Home Assistant, occupant watch).")
        var viewer: String?
        @Option(help: "File holding the viewer's password.")
        var viewerPasswordFile: String?

        func validate() throws {
            if (viewer == nil) != (viewerPasswordFile == nil) {
                throw ValidationError("--viewer and --viewer-password-file go together")
            }
        }

        func run() throws {
            do {
                let config = try ServerConfig.loadOrDefault(path: self.config)
                let directory = brokerDirectory ?? absolute(out)
                var tokenMap: [String: String] = [:]
                if let tokens {
                    for gateway in config.gateways where gateway.token == nil {
                        let file = tokens + "/" + gateway.id + ".token"
                        if FileManager.default.fileExists(atPath: file) { tokenMap[gateway.id] = try secret(file) }
                    }
                }
                let existing = (try? String(contentsOfFile: out + "/" + BrokerFiles.passwordsFileName, encoding: .utf8))
                let viewer = try self.viewer.map {
                    BrokerFiles.Viewer(username: $0, password: try secret(viewerPasswordFile!))
                }
                let files = try BrokerFiles.make(
                    config: config, tokens: tokenMap, kept: existing.map(BrokerFiles.passwordLines) ?? [:],
                    viewer: viewer, discoveryPrefix: discoveryPrefix, directory: directory)
                try files.write(to: out)
                for name in [BrokerFiles.passwordsFileName, BrokerFiles.aclFileName, BrokerFiles.confFileName] {
                    print("wrote \(out)/\(name)")
                }
                print(
                    "\(config.gateways.count) gateways, the server account '\(config.broker?.username ?? "")'\(viewer.map { ", viewer '\($0.username)'" } ?? "")"
                )
            } catch {
                throw report(error)
            }
        }

        private func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        }

        private func secret(_ file: String) throws(OccupantError) -> String {
            do {
                return try LocalFileSystem().readText(file).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw OccupantError(.configuration, "cannot read \(file): \(error.fileReason)")
            }
        }
    }
}
