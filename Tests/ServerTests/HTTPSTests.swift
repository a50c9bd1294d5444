import AsyncHTTPClient
import Foundation
import NIOSSL
import OccupantTesting
import Testing

/// The training host over HTTPS (certificates made by openssl for the test), and a gateway that trusts only that CA.
@Suite(.serialized) struct HTTPSTests {
    @Test func gatewayUploadsOverHTTPSToAServerWithAPrivateCA() async throws {
        let h = try await ServerHarness(name: "https", tls: true)
        try await h.start()
        #expect(h.base.hasPrefix("https://"))
        // A client that does not trust the private CA cannot talk to it.
        await #expect(throws: (any Error).self) {
            _ = try await HTTPClient.shared.execute(HTTPClientRequest(url: h.base + "/health"), timeout: .seconds(10))
        }

        // TLS 1.0 and 1.1 are refused, even by a client that trusts the CA.
        var old = TLSConfiguration.makeClientConfiguration()
        old.trustRoots = .file(h.dir.appendingPathComponent("ca.crt").path)
        old.maximumTLSVersion = .tlsv11
        let oldClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: old))
        await #expect(throws: (any Error).self) {
            _ = try await oldClient.execute(HTTPClientRequest(url: h.base + "/health"), timeout: .seconds(10))
        }
        try await oldClient.shutdown()
        #expect(try await h.request("GET", "/health").status == 200)

        let config = h.dir.appendingPathComponent("gw-a.yaml").path
        try """
        gatewayId: gw-a
        simulate: { scenario: day, speed: 600 }
        broker: { port: \(h.broker.port) }
        stateDirectory: \(h.dir.path)/gw-a
        server: { url: "\(h.base)", token: token-a, caFile: \(h.dir.path)/ca.crt, uploadInterval: 1s }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let gateway = try ChildProcess(["gateway", "run", "--config", config])
        defer { gateway.signal(SIGKILL) }
        _ = try await waitUntil(timeout: 60, "telemetry over HTTPS (\(gateway.stderr.suffix(500)))") {
            (try await h.stats()["telemetryRows"] ?? 0) > 0 ? true : nil
        }
    }

    @Test func caFileNeedsAnHTTPSURL() async throws {
        let dir = try temporaryDirectory("https-config")
        let config = dir.appendingPathComponent("g.yaml").path
        try "simulate: day\nserver: { url: \"http://127.0.0.1:9\", token: t, caFile: /x.crt }\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let result = try await ChildProcess.run(["gateway", "run", "--config", config])
        #expect(result.status == 2)
        #expect(result.stderr.contains("server.caFile: caFile is for an https:// url"), "\(result.stderr)")
    }
}
