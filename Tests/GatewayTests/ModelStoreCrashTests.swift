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
        var killedMidSwitch = 0
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

            let left = (try? FileManager.default.contentsOfDirectory(atPath: store.directory)) ?? []
            if left.contains(where: { $0.hasPrefix(".tmp-") }) { killedMidWrite += 1 }
            if left.contains(ModelStore.switchFile) { killedMidSwitch += 1 }
            // What a reader sees before the next start: never previous == active.
            let (seenActive, seenPrevious) = (store.activeFile, store.previousFile)
            #expect(seenActive == nil || seenPrevious != seenActive, "round \(round): previous == active before open")
            // The next start: no temporary file and no pending switch left, previous != active.
            let reopened = ModelStore.open(stateDirectory: state)
            let names = try reopened.files.list(reopened.directory)
            #expect(!names.contains { $0.hasPrefix(".tmp-") }, "round \(round): leftovers \(names)")
            #expect(!names.contains(ModelStore.switchFile), "round \(round): the switch was not finished")
            #expect(reopened.activeFile == seenActive && reopened.previousFile == seenPrevious, "round \(round)")
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
            let (active, previous) = (reopened.activeFile, reopened.previousFile)
            #expect(active == nil || previous != active, "round \(round): previous == active == \(active ?? "")")
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
        #expect(killedMidSwitch > 0, "no kill landed between the pointer switch's commit and its end")
        print(
            "store crash test: 200 kills, \(killedMidWrite) during a write, \(killedMidSwitch) during a pointer switch, v\(installed) active at the end"
        )
    }
}
