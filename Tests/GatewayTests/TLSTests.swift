import Foundation
import OccupantTesting
import Testing

/// MQTT over TLS against a real mosquitto with certificates made by openssl for the test.
@Suite(.serialized) struct TLSTests {
    func openssl(_ arguments: [String], in dir: URL) throws {
        let p = Process()
        p.executableURL = try locateExecutable("openssl")
        p.arguments = arguments
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw HarnessError("openssl \(arguments.joined(separator: " ")) failed") }
    }

    /// A CA and a server certificate for 127.0.0.1, plus an unrelated CA.
    func makeCertificates(_ dir: URL) throws {
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Occupant Test CA",
                     "-keyout", "ca.key", "-out", "ca.crt"], in: dir)
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr"], in: dir)
        try "subjectAltName=IP:127.0.0.1\n".write(to: dir.appendingPathComponent("san.ext"), atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                     "-extfile", "san.ext", "-out", "server.crt"], in: dir)
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Someone Else",
                     "-keyout", "other.key", "-out", "other.crt"], in: dir)
        for file in ["ca.crt", "server.crt", "server.key", "other.crt"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir.appendingPathComponent(file).path)
        }
    }

    @Test func gatewayPublishesOverTLSAndRefusesAnUnknownCA() async throws {
        let dir = try temporaryDirectory("tls")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        try makeCertificates(dir)
        let path = { (name: String) in dir.appendingPathComponent(name).path }
        let broker = try await MosquittoBroker(tls: .init(caFile: path("ca.crt"), certFile: path("server.crt"), keyFile: path("server.key")))

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
        _ = try await waitUntil(timeout: 20, "TLS connection") { good.stderr.contains("connected to MQTT broker") ? true : nil }
        _ = try await waitUntil(timeout: 20, "the bad CA reported") { bad.stderr.contains("unreachable") ? true : nil }
        #expect(!bad.stderr.contains("connected to MQTT broker"))
        #expect(bad.isRunning)  // still deciding without a broker
    }
}
