import Features
import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Evaluator
@testable import Training

/// Property tests for a NaN probability: small models trained on demo-like and deliberately degenerate data, with
/// random hyper-parameters (including λ = 0 and no minimum child weight) on one and two threads, must be the same
/// model on any thread count and score every probe row — missing inputs, ±∞, huge values, values on and next to
/// every threshold — to a finite probability, bit for bit the same through the compiled layout and the reference walk.
@Suite("Trained models score finite, identically on every walk", .ownThread)
struct ScoreFuzzTests {
    /// A demo-like table: the simulated thermostat's integer sound level and 0.01 °C temperature every ~12 s, a
    /// failed read now and then, and stalls of up to 40 minutes (a busy machine at 1200× real time).
    static func demoTable(rows: Int, seed: UInt64) -> LabelledTable {
        var rng = TrainingRandom(seed: seed)
        var times: [Instant] = []
        var labels: [UInt8?] = []
        var values: [[ChannelValue?]] = []
        var t = 1_767_571_200.0 // 2026-01-05 00:00 UTC
        for _ in 0..<rows {
            t += rng.unit() < 0.01 ? rng.uniform(60, 2400) : 12 + rng.uniform(-0.5, 0.5)
            let hour = t.truncatingRemainder(dividingBy: 86_400) / 3600
            let occupied = hour >= 8 && hour < 18 && rng.unit() < 0.85
            let sound = (occupied ? 12 : 3 as Double) + (rng.uniform(-2, 2)).rounded()
            let temperature = ((occupied ? 21 : 19.8) + rng.uniform(-0.2, 0.2)) * 100
            times.append(Instant(seconds: t))
            labels.append(occupied ? 1 : 0)
            values.append([
                rng.unit() < 0.02 ? nil : .number(sound),
                rng.unit() < 0.01 ? nil : .number(temperature.rounded() / 100),
            ])
        }
        return LabelledTable(channels: ["sound", "temperature"], times: times, labels: labels, values: values)
    }

    /// A data set for one fit: columns (`columns[f][r]`) and labels.
    struct DataSet: CustomStringConvertible {
        var name: String
        var columns: [[Double]]
        var labels: [UInt8]
        var description: String { "\(name) (\(labels.count) rows, \(columns.count) features)" }
    }

    /// The demo's feature columns (every default group: raw, levels, trends, time), then degenerate sets.
    static func dataSets() throws -> [DataSet] {
        var sets: [DataSet] = []
        for seed in [1, 2] as [UInt64] {
            let table = demoTable(rows: 3000, seed: seed)
            let space = try FeatureSpace(table: table, groups: FeatureSpace.defaultGroups(for: table))
            let labelled = table.labels.indices.filter { table.labels[$0] != nil }
            sets.append(
                DataSet(
                    name: "demo seed \(seed)", columns: space.columns.map { c in labelled.map { c[$0] } },
                    labels: labelled.map { table.labels[$0]! }))
        }
        var rng = TrainingRandom(seed: 77)
        let n = 400
        let mixed = (0..<n).map { UInt8($0 % 3 == 0 ? 1 : 0) }
        let noise = (0..<n).map { _ in rng.uniform(-1, 1) }
        sets.append(
            DataSet(
                name: "constant features", columns: [Array(repeating: 5, count: n), noise.map { _ in 0 }], labels: mixed
            ))
        sets.append(
            DataSet(name: "all vacant", columns: [noise, noise.map { $0 * 2 }], labels: Array(repeating: 0, count: n)))
        sets.append(DataSet(name: "all occupied", columns: [noise], labels: Array(repeating: 1, count: n)))
        sets.append(DataSet(name: "one row", columns: [[1], [.nan]], labels: [1]))
        sets.append(DataSet(name: "two rows", columns: [[1, 2], [3, 3]], labels: [0, 1]))
        sets.append(DataSet(name: "three rows", columns: [[.nan, 2, 1]], labels: [1, 0, 1]))
        sets.append(
            DataSet(
                name: "all missing but one column",
                columns: [Array(repeating: .nan, count: n), noise], labels: mixed))
        sets.append(
            DataSet(
                name: "mostly missing", columns: [noise.enumerated().map { $0.offset % 10 == 0 ? $0.element : .nan }],
                labels: noise.map { $0 > 0 ? 1 : 0 }))
        sets.append(
            DataSet(
                name: "extreme values",
                columns: [
                    noise.enumerated().map { i, v in [1e300, -1e300, 1e38, -3e38, v][i % 5] },
                    noise.map { $0 * 1e-300 }, noise.map { $0 + 1e15 },
                ],
                labels: noise.map { $0 > 0.3 ? 1 : 0 }))
        sets.append(
            DataSet(name: "separable", columns: [noise], labels: noise.map { $0 > 0 ? 1 : 0 }))
        return sets
    }

    /// Random hyper-parameters over the search's ranges and past them (λ = 0, no minimum child weight).
    static func parameters(_ rng: inout TrainingRandom) -> BoostingParameters {
        BoostingParameters(
            trees: rng.integer(1, 25), learningRate: rng.logUniform(0.02, 1), maxDepth: rng.integer(1, 8),
            minChildWeight: rng.unit() < 0.3 ? 0 : rng.logUniform(0.01, 20),
            l2: rng.unit() < 0.3 ? 0 : rng.logUniform(0.01, 10),
            minSplitGain: rng.unit() < 0.5 ? 0 : rng.logUniform(0.001, 1), rowSubsample: rng.uniform(0.3, 1),
            columnSubsample: rng.uniform(0.3, 1), earlyStoppingRounds: rng.integer(1, 20))
    }

    /// The training rows (up to 300), each with one input missing, every input missing, ±∞, huge and tiny values,
    /// and rows on, just below and just above every threshold.
    static func probeRows(_ e: TreeEnsemble, _ data: DataSet) -> [[Double]] {
        let width = e.featureCount
        let count = data.labels.count
        let picks = stride(from: 0, to: count, by: max(1, count / 300))
        var out = picks.map { r in data.columns.map { $0[r] } }
        let extremes: [Double] = [
            .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e39, -1e39,
            Double(Float.greatestFiniteMagnitude), .leastNonzeroMagnitude, -0.0, 0,
        ]
        for (i, row) in out.enumerated() where i < 50 {
            for f in 0..<width {
                var missing = row
                missing[f] = .nan
                out.append(missing)
                var extreme = row
                extreme[f] = extremes[(i + f) % extremes.count]
                out.append(extreme)
            }
        }
        out.append([Double](repeating: .nan, count: width))
        for v in extremes { out.append([Double](repeating: v, count: width)) }
        let base = out[0]
        for n in 0..<e.nodeCount where e.splitFeature[n] >= 0 {
            let threshold = Float(e.value[n])
            for probe in [
                Double(threshold), Double(threshold.nextDown), Double(threshold.nextUp), Double(threshold).nextUp,
                Double(threshold).nextDown,
            ] {
                var row = base
                row[Int(e.splitFeature[n])] = probe
                out.append(row)
            }
        }
        return out
    }

    /// Fits `data` with `p` on `threads` threads; the last 15 % of the rows stop it early when there are enough.
    static func fit(
        _ data: DataSet, _ p: BoostingParameters, monotone: [Int8], seed: UInt64, threads: Int
    ) throws -> GradientBoosting.Fit {
        let matrix = BinnedMatrix(columns: data.columns)
        let rows = Array(0..<data.labels.count)
        let split = rows.count >= 20 ? CrossValidation.earlyStoppingSplit(rows) : (rows, [])
        return try GradientBoosting.fit(
            matrix: matrix, features: Array(0..<data.columns.count), labels: data.labels, train: split.0,
            validation: split.1, parameters: p, monotone: monotone, seed: seed, threads: threads)
    }

    @Test("random fits on demo-like and degenerate data: finite, thread-independent, compiled = reference")
    func fuzz() throws {
        var rng = TrainingRandom(seed: 2026)
        var fits = 0
        var rowsScored = 0
        for data in try Self.dataSets() {
            for round in 0..<6 {
                let p = Self.parameters(&rng)
                let monotone: [Int8] =
                    rng.unit() < 0.5 ? [] : data.columns.map { _ in Int8(rng.integer(-1, 1)) }
                let seed = UInt64(rng.integer(0, 1_000_000))
                let what = "\(data), round \(round), \(p), monotone \(monotone), seed \(seed)"
                let one: GradientBoosting.Fit
                do {
                    one = try Self.fit(data, p, monotone: monotone, seed: seed, threads: 1)
                } catch {
                    Issue.record("\(what): the fit failed: \(error)")
                    continue
                }
                let two = try Self.fit(data, p, monotone: monotone, seed: seed, threads: 2)
                #expect(one.ensemble == two.ensemble, "\(what): one and two threads differ")
                let e = one.ensemble
                #expect(e.compiled != nil, "\(what): not compiled")
                var reference = e
                reference.compiled = nil
                var bad = 0
                var first = ""
                for row in Self.probeRows(e, data) {
                    row.withUnsafeBufferPointer { x in
                        let (a, b) = (e.margin(x), reference.margin(x))
                        let (pa, pb) = (e.probability(x), reference.probability(x))
                        let same = a.bitPattern == b.bitPattern && pa.bitPattern == pb.bitPattern
                        if !same || !a.isFinite || !(pa >= 0 && pa <= 1) {
                            if bad == 0 { first = "\(row): margin \(a) / \(b), probability \(pa) / \(pb)" }
                            bad += 1
                        }
                    }
                    rowsScored += 1
                }
                #expect(bad == 0, "\(what): \(bad) rows bad, first \(first)")
                fits += 1
            }
        }
        #expect(fits >= 60, "\(fits) fits")
        print("score fuzz: \(fits) fits, \(rowsScored) rows scored on both walks")
    }

    /// Enough rows that the histograms are summed in blocks on both threads.
    @Test("a fit summed in blocks scores the same on one and two threads")
    func blocks() throws {
        var rng = TrainingRandom(seed: 5)
        let n = 2 * FitThreads.blockRows + 1000
        let a = (0..<n).map { i in i % 53 == 0 ? Double.nan : rng.uniform(-1, 1) }
        let b = (0..<n).map { _ in rng.uniform(0, 1) }
        let data = DataSet(
            name: "blocks", columns: [a, b], labels: zip(a, b).map { $0.isNaN ? ($1 > 0.5 ? 1 : 0) : ($0 > 0 ? 1 : 0) })
        let p = BoostingParameters(trees: 4, maxDepth: 4, l2: 0)
        let one = try Self.fit(data, p, monotone: [], seed: 1, threads: 1)
        let two = try Self.fit(data, p, monotone: [], seed: 1, threads: 2)
        #expect(one.ensemble == two.ensemble)
        for row in [[Double.nan, 0.7], [0.2, .nan], [.infinity, -.infinity], [.nan, .nan]] {
            let x = Model.trees(one.ensemble).probability(row)
            #expect(x.isFinite && x >= 0 && x <= 1)
        }
    }

    /// λ = 0 with no minimum child weight: a child whose rows the model is already sure of has a hessian sum that
    /// rounds to 0, and its leaf weight -g / (h + λ) was ±∞ (the fit then failed: "value inf is not finite").
    @Test("λ = 0 and no minimum child weight: every fit succeeds and scores finite")
    func zeroL2() throws {
        let data = try Self.dataSets()[0]
        for seed in 0..<12 as Range<UInt64> {
            let p = BoostingParameters(
                trees: 3, learningRate: 0.75, maxDepth: 8, minChildWeight: 0, l2: 0, rowSubsample: 0.45)
            let fit = try Self.fit(data, p, monotone: [], seed: seed, threads: 1)
            for row in Self.probeRows(fit.ensemble, data) {
                let x = Model.trees(fit.ensemble).probability(row)
                #expect(x >= 0 && x <= 1, "seed \(seed): \(row) scores \(x)")
            }
        }
    }

    /// A value past Float32's range became a +∞ bin edge, i.e. a split threshold the bundle refuses.
    @Test("values past Float32's range share the top bin; no infinite threshold")
    func hugeValues() throws {
        #expect(BinnedMatrix(columns: [[1, 2, 1e39, 1e300, -1e39]]).edges == [[1, 2]])
        let x: [Double] = (0..<200).map { $0 % 2 == 0 ? 1e39 : Double($0) }
        let data = DataSet(name: "huge", columns: [x], labels: x.map { $0 > 100 ? 1 : 0 })
        let fit = try Self.fit(data, BoostingParameters(trees: 5, maxDepth: 3), monotone: [], seed: 1, threads: 1)
        #expect(fit.ensemble.value.allSatisfy { $0.isFinite })
        #expect(Model.trees(fit.ensemble).probability([1e39]) > Model.trees(fit.ensemble).probability([3]))
    }

    /// `isotonic` is given present probabilities only; a NaN among them must not loop (it never equals itself).
    @Test("isotonic regression leaves NaN probabilities out")
    func isotonicNaN() throws {
        let c = CalibratorFit.isotonic([.nan, 0.2, 0.8, .nan], [1, 0, 1, 0])
        try c.validate()
        #expect(c == .isotonic(x: [0.2, 0.8], y: [0, 1]))
    }

    @Test("calibrators fitted on degenerate folds are valid and finite")
    func calibrators() throws {
        let cases: [(String, [Double], [UInt8], [Int])] = [
            ("one class", [0.2, 0.4, 0.9, 0.1], [1, 1, 1, 1], [0, 0, 1, 1]),
            ("other class", [0.2, 0.4, 0.9, 0.1], [0, 0, 0, 0], [0, 1, 1, 1]),
            ("constant probability", [0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1], [0, 0, 1, 1]),
            ("ends", [0, 1, 0, 1, 1e-300, 1 - 1e-16], [0, 1, 1, 0, 0, 1], [0, 0, 1, 1, 2, 2]),
            ("missing", [.nan, .nan, 0.3, 0.7], [0, 1, 0, 1], [0, 0, 1, 1]),
            ("all missing", [.nan, .nan], [0, 1], [0, 1]),
            ("one row", [0.7], [1], [0]),
            ("none", [], [], []),
        ]
        for (name, p, y, folds) in cases {
            let (calibrator, choice) = CalibratorFit.fit(probabilities: p, labels: y, folds: folds)
            #expect(choice.threshold > 0 && choice.threshold < 1, "\(name)")
            for fitted in [calibrator, CalibratorFit.platt(p.filter { !$0.isNaN }, y), CalibratorFit.isotonic(p, y)] {
                guard let fitted else { continue }
                #expect(throws: Never.self, "\(name): \(fitted)") { try fitted.validate() }
                for q in [0, 1e-300, 0.25, 0.5, 0.999, 1] {
                    let c = fitted.apply(q)
                    #expect(c >= 0 && c <= 1, "\(name): \(fitted) maps \(q) to \(c)")
                }
            }
        }
    }

    @Test("logistic fits on degenerate data are finite or refused in one line")
    func logistic() throws {
        let cases: [(String, [[Double]], [UInt8])] = [
            ("constant", [[1, 1, 1, 1], [2, 2, 2, 2]], [0, 1, 0, 1]),
            ("one class", [[1, 2, 3, 4]], [1, 1, 1, 1]),
            ("separable", [[1, 2, 3, 4]], [0, 0, 1, 1]),
            ("huge", [[1e300, -1e300, 1e300, -1e300]], [1, 0, 1, 0]),
            ("one usable row", [[1, .nan, .nan]], [1, 0, 1]),
        ]
        for (name, columns, labels) in cases {
            do {
                let fit = try LogisticRegression.fit(
                    columns: columns, labels: labels, rows: Array(labels.indices), parameters: .init())
                for r in labels.indices where columns.allSatisfy({ !$0[r].isNaN }) {
                    let p = Model.logistic(fit.model).probability(columns.map { $0[r] })
                    #expect(p >= 0 && p <= 1, "\(name): row \(r) scores \(p)")
                }
            } catch {
                #expect(!error.message.contains("\n"), "\(name): \(error)")
            }
        }
    }
}
