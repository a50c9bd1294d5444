import Foundation
import OccupantTesting
import ServiceLifecycle
import Testing

@testable import Gateway

#if canImport(Glibc)
    import Glibc
#endif

/// A client of a Unix socket that connects and then says nothing (closed on deinit).
final class SilentClient {
    let fd: Int32

    /// Connects to `path`; nil when nothing listens there.
    init?(path: String) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = ControlSocket.address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if connected != 0 {
            close(fd)
            return nil
        }
    }

    /// Blocks until the other side closes the connection (true), or `seconds` pass (false).
    func waitForClose(seconds: Int) -> Bool {
        ControlSocket.setTimeouts(fd, seconds: seconds)
        var byte: UInt8 = 0
        while true {
            let n = recv(fd, &byte, 1, 0)
            if n == 0 { return true }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return false }
        }
    }

    deinit { close(fd) }
}

/// A Unix socket that takes connections into its backlog and never answers (a hung gateway).
final class DeafListener {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        unlink(path)
        var address = ControlSocket.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            throw HarnessError("cannot listen on \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }
}

/// One silent client on the control socket must not block model switches, and `model install` must not report
/// "no gateway" when one runs but does not answer (issue 11).
@Suite(.serialized) struct ControlSocketTests {
    @Test func aSilentClientDoesNotBlockTheNextOne() async throws {
        let path = try temporaryDirectory("control-silent").appendingPathComponent("control.sock").path
        let socket = ControlSocket(path: path, logger: testLogger(), clientTimeout: 1) { command in
            command == .status ? .status("rule:test") : .error("not here")
        }
        let group = ServiceGroup(services: [socket], logger: testLogger())
        let run = Task { try await group.run() }
        defer { run.cancel() }
        _ = try await waitUntil(timeout: 10, "the control socket listening") {
            ControlSocket.ask(.status, path: path, timeout: 5) == .reply(.status("rule:test")) ? true : nil
        }

        // Connected and silent: the gateway keeps serving others meanwhile, then drops it.
        let silent = try #require(SilentClient(path: path))
        let others = try #require(SilentClient(path: path))
        #expect(ControlSocket.ask(.status, path: path, timeout: 10) == .reply(.status("rule:test")))
        #expect(ControlSocket.ask(.activate, path: path, timeout: 10) == .reply(.error("not here")))
        #expect(silent.waitForClose(seconds: 30), "the silent client was never dropped")
        #expect(others.waitForClose(seconds: 30))
        #expect(ControlSocket.ask(.status, path: path, timeout: 10) == .reply(.status("rule:test")))

        await group.triggerGracefulShutdown()
        try await run.value
        #expect(ControlSocket.ask(.status, path: path, timeout: 1) == .noGateway)
    }

    @Test func installFailsWithOneLineWhenTheGatewayDoesNotAnswer() async throws {
        let dir = try temporaryDirectory("control-install")
        let key = dir.appendingPathComponent("signer").path
        #expect(try await ChildProcess.run(["keys", "generate", "--out", key]).status == 0)
        let fixtures = packageRootPath("Tests/Fixtures/models")
        func importModel(version: Int) async throws -> String {
            let out = dir.appendingPathComponent("v\(version).occmodel").path
            let imported = try await ChildProcess.run([
                "model", "import", "--xgboost", "\(fixtures)/bench-d6-100.model.json",
                "--features", "\(fixtures)/bench-features.yaml", "--signing-key", key + ".key",
                "--inputs", "\(fixtures)/bench-d6-100.input.csv", "--expected", "\(fixtures)/bench-d6-100.expected.csv",
                "--model-version", String(version), "--out", out,
            ])
            #expect(imported.status == 0, "\(imported.stderr)")
            return out
        }
        let v1 = try await importModel(version: 1)
        let v2 = try await importModel(version: 2)
        let state = dir.appendingPathComponent("state").path
        let config = dir.appendingPathComponent("gateway.yaml").path
        try """
        gatewayId: hung
        simulate: { scenario: day }
        stateDirectory: \(state)
        trustedKeys: [\(key).pub]
        """.write(toFile: config, atomically: true, encoding: .utf8)

        // No gateway at all: installed for the next start, exit 0.
        let alone = try await ChildProcess.run(["model", "install", v1, "--config", config])
        #expect(alone.status == 0, "\(alone.stderr)")
        #expect(alone.stdout.contains("no gateway runs on \(state)/control.sock"), "\(alone.stdout)")

        // A gateway that takes the connection and never answers: a one-line error and a failure status.
        let hung = try DeafListener(path: state + "/control.sock")
        let result = try await ChildProcess.run(["model", "install", v2, "--config", config])
        _ = hung
        #expect(result.status == 1, "\(result.stdout) \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(
            result.stderr.hasPrefix(
                "error: the gateway on \(state)/control.sock took the connection but did not answer"),
            "\(result.stderr)")
        #expect(!result.stdout.contains("no gateway runs"))
        #expect(result.stdout.contains("installed bench-d6-100@2"), "\(result.stdout)")
    }
}
