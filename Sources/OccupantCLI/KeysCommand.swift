import ArgumentParser
import Evaluator
import GatewayDaemon

/// `occupant keys generate --out PREFIX`: an Ed25519 key pair for signing model bundles.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage model-signing keys.",
        subcommands: [KeysGenerateCommand.self]
    )
}

struct KeysGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write PREFIX.key (private, mode 0600) and PREFIX.pub (give this to gateways as a trusted key).")

    @Option(help: "Path prefix for the two files.")
    var out: String

    func run() throws {
        do {
            let key = SigningKeys.generate()
            let keyID = try SigningKeys.save(key, prefix: out)
            print("wrote \(out).key (private) and \(out).pub (key id \(keyID))")
        } catch {
            throw report(error)
        }
    }
}
