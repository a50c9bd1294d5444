import ArgumentParser
import Gateway
import GatewayDaemon
import OccupantCore
import Sensors

/// `occupant profile validate FILE|NAME...`.
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

    @Argument(help: "Profile files (YAML), or names of shipped profiles (as --profile takes them).")
    var files: [String]

    func run() throws {
        var failed = false
        for reference in files {
            do {
                // A path is read as given (an unreadable file says why); a name is looked up like --profile.
                let file = ProfileLocator.isPath(reference) ? reference : try ProfileLocator.locate(reference)
                let profile = try FirmwareProfile.load(path: file)
                let channels = profile.channels.map { "\($0.name)\($0.units.map { " [\($0)]" } ?? "")" }.joined(
                    separator: ", ")
                print("\(file): ok — \(profile.name), \(profile.devices.count) devices, channels: \(channels)")
            } catch {
                printError("\(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(ExitStatus.configuration) }
    }
}
