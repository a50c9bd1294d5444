import AsyncHTTPClient
import Evaluator
import Foundation
import NIOCore
import NIOSSL
import OccupantCore
import OccupantTesting
import Server
import Testing

/// Issue 11's attacks on the HTTP side, against a real `occupant server run` on loopback: idle sockets, stalled
/// uploads, guessed tokens, old TLS versions and world-readable keys.
@Suite(.serialized) struct HTTPLimitsTests {
    @Test func twoThousandIdleSocketsNeitherExhaustTheServerNorLockAGatewayOut() async throws {
        let h = try await ServerHarness(name: "idle-sockets", http: ", idleTimeout: 3s")
        // The default file limit the review attacked (1,010 idle sockets made the server unreachable).
        try await h.start(fileLimit: 1024)
        let server = try #require(h.process)
        #expect(server.stderr.contains("at most 768 connections"), "\(server.stderr)")

        let sockets = try IdleSockets.start(port: h.port, count: 2000, seconds: 150)
        defer { sockets.signal(SIGKILL) }
        try await waitUntil(timeout: 30, "2000 idle sockets (\(sockets.stderr))") {
            sockets.stdout.hasPrefix("opened 2000") ? true : nil
        }
        try await waitUntil(timeout: 60, "the connection-limit log line (\(server.stderr.suffix(1000)))") {
            server.stderr.contains("connection limit reached") ? true : nil
        }
        // A gateway's upload still gets through: its connection waits its turn while idle ones are closed.
        let (rows, _) = simulatedDays(0..<1, gateway: "gw-a")
        let (status, receipt) = try await h.json(
            "POST", "/v1/gateways/gw-a/telemetry", token: "token-a", body: ndjson(rows))
        #expect(status == 200, "\(receipt) \(server.stderr.suffix(1000))")
        #expect(receipt["accepted"] as? Int == rows.count)
        // Idle sockets are closed by the server (an orderly EOF), at least the first full set of connections.
        try await waitUntil(timeout: 120, "the server closing 768 idle sockets (\(IdleSockets.progress(sockets)))") {
            IdleSockets.progress(sockets).eof >= 768 ? true : nil
        }
        #expect(server.isRunning)
        #expect(!server.stderr.contains("Too many open files"), "\(server.stderr.suffix(1000))")
        // Said once, not once per refused connection.
        #expect(server.stderr.components(separatedBy: "connection limit reached").count == 2, "\(server.stderr)")
    }

    @Test func stalledUploadsWithOneTokenAreCappedAndMemoryStaysBounded() async throws {
        // uploadsPerToken defaults to 4; the harness sets intake.maxBodyBytes to 4,000,000.
        let h = try await ServerHarness(name: "stalled-uploads", http: ", idleTimeout: 120s")
        try await h.start()
        let server = try #require(h.process)
        let before = try #require(residentBytes(pid: server.pid))

        // 60 uploads that announce 4,000,000 bytes, send 3 MiB and stall.
        let stalled = RawSockets()
        try stalled.open(60, port: h.port)
        let head = """
            POST /v1/gateways/gw-a/telemetry HTTP/1.1\r
            Host: 127.0.0.1\r
            Authorization: Bearer token-a\r
            Content-Type: application/x-ndjson\r
            Content-Length: 4000000\r
            \r

            """
        let part = Array(head.utf8) + [UInt8](repeating: UInt8(ascii: " "), count: 3 << 20)
        let sent = try await offPool { stalled.send(part, seconds: 30) }
        // 180 MiB went out; the server holds at most the four bodies in progress.
        let after = try #require(residentBytes(pid: server.pid))
        #expect(sent > 150 << 20, "sent \(sent) bytes")
        #expect(after - before < 64 << 20, "RSS \(before) → \(after) bytes")

        // The same token now gets 429 at once, naming the setting; another gateway is not affected.
        let (rows, _) = simulatedDays(0..<1, gateway: "gw-a", step: 600)
        let refused = try await waitUntil(timeout: 30, "a 429 for a fifth upload with token-a") {
            let r = try await h.json("POST", "/v1/gateways/gw-a/telemetry", token: "token-a", body: ndjson(rows))
            return r.0 == 429 ? r.1 : nil
        }
        #expect((refused["error"] as? String)?.contains("4 uploads in progress (http.uploadsPerToken)") == true)
        let (rowsB, _) = simulatedDays(0..<1, gateway: "gw-b", step: 600)
        let (status, _) = try await h.json(
            "POST", "/v1/gateways/gw-b/telemetry", token: "token-b", body: ndjson(rowsB))
        #expect(status == 200)

    }

    @Test func refusedTokensAreLoggedRateLimitedAndNeverInClear() async throws {
        let h = try await ServerHarness(name: "refused-logins")
        try await h.start()
        let server = try #require(h.process)
        for _ in 0..<5 {
            #expect(try await h.request("GET", "/v1/gateways/gw-a/model", token: "guess-0123456789").status == 401)
        }
        try await waitUntil(timeout: 10, "a refused-token log line") {
            server.stderr.contains("refused: GET /v1/gateways/gw-a/model with an unknown token") ? true : nil
        }
        // Five attempts inside the rate-limit window: one line.
        #expect(server.stderr.components(separatedBy: "refused:").count == 2, "\(server.stderr)")
        #expect(!server.stderr.contains("guess-0123456789"))
    }

    @Test func worldReadableKeysAreRefusedAtStart() async throws {
        let dir = try temporaryDirectory("readable-keys")
        _ = try SigningKeys.save(SigningKeys.generate(), prefix: dir.appendingPathComponent("signer").path)
        let signer = dir.appendingPathComponent("signer.key").path
        let config = dir.appendingPathComponent("server.yaml").path
        try """
        stateDirectory: \(dir.path)/state
        http: { port: 0 }
        broker: { enabled: false }
        signingKey: \(signer)
        adminToken: admin-token
        """.write(toFile: config, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: signer)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: config)
        let result = try await ChildProcess.run(["server", "run", "--config", config], timeout: 30)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(
            result.stderr.contains("signingKey: \(signer) is open to other users (mode 644); run chmod 600 \(signer)"),
            "\(result.stderr)")
        // The configuration file holds a clear token and is world-readable: a warning, not a refusal.
        #expect(result.stderr.contains("holds tokens or passwords and is readable by every user"), "\(result.stderr)")

        // The TLS key likewise.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: signer)
        try makeTestCertificates(dir)
        try """
        stateDirectory: \(dir.path)/state
        http: { port: 0, tls: { certFile: \(dir.path)/server.crt, keyFile: \(dir.path)/server.key } }
        broker: { enabled: false }
        adminTokenSha256: \(tokenHash("admin-token"))
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let tls = try await ChildProcess.run(["server", "run", "--config", config], timeout: 30)
        #expect(tls.status == 2, "\(tls.stderr)")
        #expect(tls.stderr.contains("http.tls.keyFile: \(dir.path)/server.key is open to other users"))
        #expect(!tls.stderr.contains("holds tokens or passwords"), "\(tls.stderr)")
    }
}

extension HTTPLimitsTests {
    @Test func plainHTTPOnANetworkAddressIsWarnedAbout() async throws {
        let dir = try temporaryDirectory("plain-http")
        let config = dir.appendingPathComponent("server.yaml").path
        try """
        stateDirectory: \(dir.path)/state
        http: { host: 0.0.0.0, port: 0 }
        broker: { enabled: false }
        adminTokenSha256: \(tokenHash("admin-token"))
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ChildProcess(["server", "run", "--config", config])
        defer { server.signal(SIGKILL) }
        try await waitUntil(timeout: 30, "the server listening (\(server.stderr))") {
            server.stderr.contains("listening on http://0.0.0.0:") ? true : nil
        }
        #expect(server.stderr.contains("http.host 0.0.0.0 serves plain HTTP"), "\(server.stderr)")
        server.signal(SIGTERM)
        #expect(try await server.wait() == 0)
    }
}

extension HTTPLimitsTests {
    @Test func aDrippingUploadIsCutAtTheBodyDeadlineAndFreesItsSlot() async throws {
        let h = try await ServerHarness(
            name: "dripping-upload", http: ", idleTimeout: 60s, bodyTimeout: 2s, uploadsPerToken: 1")
        try await h.start()
        let dripping = RawSockets()
        try dripping.open(1, port: h.port)
        let head = """
            POST /v1/gateways/gw-a/telemetry HTTP/1.1\r
            Host: 127.0.0.1\r
            Authorization: Bearer token-a\r
            Content-Length: 100000\r
            \r

            """
        // A byte every 100 ms keeps the idle timeout away; only the body deadline ends it.
        let closed = try await offPool { dripping.drip(Array(head.utf8), interval: 0.1, seconds: 60) }
        #expect(closed, "the server kept a dripping upload open for 60 s")
        // Its slot is free again, and nothing of the cut body was stored.
        let (rows, _) = simulatedDays(0..<1, gateway: "gw-a", step: 600)
        let (status, receipt) = try await h.json(
            "POST", "/v1/gateways/gw-a/telemetry", token: "token-a", body: ndjson(rows))
        #expect(status == 200, "\(receipt)")
        #expect(try await h.stats()["telemetryRows"] == rows.count)
    }
}
