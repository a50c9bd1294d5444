import Evaluator
import Foundation
import OccupantTesting
import Testing

@testable import Gateway

/// A gateway killed at any moment of an install (SIGKILL: no cleanup runs) leaves a store whose active bundle is
/// complete, and no temporary file is ever taken for a bundle.
@Suite(.serialized) struct ModelStoreCrashTests {
    /// `v<version>\n` + payload + SHA-256 hex of what precedes it (see `occupant store-crash-loop`).
    func verifies(_ bytes: [UInt8], version: Int) -> Bool {
        guard bytes.count > 64 else { return false }
        let body = Array(bytes.dropLast(64))
        guard String(decoding: bytes.suffix(64), as: UTF8.self) == sha256Hex(body) else { return false }
        return body.starts(with: Array("v\(version)\n".utf8))
    }

    @Test func killedAtRandomMomentsTheStoreStaysWhole() async throws {
        let state = try temporaryDirectory("store-kill").path
        let store = ModelStore(stateDirectory: state)
        var generator = SystemRandomNumberGenerator()
        var installed = 0
        var killedMidWrite = 0
        for round in 0..<200 {
            let child = try ChildProcess(["store-crash-loop", "--state", state, "--size", "65536"])
            // Wait for the child to start installing (an event: its first line), then kill it a random moment later.
            let started = ContinuousClock.now
            while !child.stdout.contains("installing") {
                #expect(child.isRunning, "round \(round): the child exited: \(child.stderr)")
                if !child.isRunning || ContinuousClock.now - started > .seconds(30) { return }
                try await Task.sleep(for: .milliseconds(1))
            }
            try await Task.sleep(for: .microseconds(Int.random(in: 0...20_000, using: &generator)))
            child.signal(SIGKILL)
            _ = try? await child.wait(timeout: 10)

            let reopened = ModelStore(stateDirectory: state)
            if try reopened.files.list(reopened.directory).contains(where: { $0.hasPrefix(".tmp-") }) {
                killedMidWrite += 1
            }
            reopened.removeLeftovers()
            let names = try reopened.files.list(reopened.directory)
            #expect(!names.contains { $0.hasPrefix(".tmp-") }, "round \(round): leftovers \(names)")
            for entry in reopened.list() {
                #expect(!entry.file.hasPrefix("."), "round \(round): a temporary file listed as a bundle")
            }
            for file in [reopened.activeFile, reopened.previousFile].compactMap({ $0 }) {
                let entry = try #require(
                    reopened.list().first { $0.file == file }, "round \(round): \(file) is not listed")
                #expect(
                    verifies(try reopened.files.read(reopened.path(of: file)), version: entry.version),
                    "round \(round): \(file) is damaged")
            }
            if let active = reopened.list().first(where: \.isActive) {
                #expect(
                    active.version >= installed,
                    "round \(round): the active bundle went back from v\(installed) to v\(active.version)")
                installed = active.version
            } else {
                #expect(installed == 0, "round \(round): the active pointer was lost after v\(installed)")
            }
        }
        #expect(installed > 0, "no install ever completed")
        // Some kills must land inside a write for the test to mean anything.
        #expect(killedMidWrite > 0, "no kill landed while a temporary file was open")
        print("store crash test: 200 kills, \(killedMidWrite) during a write, v\(installed) active at the end")
    }
}
