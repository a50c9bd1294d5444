import ArgumentParser
import Evaluator
import Foundation
import GatewayDaemon
import OccupantCore
import Synchronization
import Training

#if canImport(Glibc)
    import Glibc
#endif

/// `occupant train`: search, fit and sign a model from a labelled table.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model (gradient-boosted trees or logistic regression) from a labelled CSV/NDJSON table.",
        discussion: """
            Features are computed with the gateway's own pipeline. A random search over model family, \
            hyper-parameters and feature groups is scored by time-ordered cross-validation with one fold per labelled \
            day (up to --folds); trees are kept monotone in each activity level (--no-monotone to free them). The best \
            configuration is refitted on every labelled row and written as a bundle whose signed manifest carries the \
            training summary (out-of-fold metrics, confusion, static-rule baseline, chosen hyper-parameters, \
            ablation table, timing; `occupant model inspect` prints it). The full report, with the leaderboard, is \
            also written to OUT.report.json. \
            The output folder is checked before the search starts. \
            Exit status: 0 the model beats the static rule; 3 it does not (on validation data; the bundle is still \
            written); 2 a bad argument, a missing output folder or an unreadable table; 1 any other failure.
            """)

    @Option(help: "CSV (header row) or NDJSON table.") var data: String
    @Option(help: "Time column: ISO-8601 or Unix seconds.") var time: String
    @Option(help: "Label column: 0/1, true/false or a count (> 0 = occupied).") var label: String
    @Option(help: "Comma-separated channel columns (default: every other column).") var channels: String?
    @Option(help: "Search trials.") var trials: Int = 250
    @Option(help: "Random seed (the result is deterministic for a seed).") var seed: UInt64 = 1
    @Option(help: "Feature groups to search: raw, levels, trends, context, time (default: all).") var features: String?
    @Flag(help: "Report each feature group's effect on the validation metric.") var ablation = false
    @Option(help: "Output bundle (.occmodel).") var out: String
    @Option(help: "Private key from `occupant keys generate` (without one the bundle is unsigned).") var signingKey:
        String?
    @Option(help: "Model id.") var modelId: String = "occupancy"
    @Option(
        name: .customLong("model-version"), help: "The model's version, increasing with every release of this model id."
    )
    var version: Int = 1
    @Option(help: "Threads (trials run side by side).") var workers: Int = 2
    @Option(help: "Day-blocked cross-validation folds (at most one per day with labels).") var folds: Int = 7
    @Flag(
        inversion: .prefixedNo,
        help:
            "Keep trees monotone in each activity level (latest value, window mean/min/max), in the direction it correlates with occupancy."
    )
    var monotone = true
    @Option(
        help: ArgumentHelp(
            "Model selection: best-auc or one-se (the simplest within one standard error).", visibility: .hidden))
    var selection: String = Search.SelectionRule.bestAUC.rawValue

    func validate() throws {
        if trials < 1 { throw ValidationError("--trials must be at least 1") }
        if version < 1 { throw ValidationError("--model-version must be at least 1") }
        if workers < 1 { throw ValidationError("--workers must be at least 1") }
        if folds < 2 { throw ValidationError("--folds must be at least 2") }
        if Search.SelectionRule(rawValue: selection) == nil {
            throw ValidationError(
                "--selection must be one of: \(Search.SelectionRule.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let beats = try reporting { () throws -> Bool in
            try checkOutputFolder(out)
            let table = try TableReader.load(
                path: data, columns: .init(time: time, label: label, channels: list(channels)))
            let key = try signingKey.map { try SigningKeys.readPrivateKey(path: $0) }
            let bar = ProgressBar(terminal: isatty(2) != 0)
            let options = Trainer.Options(
                trials: trials, seed: seed, folds: folds, featureGroups: list(features), ablation: ablation,
                workers: workers,
                modelID: modelId, version: version, selection: Search.SelectionRule(rawValue: selection)!,
                monotone: monotone)
            let progress = bar.makeProgress()
            let result = try Trainer.train(table, options: options, progress: progress)
            bar.finish(progress)
            let bytes =
                key.map { result.bundle.encode(signingKey: $0.key, keyID: $0.keyID) } ?? result.bundle.encodeUnsigned()
            guard FileManager.default.createFile(atPath: out, contents: Data(bytes)) else {
                throw OccupantError(.io, "cannot write \(out)")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(
                positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            if let json = try? encoder.encode(result.report) {
                _ = FileManager.default.createFile(atPath: out + ".report.json", contents: json)
            }
            print(result.report.summary)
            print(
                "wrote \(out): \(result.bundle.manifest.modelID)@\(result.bundle.manifest.version), "
                    + "\(result.bundle.model.kindDescription), \(bytes.count) bytes, "
                    + (key.map { "signed by \($0.keyID)" } ?? "UNSIGNED (gateways refuse it; pass --signing-key)")
                    + "; report in \(out).report.json")
            return result.report.beatsBaseline
        }
        if !beats { throw ExitCode(ExitStatus.noBetterModel) }
    }

    private func list(_ text: String?) -> [String]? {
        text.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }
}

/// Training progress on stderr: on a terminal one line redrawn in place (at most ten times a second); otherwise
/// (a log, a pipe) a plain line every `interval` seconds and at each change of stage.
final class ProgressBar: Sendable {
    let terminal: Bool
    let interval: Double
    private let last = Mutex<(at: ContinuousClock.Instant?, stage: TrainingProgress.Snapshot.Stage?)>((nil, nil))

    init(terminal: Bool, interval: Double = 5) {
        self.terminal = terminal
        self.interval = interval
    }

    func makeProgress() -> TrainingProgress { TrainingProgress(report: { [self] in self.show($0) }) }

    private func show(_ p: TrainingProgress.Snapshot) {
        guard p.trials > 0 else { return } // the search has not planned yet
        let now = ContinuousClock.now
        let due = last.withLock { last -> Bool in
            let gap: Duration = terminal ? .milliseconds(100) : .seconds(interval)
            let due = (last.at.map { now - $0 >= gap } ?? true) || last.stage != p.stage
            if due { last = (now, p.stage) }
            return due
        }
        guard due else { return }
        let line = Self.describe(p)
        if terminal {
            let width = 24
            let filled = Int(Double(width) * p.fraction)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            write("\r[\(bar)] \(line)\u{1B}[K")
        } else {
            write(line + "\n")
        }
    }

    /// `42% · trial 120/250 · rung 1/3 (1 fold) · best 91.20% on 1 fold · 1m20s left`.
    static func describe(_ p: TrainingProgress.Snapshot) -> String {
        var parts = ["\(Int((100 * p.fraction).rounded(.down)))%"]
        switch p.stage {
        case .search(let rung, let rungs, let folds):
            if rung == 1 {
                parts.append("trial \(p.trialsScored)/\(p.trials)")
            } else {
                parts.append("\(p.trials) trials scored")
            }
            parts.append("rung \(rung)/\(rungs) (\(folds) fold\(folds == 1 ? "" : "s"))")
        case .ablation:
            parts.append("feature-group ablation")
        case .finalFit:
            parts.append("final fit")
        }
        if let best = p.bestAccuracy {
            parts.append(
                String(format: "best CV accuracy %.2f%%", 100 * best)
                    + " on \(p.bestFolds) fold\(p.bestFolds == 1 ? "" : "s")")
        }
        if let left = p.remainingSeconds { parts.append("\(formatDuration(left)) left") }
        return parts.joined(separator: " · ")
    }

    /// Ends the display: the terminal line is closed; a log gets a last line, so it always ends at 100 %.
    func finish(_ progress: TrainingProgress) {
        if terminal {
            write("\n")
        } else {
            write(Self.describe(progress.snapshot) + "\n")
        }
    }

    private func write(_ text: String) {
        _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
    }
}

/// `45s`, `3m05s`, `1h02m`.
func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
}
