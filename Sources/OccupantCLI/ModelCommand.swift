import ArgumentParser
import Evaluator
import Features
import Foundation
import Gateway
import GatewayDaemon
import OccupantCore
import Sensors
import Training

/// `occupant model …`: the field technician's and the data scientist's model tools.
struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Install, inspect, verify, import and roll back model bundles (.occmodel).",
        discussion: """
            A refused bundle exits with a distinct status: 10 truncated, 11 not a bundle, 12 unsupported format, \
            13 too large, 14 bad manifest, 15 bad body, 16 trailing data, 17 unsigned, 18 untrusted key, \
            19 bad signature, 20 expired, 21 golden vectors do not reproduce, 22 incompatible with the profile, \
            23 not newer than the active model, 24 unreadable.
            """,
        subcommands: [
            ModelInstallCommand.self, ModelListCommand.self, ModelRollbackCommand.self, ModelInspectCommand.self,
            ModelVerifyCommand.self, ModelImportCommand.self, ModelPredictCommand.self, ModelBenchCommand.self,
        ]
    )
}

/// The gateway configuration the model commands read: state directory, trusted keys, profile.
struct GatewayContext: ParsableArguments {
    @Option(help: "Gateway configuration (default \(GatewayConfig.defaultPath) when it exists).")
    var config: String?

    @Option(help: "State directory holding the model store (overrides the configuration).")
    var stateDirectory: String?

    func load() throws -> GatewayConfig {
        var config = try GatewayConfig.loadOrDefault(path: config)
        if let stateDirectory { config.stateDirectory = stateDirectory }
        return config
    }
}

/// Runs `body`, turning every error into its message and exit status.
func reporting<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as BundleError {
        printError("refused (\(error.reason.rawValue)): \(error.message)")
        throw ExitCode(error.reason.exitCode)
    } catch {
        throw report(error)
    }
}

struct ModelInstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Verify a bundle, install it into the gateway's model store and switch the running gateway to it.",
        discussion: "Works with no network. Without a running gateway the model is used at its next start.")

    @Argument(help: "The .occmodel file.")
    var file: String

    @OptionGroup var context: GatewayContext

    func run() throws {
        try reporting {
            let config = try context.load()
            let store = ModelStore(stateDirectory: config.stateDirectory)
            let profile = try ProfileLocator.load(config.profile, configPath: config.path)
            let verifier = ModelVerifier(trustedKeys: try ModelVerifier.loadKeys(config.trustedKeys), profile: profile)
            let bytes = try ModelBundle.read(path: file)
            let installer = ModelInstaller(store: store, verifier: verifier)
            let installed: (bundle: ModelBundle, file: String)
            do throws(ModelInstaller.Failure) {
                installed = try installer.install(bytes, now: Instant(seconds: realtimeSeconds()))
            } catch {
                switch error {
                case .refused(let refusal, _): throw refusal
                case .storeFailed(let failure, _): throw failure
                }
            }
            let manifest = installed.bundle.manifest
            print("installed \(manifest.modelID)@\(manifest.version) as \(store.path(of: installed.file))")
            switch ControlSocket.ask(.activate, path: store.controlSocketPath) {
            case .noGateway:
                print("no gateway runs on \(store.controlSocketPath): it will use this model when it starts")
            case .noAnswer(let reason):
                printError("error: \(reason); it uses this model from its next start")
                throw ExitCode(ExitStatus.failure)
            case .reply(.activated(let model)):
                print("active now: \(model)")
            case .reply(let reply):
                printError("the running gateway \(reply.line); it keeps its current model")
                throw ExitCode(ExitStatus.failure)
            }
        }
    }
}

struct ModelListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List installed models.")

    @OptionGroup var context: GatewayContext

    func run() throws {
        try reporting {
            let store = ModelStore(stateDirectory: try context.load().stateDirectory)
            let entries = store.list()
            if entries.isEmpty {
                print("no models installed in \(store.directory) (the gateway decides with the static rule)")
            }
            for entry in entries {
                let mark = entry.isActive ? "active  " : entry.isPrevious ? "previous" : "        "
                print("\(mark)  \(entry.modelID)@\(entry.version)  \(store.path(of: entry.file))")
            }
            for r in ProbationRecorder.rollbacks(in: store) {
                print(
                    "rolled back by the \(r.guardName) guard at \(r.at): \(r.modelID)@\(r.version.map(String.init) ?? "?") (\(r.reason)); not fetched again"
                )
            }
            if case .status(let decidedBy)? = ControlSocket.request(.status, path: store.controlSocketPath) {
                print("running gateway decides with: \(decidedBy)")
            }
        }
    }
}

struct ModelRollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Make the previous model active again (the only way back to an older version).")

    @OptionGroup var context: GatewayContext

    func run() throws {
        try reporting {
            let config = try context.load()
            let store = ModelStore(stateDirectory: config.stateDirectory)
            let file = try store.rollback()
            print("active: \(store.path(of: file))")
            switch ControlSocket.ask(.activate, path: store.controlSocketPath) {
            case .noGateway: break
            case .noAnswer(let reason):
                printError("error: \(reason); it uses this model from its next start")
                throw ExitCode(ExitStatus.failure)
            case .reply(.activated(let model)): print("running gateway switched to \(model)")
            case .reply(let reply): print("running gateway \(reply.line)")
            }
        }
    }
}

struct ModelInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print a bundle's manifest as a readable summary.")

    @Argument(help: "The .occmodel file.")
    var file: String

    @Flag(help: "Print the manifest as JSON.")
    var json = false

    func run() throws {
        try reporting {
            let bytes = try ModelBundle.read(path: file)
            let bundle = try ModelBundle.decode(bytes)
            print(json ? BundleInspector.manifestJSON(bundle) : BundleInspector.summary(bundle, byteCount: bytes.count))
        }
    }
}

struct ModelVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check a bundle's signature and golden vectors without installing it.",
        discussion: """
            Checks the format, the signature by a trusted key, the expiry and that the golden vectors reproduce. \
            With --profile it also checks that the firmware profile has every channel the model reads, and names \
            that profile. The gateway's own profile is not assumed: give --profile to check against it.
            """)

    @Argument(help: "The .occmodel file.")
    var file: String

    @Option(
        name: .customLong("trusted-key"),
        help: "A trusted public key file (repeatable; default: the gateway configuration's).")
    var trustedKeys: [String] = []

    @Option(help: "Also check compatibility with this firmware profile (a file, or the name of a shipped profile).")
    var profile: String?

    @OptionGroup var context: GatewayContext

    func run() throws {
        try reporting {
            let config = try context.load()
            let keys = try ModelVerifier.loadKeys(trustedKeys.isEmpty ? config.trustedKeys : trustedKeys)
            let profile = try self.profile.map { try ProfileLocator.load($0, configPath: config.path) }
            let bundle = try ModelVerifier(trustedKeys: keys, profile: profile)
                .verify(try ModelBundle.read(path: file), now: Instant(seconds: realtimeSeconds()))
            let compatibility =
                profile.map { "compatible with profile \($0.name)" } ?? "no profile checked (give --profile)"
            print(
                "ok: \(bundle.manifest.modelID)@\(bundle.manifest.version) signed by \(bundle.keyID ?? "?"), \(bundle.manifest.golden.count) golden vectors reproduced, \(compatibility)"
            )
        }
    }
}

struct ModelPredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Score a table: one probability (and decision) per row.",
        discussion: """
            With --time, the table holds raw sensor channels over time (the files `occupant train` and `occupant \
            evaluate` read: CSV or NDJSON): rows are put in time order and run through the gateway's feature \
            pipeline, and the output is `time,probability,decision` at the bundle's threshold. Without --time, the \
            CSV holds the model's feature columns already computed (as `model import` writes them) and the output is \
            one `probability` per row, in file order. Does not check the signature (use `occupant model verify`).
            """)

    @Option(help: "The .occmodel file.")
    var model: String

    @Option(help: "CSV (header row) or NDJSON; an empty field is a missing value.")
    var data: String

    @Option(help: "Time column (ISO-8601 or Unix seconds): the table holds raw channels, not feature columns.")
    var time: String?

    func run() throws {
        try reporting {
            let bundle = try ModelBundle.decode(try ModelBundle.read(path: model))
            let out = try time.map { try channelScores(bundle, time: $0) } ?? featureScores(bundle)
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }

    /// Raw channels through the feature pipeline, as the gateway scores them.
    private func channelScores(_ bundle: ModelBundle, time: String) throws -> String {
        let channels = bundle.manifest.features.channels
        let table = try TableReader.load(
            path: data, columns: .init(time: time, label: nil, channels: channels.isEmpty ? nil : channels))
        let scores = try ModelEvaluation.scores(bundle: bundle, table: table)
        let threshold = bundle.manifest.policy.threshold
        var out = "time,probability,decision\n"
        for (r, p) in scores.enumerated() {
            out +=
                "\(table.times[r].iso8601),\(String(format: "%.17g", p)),\(p.isNaN ? "" : p >= threshold ? "1" : "0")\n"
        }
        return out
    }

    /// Feature columns already computed, one probability per row.
    private func featureScores(_ bundle: ModelBundle) throws -> String {
        let names = bundle.manifest.features.names
        let channels = bundle.manifest.features.channels
        // A file of raw channels (the UCI files, a replay) is a common first try: say what to pass.
        let header = (try? String(contentsOfFile: data, encoding: .utf8))?.prefix { !$0.isNewline } ?? ""
        let columns = header.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) }
        let rawHint =
            !channels.isEmpty && channels.allSatisfy(columns.contains)
            ? "; it holds the raw channels (\(channels.joined(separator: ", "))): pass --time COLUMN to run them through the feature pipeline"
            : nil
        let table: FeatureTable
        do {
            table = try FeatureTable.load(path: data)
        } catch {
            guard let rawHint else { throw error }
            throw OccupantError(.data, "\(error.message)\(rawHint)")
        }
        let indices = try names.map { name -> Int in
            guard let i = table.columns.firstIndex(of: name) else {
                let hint = rawHint ?? " (the model reads \(names.joined(separator: ", ")))"
                throw OccupantError(.data, "\(data): no feature column '\(name)'\(hint)")
            }
            return i
        }
        var out = "probability\n"
        var row = [Double](repeating: .nan, count: indices.count)
        for values in table.rows {
            for (k, i) in indices.enumerated() { row[k] = values[i] }
            out += String(format: "%.17g\n", bundle.probability(row))
        }
        return out
    }
}
