import Foundation
import OccupantTesting
import Testing

/// The harness must not keep a child's output files open: a full run starts hundreds of children, and once the test
/// process held ~1,000 descriptors libmosquitto (whose loop uses select()) could not use a socket numbered past 1023.
@Suite struct HarnessFileTests {
    @Test func aChildsOutputFilesAreClosedInTheTestProcess() async throws {
        let child = try ChildProcess(["version"])
        #expect(try await child.wait() == 0)
        #expect(child.stdout.contains("occupant"))
        let open = try openPaths()
        #expect(!open.contains(child.stdoutURL.path) && !open.contains(child.stderrURL.path))
    }

    @Test func aBrokersLogIsClosedInTheTestProcess() async throws {
        let broker = try await MosquittoBroker()
        defer { broker.stop() }
        #expect(!(try openPaths()).contains(broker.directory.appendingPathComponent("mosquitto.log").path))
    }

    /// A test's folders live in this process's own folder, which goes when the process exits.
    @Test func aTestsFoldersAreInsideTheRunsOwnFolder() throws {
        let dir = try temporaryDirectory("harness")
        #expect(dir.deletingLastPathComponent().path == TestFiles.root.path)
        #expect(TestFiles.root.lastPathComponent == "occupant-tests-\(getpid())")
    }

    /// A run that crashed or was killed leaves its folder behind: the next run removes it, and only it.
    @Test func foldersOfEndedRunsAreRemovedAndLiveOnesKept() throws {
        let parent = try temporaryDirectory("leftovers")
        let ended = try Process.run(URL(fileURLWithPath: "/bin/true"), arguments: [])
        ended.waitUntilExit()
        let names = [
            "occupant-tests-\(ended.processIdentifier)", "occupant-tests-\(getpid())", "occupant-tests-1",
            "occupant-tests-x", "something-else",
        ]
        for name in names {
            try FileManager.default.createDirectory(
                at: parent.appendingPathComponent(name).appendingPathComponent("inside"),
                withIntermediateDirectories: true)
        }
        let removed = TestFiles.removeLeftovers(in: parent)
        #expect(removed == ["occupant-tests-\(ended.processIdentifier)"])
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: parent.path))
        #expect(left == Set(names.dropFirst()))
    }

    /// What each of this process's descriptors points at.
    func openPaths() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")
        }
    }
}
