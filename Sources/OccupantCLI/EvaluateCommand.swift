import ArgumentParser
import Evaluator
import Foundation
import GatewayDaemon
import OccupantCore
import Training

/// `occupant evaluate`: score a bundle on a labelled table, next to the static rule recorded at training time.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model bundle on a labelled CSV/NDJSON table.",
        discussion: """
            Features come from the bundle's schema through the gateway's pipeline; decisions use the bundle's \
            threshold. The baseline is the static rule chosen on the training data and recorded in the bundle, never \
            tuned on this data. Rows the model cannot score (a missing input) count as vacant. Does not check the \
            signature (use `occupant model verify`). \
            Exit status: 0 the model beats the rule (or the bundle records none); 3 it does not; 2 a bad argument or \
            an unreadable table; 10–24 a refused bundle (see `occupant model --help`).
            """)

    @Option(help: "Model bundle (.occmodel).") var model: String
    @Option(help: "CSV (header row) or NDJSON table.") var data: String
    @Option(help: "Time column: ISO-8601 or Unix seconds.") var time: String
    @Option(help: "Label column: 0/1, true/false or a count (> 0 = occupied).") var label: String
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Also write every row's time, label, probability and decision to this CSV (for error analysis).")
    var predictions: String?

    func run() throws {
        let report = try reporting { () throws -> ModelEvaluation.Report in
            let bundle = try ModelBundle.decode(try ModelBundle.read(path: model))
            let channels = bundle.manifest.features.channels
            let table = try TableReader.load(
                path: data, columns: .init(time: time, label: label, channels: channels.isEmpty ? nil : channels))
            let (report, scores) = try ModelEvaluation.scored(bundle: bundle, table: table)
            if let predictions {
                var csv = "time,label,probability,decision\n"
                for (r, p) in scores.enumerated() {
                    let label = table.labels[r].map(String.init) ?? ""
                    csv += "\(table.times[r].iso8601),\(label),\(p),\(p >= report.threshold ? 1 : 0)\n"
                }
                guard FileManager.default.createFile(atPath: predictions, contents: Data(csv.utf8)) else {
                    throw OccupantError(.io, "cannot write \(predictions)")
                }
            }
            return report
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(
                positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            let data = try encoder.encode(report)
            print(String(decoding: data, as: UTF8.self))
        } else {
            func pct(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
            print(
                "rows \(report.rows): accuracy \(pct(report.accuracy)), precision \(pct(report.precision)), recall \(pct(report.recall)), F1 \(pct(report.f1)), AUC \(report.auc.map { String(format: "%.4f", $0) } ?? "n/a") at threshold \(String(format: "%.4g", report.threshold))"
            )
            print(
                "confusion: tp \(report.confusion.tp), fp \(report.confusion.fp), tn \(report.confusion.tn), fn \(report.confusion.fn)"
                    + (report.unscoredRows > 0 ? " (\(report.unscoredRows) unscored rows counted vacant)" : ""))
            print(report.calibration.summary)
            print(report.events.summary)
            if let b = report.baseline {
                print("static rule \(b.rule): accuracy \(pct(b.accuracy)), F1 \(pct(b.f1))")
                if report.beatsBaseline == false {
                    print("WARNING: the model does NOT beat the static rule on this data")
                }
            } else {
                print("no static-rule baseline recorded in this bundle")
            }
        }
        if report.beatsBaseline == false { throw ExitCode(ExitStatus.noBetterModel) }
    }
}
