import FleetProtocol
import Foundation
import OccupantTesting
import Testing

@testable import Gateway

/// How a gateway logs in to the broker: with a training host and no `broker.username`, as its id with its server
/// token (the account `occupant server broker-config` makes); explicit settings win.
@Suite struct BrokerLoginTests {
    let topics = GatewayTopics(prefix: "occupant", gatewayID: "kitchen")

    @Test func withATrainingHostTheGatewayLogsInAsItsIdWithItsToken() throws {
        let dir = try temporaryDirectory("broker-login")
        let tokenFile = dir.appendingPathComponent("token").path
        try "token-k\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile)
        let config = try GatewayConfig.parse(
            yaml: """
                gatewayId: kitchen
                server: { url: "http://127.0.0.1:8080", tokenFile: \(tokenFile) }
                """)
        let options = try GatewayRuntime.mqttOptions(config, topics: topics)
        #expect(options.username == "kitchen")
        #expect(options.password == "token-k")
    }

    @Test func explicitCredentialsWinAndNoServerMeansAnonymous() throws {
        let explicit = try GatewayConfig.parse(
            yaml: """
                gatewayId: kitchen
                broker: { username: other, password: pw }
                server: { url: "http://127.0.0.1:8080", token: token-k }
                """)
        let options = try GatewayRuntime.mqttOptions(explicit, topics: topics)
        #expect(options.username == "other")
        #expect(options.password == "pw")
        let alone = try GatewayRuntime.mqttOptions(try GatewayConfig.parse(yaml: "gatewayId: kitchen"), topics: topics)
        #expect(alone.username == nil)
        #expect(alone.password == nil)
    }
}
