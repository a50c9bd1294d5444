import ArgumentParser
import OccupantCore
import Sensors

/// `occupant profile validate FILE...`.
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Work with firmware profiles.",
        subcommands: [ProfileValidateCommand.self]
    )
}

struct ProfileValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check firmware profiles and report every problem with its key path and line.",
        discussion: "Exit status 0 when every file is valid, 2 otherwise."
    )

    @Argument(help: "Profile files (YAML).")
    var files: [String]

    func run() throws {
        var failed = false
        for file in files {
            do {
                let profile = try FirmwareProfile.load(path: file)
                let channels = profile.channels.map { "\($0.name)\($0.units.map { " [\($0)]" } ?? "")" }.joined(separator: ", ")
                print("\(file): ok — \(profile.name), \(profile.devices.count) devices, channels: \(channels)")
            } catch {
                printError(error.description)
                failed = true
            }
        }
        if failed { throw ExitCode(ExitStatus.configuration) }
    }
}
