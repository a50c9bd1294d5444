import ArgumentParser
import Evaluator
import Foundation
import OccupantCore
import Training

/// `occupant bench-fit` (hidden, for `tools/bench training`): one fixed configuration fitted on the raw numeric
/// channels, like for like with a library's `fit` — binning included, no search, no early stopping — then scored on
/// test tables at 0.5. Prints one JSON line in the shape of `tools/benchmarks/training_peers.py`.
struct FitBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-fit",
        abstract: "Time one fixed fit on the raw channels (for tools/bench training).",
        shouldDisplay: false)

    @Option(help: "Training table (CSV or NDJSON).") var data: String
    @Option(help: "Test tables, scored at 0.5.") var test: [String] = []
    @Option(help: "Time column.") var time: String
    @Option(help: "Label column.") var label: String
    @Option(help: "trees or logistic.") var family: String = "trees"
    @Option(help: "Trees (no early stopping).") var trees: Int = 100
    @Option(help: "Tree depth.") var depth: Int = 6
    @Option(help: "Learning rate.") var learningRate: Double = 0.3
    @Option(help: "Fits to time; the median is reported.") var repeats: Int = 5
    @Option(help: "Threads of a tree fit, repeatable to compare (default: the available cores).") var threads: [Int] =
        []

    func validate() throws {
        guard ["trees", "logistic"].contains(family) else {
            throw ValidationError("--family must be trees or logistic")
        }
        guard repeats >= 1, trees >= 1, (1...16).contains(depth), learningRate > 0, threads.allSatisfy({ $0 >= 1 })
        else {
            throw ValidationError("--repeats, --trees, --threads ≥ 1, --depth 1…16, --learning-rate > 0")
        }
    }

    func run() throws {
        try reporting {
            let table = try TableReader.load(path: data, columns: .init(time: time, label: label))
            let channels = table.numericChannels
            let columns = channels.map { table.numbers(of: $0)! }
            let labelled = table.labels.indices.filter { table.labels[$0] != nil }
            let labels = table.labels.map { $0 ?? 0 }
            // Thread counts are interleaved fit by fit, so a busy machine slows them alike.
            let counts = family == "trees" ? (threads.isEmpty ? [GradientBoosting.availableCores] : threads) : [1]
            var seconds = [[Double]](repeating: [], count: counts.count)
            var models = [Model?](repeating: nil, count: counts.count)
            for _ in 0..<repeats {
                for (k, threads) in counts.enumerated() {
                    let start = monotonicSeconds()
                    if family == "trees" {
                        let matrix = BinnedMatrix(columns: columns, threads: threads)
                        let p = BoostingParameters(trees: trees, learningRate: learningRate, maxDepth: depth)
                        let fit = try GradientBoosting.fit(
                            matrix: matrix, features: Array(columns.indices), labels: labels, train: labelled,
                            parameters: p,
                            seed: 1, threads: threads)
                        models[k] = .trees(fit.ensemble)
                    } else {
                        let fit = try LogisticRegression.fit(
                            columns: columns, labels: labels, rows: labelled, parameters: .init(l2: 1e-4))
                        models[k] = .logistic(fit.model)
                    }
                    seconds[k].append(monotonicSeconds() - start)
                }
            }
            for (k, threads) in counts.enumerated() {
                try printLine(
                    threads: threads, rows: labelled.count, seconds: seconds[k], model: models[k]!,
                    sameAsFirst: models[k] == models[0], channels: channels)
            }
        }
    }

    /// One JSON line: the median fit time, the times, whether the model equals the first thread count's, and the
    /// test tables' accuracy and AUC.
    private func printLine(
        threads: Int, rows: Int, seconds: [Double], model: Model, sameAsFirst: Bool, channels: [String]
    ) throws {
        let name =
            family == "trees"
            ? "occupant trees (\(trees) trees, depth \(depth), \(threads) thread\(threads == 1 ? "" : "s"))"
            : "occupant logistic regression (1 thread)"
        let median = seconds.sorted()[seconds.count / 2]
        var line =
            "{\"peer\": \"\(name)\", \"rows\": \(rows), \"threads\": \(threads), "
            + "\"fit_seconds\": [\(seconds.map { String(format: "%.4f", $0) }.joined(separator: ", "))], "
            + "\"fit_seconds_median\": \(String(format: "%.4f", median)), \"same_model_as_first\": \(sameAsFirst)"
        for path in test {
            let t = try TableReader.load(path: path, columns: .init(time: time, label: label, channels: channels))
            let testColumns = channels.map { t.numbers(of: $0)! }
            let rows = t.labels.indices.filter { t.labels[$0] != nil }
            var row = [Double](repeating: 0, count: channels.count)
            let probabilities = rows.map { r -> Double in
                for c in channels.indices { row[c] = testColumns[c][r] }
                return model.probability(row)
            }
            let m = BinaryMetrics(probabilities: probabilities, labels: rows.map { t.labels[$0]! }, threshold: 0.5)
            let file = URL(fileURLWithPath: path).lastPathComponent
            line +=
                ", \"\(file)\": {\"accuracy\": \(String(format: "%.4f", m.accuracy)), \"auc\": \(String(format: "%.4f", m.auc))}"
        }
        print(line + "}")
    }
}
