import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Testing

@testable import Gateway

/// Token and key files open to other users are refused; a plain-http server on another host is warned about once
/// (issue 11).
@Suite struct SecretFileTests {
    func config(_ yaml: String) throws -> GatewayConfig {
        var config = try GatewayConfig.parse(yaml: "simulate: day\n" + yaml)
        config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
        config.stateDirectory = try temporaryDirectory("secret-files").appendingPathComponent("state").path
        return config
    }

    func secret(_ name: String, mode: Int) throws -> String {
        let path = try temporaryDirectory("secret").appendingPathComponent(name).path
        try "s3cret-value\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    func refusal(_ config: GatewayConfig) -> String? {
        do {
            _ = try GatewayRuntime(config: config, logger: testLogger())
            return nil
        } catch let error as OccupantError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: [0o644, 0o604, 0o666, 0o602])
    func aTokenFileOthersCanReadIsRefused(mode: Int) throws {
        let token = try secret("token", mode: mode)
        let message = refusal(try config("server: { url: 'http://127.0.0.1:9', tokenFile: \(token) }"))
        #expect(
            message
                == "server.tokenFile: \(token) is open to other users (mode \(String(mode, radix: 8))); run chmod 600 \(token)"
        )
        #expect(message?.contains("s3cret") == false)
    }

    @Test(arguments: [0o600, 0o640, 0o400])
    func aPrivateTokenFileIsRead(mode: Int) throws {
        let token = try secret("token", mode: mode)
        let config = try config("server: { url: 'http://127.0.0.1:9', tokenFile: \(token) }")
        #expect(refusal(config) == nil)
        #expect(try GatewayRuntime.token(try #require(config.server)) == "s3cret-value")
    }

    @Test func aBrokerKeyFileOthersCanReadIsRefused() throws {
        let key = try secret("gw.key", mode: 0o644)
        let ca = try secret("ca.pem", mode: 0o644)
        let yaml = "broker: { tls: { caFile: \(ca), certFile: \(ca), keyFile: \(key) } }"
        #expect(
            refusal(try config(yaml))
                == "broker.tls.keyFile: \(key) is open to other users (mode 644); run chmod 600 \(key)")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
        #expect(refusal(try config(yaml)) == nil)
    }

    @Test(arguments: [
        ("http://trainer.example:8080", true), ("http://10.0.0.5", true), ("http://[fe80::1]:80", true),
        ("http://127.0.0.1:8080", false), ("http://localhost:8080", false), ("http://[::1]:8080", false),
        ("https://trainer.example", false),
    ])
    func plainHTTPToAnotherHostIsWarnedOnce(url: String, warned: Bool) throws {
        let log = RecordedLog()
        _ = try GatewayRuntime(config: try config("server: { url: '\(url)', token: t0ken }"), logger: log.logger)
        let warnings = log.lines.filter { $0.level == .warning && $0.text.contains("plain http://") }
        #expect(warnings.count == (warned ? 1 : 0), "\(log.lines)")
        #expect(!log.lines.contains { $0.text.contains("t0ken") })
    }
}
