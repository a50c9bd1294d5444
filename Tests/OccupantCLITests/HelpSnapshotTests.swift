import ArgumentParser
import Foundation
import Testing

@testable import OccupantCLI

/// Every command's help at 100 columns, kept in Help/<command path>.txt (e.g. `occupant-model-import.txt`).
/// A changed help text fails here; when the change is meant, regenerate with
/// `OCCUPANT_UPDATE_SNAPSHOTS=1 swift test --filter HelpSnapshotTests` and commit the files.
@Suite struct HelpSnapshotTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Help")
    static let updating = ProcessInfo.processInfo.environment["OCCUPANT_UPDATE_SNAPSHOTS"] == "1"

    /// Every command under the root, with its path of command names.
    static var commands: [(path: [String], command: any ParsableCommand.Type)] {
        func walk(_ command: any ParsableCommand.Type, _ path: [String]) -> [(
            path: [String], command: any ParsableCommand.Type
        )] {
            let name = command.configuration.commandName ?? command._commandName
            let here = path + [name]
            return [(here, command)] + command.configuration.subcommands.flatMap { walk($0, here) }
        }
        return walk(OccupantCommand.self, [])
    }

    static var paths: [String] { commands.map { $0.path.joined(separator: " ") } }

    @Test func theTreeIsWalked() {
        #expect(Self.paths.contains("occupant model import"))
        #expect(Self.paths.contains("occupant server retrain"))
        #expect(Self.paths.contains("occupant gateway run"))
    }

    @Test(arguments: HelpSnapshotTests.paths)
    func helpMatchesItsSnapshot(path: String) throws {
        let command = try #require(Self.commands.first { $0.path.joined(separator: " ") == path }).command
        let help = OccupantCommand.helpMessage(for: command, columns: 100) + "\n"
        let file = Self.directory.appendingPathComponent(path.replacingOccurrences(of: " ", with: "-") + ".txt")
        if Self.updating {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try Data(help.utf8).write(to: file)
            return
        }
        guard let stored = try? String(contentsOf: file, encoding: .utf8) else {
            Issue.record("no snapshot \(file.path): run with OCCUPANT_UPDATE_SNAPSHOTS=1 to write it")
            return
        }
        #expect(
            help == stored,
            "\(path) --help changed: \(Self.firstDifference(help, stored)); if meant, run OCCUPANT_UPDATE_SNAPSHOTS=1 swift test --filter HelpSnapshotTests and commit Tests/OccupantCLITests/Help"
        )
    }

    /// The first line that differs, as `line N: "now" (snapshot "was")`.
    static func firstDifference(_ now: String, _ was: String) -> String {
        let a = now.split(separator: "\n", omittingEmptySubsequences: false)
        let b = was.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? String(a[i]) : "<end>"
            let y = i < b.count ? String(b[i]) : "<end>"
            if x != y { return "line \(i + 1): \"\(x)\" (snapshot \"\(y)\")" }
        }
        return "no line differs"
    }
}
