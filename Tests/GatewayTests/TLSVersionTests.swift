import AsyncHTTPClient
import Foundation
import NIOSSL
import OccupantTesting
import Testing

@testable import Gateway

/// The gateway's HTTP client refuses TLS 1.0 and 1.1 (issue 11): against an `openssl s_server` that speaks only
/// TLS 1.1 it fails, while a client with the library defaults (which allow 1.1) gets through the same server.
@Suite(.serialized) struct TLSVersionTests {
    @Test func theGatewayClientRefusesTLS11() async throws {
        let dir = try temporaryDirectory("tls-version")
        try makeTestCertificates(dir)
        let ca = dir.appendingPathComponent("ca.crt").path
        let tls11 = try await OpenSSLServer(dir: dir, version: "-tls1_1")
        let tls12 = try await OpenSSLServer(dir: dir, version: "-tls1_2")

        let gateway = try GatewayRuntime.uplink(trusting: ca)
        // The control: the library's defaults accept the TLS 1.1 server, so the gateway's refusal is its minimum's.
        var defaults = TLSConfiguration.makeClientConfiguration()
        defaults.trustRoots = .file(ca)
        let lax = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: defaults))
        var failure: (any Error)?
        do {
            await #expect(throws: TransferError.self) { _ = try await gateway.get(tls11.url) }
            #expect(try await gateway.get(tls12.url).status == 200)
            #expect(try await lax.execute(HTTPClientRequest(url: tls11.url), timeout: .seconds(10)).status == .ok)
        } catch {
            failure = error
        }
        try await lax.shutdown()
        if let failure { throw failure }
    }
}

extension Uplink {
    /// A plain GET with a 10 s limit, the body collected.
    func get(_ url: String, limits: TransferLimits = .init(total: 10)) async throws -> HTTPAnswer {
        let request = HTTPRequest(url: url, headers: [], body: nil)
        return try await perform(request, limits: limits) { _ in .collect(upTo: 1 << 20) }
    }
}

/// `openssl s_server -www` on a free loopback port, limited to one TLS version.
final class OpenSSLServer: Sendable {
    let process: Process
    let url: String

    init(dir: URL, version: String) async throws {
        let port = try freeLoopbackPort()
        let p = Process()
        p.executableURL = try locateExecutable("openssl")
        p.currentDirectoryURL = dir
        p.arguments = [
            "s_server", "-accept", "127.0.0.1:\(port)", "-cert", "server.crt", "-key", "server.key", "-www", version,
            "-cipher", "DEFAULT:@SECLEVEL=0",
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
        url = "https://127.0.0.1:\(port)/"
        try await waitUntil(timeout: 20, "openssl s_server on port \(port)") { canConnect(port: port) ? true : nil }
    }

    deinit {
        // s_server does not stop on SIGTERM while it waits for a connection.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Whether a TCP connect to 127.0.0.1:`port` succeeds now.
private func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}
