import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Gateway

/// The gateway's libcurl uplink (issue 16): a cancelled task stops its transfer, a server that never answers fails at
/// the time limit, a certificate from another CA fails the handshake, and an `http://` URL still works when a CA is
/// configured. Every failure is one line.
@Suite(.serialized) struct UplinkTests {
    @Test(.timeLimit(.minutes(1))) func cancellingTheTaskStopsADownloadMidBody() async throws {
        let host = try await TestTrainingHost(gatewayID: "gw-cancel")
        let bundle = [UInt8](repeating: 7, count: 100_000)
        host.serve(bundle)
        // The body stops after 1,000 bytes and never ends (until the host stops): without the cancellation the
        // transfer would wait forever (it has no limits).
        host.stallNextDownload(after: 1000)
        let client = ServerClient(baseURL: host.url, gatewayID: "gw-cancel", token: "gw-token")
        let (firstBytes, signal) = AsyncStream.makeStream(of: Int.self)
        let received = Counter()
        let download = Task {
            try await client.uplink.perform(client.request(client.modelURL), limits: TransferLimits()) { head in
                #expect(head.status == 200)
                return .stream { chunk in
                    signal.yield(received.add(chunk.count))
                }
            }
        }
        for await _ in firstBytes { break }
        download.cancel()
        let result = await download.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(received.value < bundle.count)
        await host.stop()
    }

    @Test(.timeLimit(.minutes(1))) func aServerThatNeverAnswersHitsTheTimeLimitWithOneLine() async throws {
        let silent = try SilentListener()
        let client = ServerClient(baseURL: "http://127.0.0.1:\(silent.port)", gatewayID: "gw-a", token: "t")
        let error = await #expect(throws: TransferError.self) {
            _ = try await client.postTelemetry(Array("{}\n".utf8), batchID: "b-1", timeout: 1)
        }
        let line = describeHTTPError(try #require(error))
        #expect(line == "no complete answer within 1 s", "\(line)")
    }

    @Test(.timeLimit(.minutes(1))) func aCertificateFromAnotherCAFailsWithOneTLSLine() async throws {
        let serverDir = try temporaryDirectory("uplink-ca-server")
        let otherDir = try temporaryDirectory("uplink-ca-other")
        try makeTestCertificates(serverDir)
        try makeTestCertificates(otherDir)
        let server = try await OpenSSLServer(dir: serverDir, version: "-tls1_2")
        // The control: trusting the server's own CA gets through.
        let trusting = try GatewayRuntime.uplink(trusting: serverDir.appendingPathComponent("ca.crt").path)
        #expect(try await trusting.get(server.url).status == 200)

        let pinned = try GatewayRuntime.uplink(trusting: otherDir.appendingPathComponent("ca.crt").path)
        let error = await #expect(throws: TransferError.self) { _ = try await pinned.get(server.url) }
        let line = describeHTTPError(try #require(error))
        #expect(!line.contains("\n") && !line.isEmpty, "\(line)")
        #expect(line.contains("SSL") && line.contains("certificate"), "\(line)")
    }

    @Test func anUnreadableCAFileIsAConfigurationError() {
        #expect(throws: OccupantError(.configuration, "server.caFile: cannot read /nonexistent/ca.crt")) {
            _ = try GatewayRuntime.uplink(trusting: "/nonexistent/ca.crt")
        }
    }

    @Test(.timeLimit(.minutes(1))) func aPlainHTTPURLWorksWhenACAIsConfigured() async throws {
        let dir = try temporaryDirectory("uplink-plain")
        try makeTestCertificates(dir)
        let host = try await TestTrainingHost(gatewayID: "gw-plain")
        let bundle = [UInt8](repeating: 1, count: 5000)
        host.serve(bundle)
        let uplink = try GatewayRuntime.uplink(trusting: dir.appendingPathComponent("ca.crt").path)
        let client = ServerClient(baseURL: host.url, gatewayID: "gw-plain", token: "gw-token", uplink: uplink)
        let answer = try await uplink.perform(client.request(client.modelURL), limits: .init(total: 10)) { _ in
            .collect(upTo: 1 << 20)
        }
        #expect(answer.status == 200 && answer.body == bundle)
        // The same handle again: the connection is reused, the answer the same.
        let again = try await uplink.perform(client.request(client.modelURL), limits: .init(total: 10)) { _ in
            .collect(upTo: 1 << 20)
        }
        #expect(again.status == 200 && again.body == bundle)
        await host.stop()
    }

    @Test func gzipBodiesRoundTripThroughZlib() throws {
        let text = Array(String(repeating: "{\"t\":1,\"co2\":612.5}\n", count: 200).utf8)
        let packed = try gzipped(text)
        #expect(packed.count < text.count / 4 && packed.prefix(2) == [0x1f, 0x8b])
        let dir = try temporaryDirectory("uplink-gzip")
        let file = dir.appendingPathComponent("body.gz")
        try Data(packed).write(to: file)
        let (status, unpacked) = try runTool("gzip", ["-dc", file.path])
        #expect(status == 0 && Array(unpacked) == text)
    }
}

/// A thread-safe byte count.
private final class Counter: Sendable {
    private let count = Locked(0)
    func add(_ n: Int) -> Int {
        count.withLock {
            $0 += n
            return $0
        }
    }
    var value: Int { count.withLock { $0 } }
}

/// A loopback port that listens but never accepts: connections complete (the kernel's backlog), no answer comes.
private final class SilentListener: Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
