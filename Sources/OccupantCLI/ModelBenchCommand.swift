import ArgumentParser
import Evaluator
import Foundation
import OccupantCore

/// `occupant model bench`: how fast is this model on this machine — single-row latency, batch throughput, and
/// bundle load + verify time. Prints one JSON line.
struct ModelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time single-row prediction, batch throughput and bundle load+verify for a bundle (one JSON line).",
        discussion: """
            Single-row latency cycles through the --data rows, one row per call, timing batches of 8 calls with \
            CLOCK_MONOTONIC and dividing by 8 (one clock read costs about as much as a prediction); median and p99 \
            are over all batches.
            """)

    @Option(help: "The .occmodel file.") var model: String
    @Option(help: "CSV rows with the feature columns the schema names.") var data: String
    @Option(help: "Single-row calls to time.") var calls: Int = 200_000
    @Option(help: "A trusted public key, to time verification too.") var trustedKey: String?

    func run() throws {
        try reporting {
            let bytes = try ModelBundle.read(path: model)
            var bundle = try ModelBundle.decode(bytes)
            var loadSeconds: [Double] = []
            let keys = try trustedKey.map { [try SigningKeys.readPublicKey(path: $0)] }
            for _ in 0..<20 {
                let t0 = monotonicSeconds()
                if let keys {
                    bundle = try ModelBundle.open(bytes, trustedKeys: keys, now: Instant(seconds: realtimeSeconds()))
                } else {
                    bundle = try ModelBundle.decode(bytes)
                }
                loadSeconds.append(monotonicSeconds() - t0)
            }
            let table = try FeatureTable.load(path: data)
            let indices = try bundle.manifest.features.names.map { name -> Int in
                guard let i = table.columns.firstIndex(of: name) else {
                    throw OccupantError(.data, "\(data): no column '\(name)'")
                }
                return i
            }
            let width = indices.count
            let rows = table.rows.map { row in indices.map { row[$0] } }
            let flat = rows.flatMap { $0 }
            let model = bundle.model
            let batch = 8
            let batches = max(1, calls / batch)
            var perCall = [Double](repeating: 0, count: batches)
            var sink = 0.0
            flat.withUnsafeBufferPointer { all in
                var r = 0
                // Warm-up.
                for _ in 0..<10_000 {
                    sink += model.probability(UnsafeBufferPointer(rebasing: all[(r * width)..<(r * width + width)]))
                    r = (r + 1) % rows.count
                }
                for b in 0..<batches {
                    let t0 = monotonicSeconds()
                    for _ in 0..<batch {
                        sink += model.probability(UnsafeBufferPointer(rebasing: all[(r * width)..<(r * width + width)]))
                        r = (r + 1) % rows.count
                    }
                    perCall[b] = (monotonicSeconds() - t0) / Double(batch)
                }
            }
            perCall.sort()
            // Batch: score all rows repeatedly into one output buffer.
            var output = [Double](repeating: 0, count: rows.count)
            let repeats = max(1, 200_000 / rows.count)
            let t0 = monotonicSeconds()
            flat.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { out in
                    for _ in 0..<repeats { model.probabilities(rows: input, into: out) }
                }
            }
            let batchSeconds = monotonicSeconds() - t0
            sink += output.reduce(0, +)
            loadSeconds.sort()
            let result = JSON.object([
                "model": .string("\(bundle.manifest.modelID)@\(bundle.manifest.version)"),
                "kind": .string(model.kindDescription),
                "bundle_bytes": .number(Double(bytes.count)),
                "calls": .number(Double(batches * batch)),
                "median_ns": .number((perCall[perCall.count / 2] * 1e9 * 10).rounded() / 10),
                "p99_ns": .number((perCall[Int(Double(perCall.count - 1) * 0.99)] * 1e9 * 10).rounded() / 10),
                "batch_rows_per_s": .number((Double(repeats * rows.count) / batchSeconds).rounded()),
                "load_ms_median": .number((loadSeconds[loadSeconds.count / 2] * 1e6).rounded() / 1e3),
                "load_verified": .bool(keys != nil),
                "checksum": .number(sink.isFinite ? 1 : 0),
            ])
            print(result.serialized)
        }
    }
}
