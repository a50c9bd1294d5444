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

    /// What each of this process's descriptors points at.
    func openPaths() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")
        }
    }
}
