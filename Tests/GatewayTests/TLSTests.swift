import Foundation
import OccupantTesting
import Testing

/// MQTT over TLS against a real mosquitto with certificates made by openssl for the test.
@Suite(.serialized) struct TLSTests {
    @Test func gatewayPublishesOverTLSAndRefusesAnUnknownCA() async throws {
        let dir = try temporaryDirectory("tls")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        try makeTestCertificates(dir)
        let path = { (name: String) in dir.appendingPathComponent(name).path }
        let broker = try await MosquittoBroker(
            tls: .init(caFile: path("ca.crt"), certFile: path("server.crt"), keyFile: path("server.key")))

        func config(ca: String, id: String) throws -> String {
            let file = path("\(id).yaml")
            try """
            gatewayId: \(id)
            simulate: { scenario: day, speed: 60 }
            broker: { host: 127.0.0.1, port: \(broker.port), tls: { caFile: \(ca) }, connectTimeout: 2s }
            """.write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
        let good = try ChildProcess(["gateway", "run", "--config", try config(ca: path("ca.crt"), id: "tls-good")])
        defer { good.signal(SIGKILL) }
        let bad = try ChildProcess(["gateway", "run", "--config", try config(ca: path("other.crt"), id: "tls-bad")])
        defer { bad.signal(SIGKILL) }
        _ = try await waitUntil(timeout: 20, "TLS connection") {
            good.stderr.contains("connected to MQTT broker") ? true : nil
        }
        _ = try await waitUntil(timeout: 20, "the bad CA reported") { bad.stderr.contains("unreachable") ? true : nil }
        #expect(!bad.stderr.contains("connected to MQTT broker"))
        #expect(bad.isRunning) // still deciding without a broker
    }
}
