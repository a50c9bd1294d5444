import Foundation
import OccupantTesting
import Testing

/// Exit statuses of the built `occupant`, run as the user runs it.
@Suite struct ExitStatusTests {
    @Test func anUnknownOptionExits2WithUsage() async throws {
        let result = try await ChildProcess.run(["version", "--bogus"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("Unknown option '--bogus'"), "\(result.stderr)")
        #expect(result.stderr.contains("Usage: occupant version"), "\(result.stderr)")
    }

    @Test func aMissingReplayFileIsOneLineAndExits2() async throws {
        for arguments in [
            ["gateway", "run", "--simulate", "/nonexistent/replay.csv", "--cycles", "1"],
            ["sensors", "read", "--profile", "thermostat-mcu", "--simulate", "/nonexistent/replay.csv"],
        ] {
            let result = try await ChildProcess.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(
                result.stderr
                    == "error: --simulate /nonexistent/replay.csv: no such replay file (give 'day' or a CSV file with a time column)\n"
            )
        }
    }

    @Test func trainIntoAMissingFolderFailsBeforeReadingTheData() async throws {
        let result = try await ChildProcess.run([
            "train", "--data", "/nonexistent/data.csv", "--time", "t", "--label", "l", "--out",
            "/nonexistent/dir/m.occmodel",
        ])
        #expect(result.status == 2)
        #expect(result.stderr == "error: --out /nonexistent/dir/m.occmodel: no folder /nonexistent/dir\n")
    }
}
