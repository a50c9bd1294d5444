import Foundation
import OccupantCore
import OccupantTesting
import Server
import Testing

/// Two real `occupant server run` processes on one state directory: the second is refused at start with one line
/// naming the folder and the holder's PID, and a killed holder's lock file does not block the restart.
@Suite(.serialized) struct StateDirectoryLockTests {
    @Test func aSecondServerOnTheSameStateDirectoryIsRefused() async throws {
        let h = try await ServerHarness(name: "state-lock")
        try await h.start()
        let first = try #require(h.process)
        let state = h.dir.path + "/state"
        #expect(try String(contentsOfFile: state + "/server.lock", encoding: .utf8) == "\(first.pid)\n")

        let second = try await ChildProcess.run(["server", "run", "--config", h.configPath])
        #expect(second.status == 2) // a configuration problem: two servers given one folder
        let refusal = "stateDirectory \(state) is in use by another occupant server (PID \(first.pid), "
        #expect(second.stderr.contains(refusal), "\(second.stderr)")
        #expect(second.stderr.split(separator: "\n").filter { $0.contains("in use by") }.count == 1)
        // The first keeps serving.
        #expect(first.isRunning)
        #expect(try await h.request("GET", "/health").status == 200)

        // Killed, the holder leaves its lock file behind; the kernel released the lock, so a restart is not blocked.
        first.signal(SIGKILL)
        try await first.wait()
        try await h.start()
        let restarted = try #require(h.process)
        #expect(try String(contentsOfFile: state + "/server.lock", encoding: .utf8) == "\(restarted.pid)\n")
    }
}
