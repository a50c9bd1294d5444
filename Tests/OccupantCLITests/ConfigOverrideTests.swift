import Foundation
import OccupantTesting
import Testing

@testable import OccupantCLI

/// Flags override the configuration file, key by key; what no flag names keeps the file's value.
@Suite struct ConfigOverrideTests {
    private func write(_ text: String, name: String) throws -> String {
        let dir = try temporaryDirectory("occupant-cli")
        let path = dir.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func gatewayFlagsOverrideTheFile() throws {
        let path = try write(
            """
            gatewayId: lobby-1
            profile: thermostat-mcu
            simulate: { scenario: day, speed: 60, seed: 7 }
            broker: { host: broker.lan, port: 1883 }
            """, name: "gateway.yaml")
        let parsed = try OccupantCommand.parseAsRoot([
            "gateway", "run", "--config", path, "--broker", "127.0.0.1:18830", "--speed", "5",
        ])
        let config = try #require(parsed as? GatewayRunCommand).resolvedConfig()
        #expect(config.broker.host == "127.0.0.1")
        #expect(config.broker.port == 18830)
        #expect(config.gatewayID == "lobby-1")
        #expect(config.profile == "thermostat-mcu")
        guard case .simulated(let scenario, let speed, let seed) = config.source else {
            Issue.record("the file's simulate was lost: \(config.source)")
            return
        }
        #expect(scenario == "day")
        #expect(speed == 5)
        #expect(seed == 7)
    }

    @Test func serverFlagsOverrideTheFile() throws {
        let path = try write(
            """
            stateDirectory: /var/lib/from-file
            http:
              port: 8080
            """, name: "server.yaml")
        let parsed = try OccupantCommand.parseAsRoot(["server", "run", "--config", path, "--port", "0"])
        let config = try #require(parsed as? ServerCommand.Run).resolvedConfig()
        #expect(config.http.port == 0)
        #expect(config.stateDirectory == "/var/lib/from-file")
    }
}
