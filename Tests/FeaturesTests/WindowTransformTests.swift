import OccupantCore
import OccupantTesting
import Testing

@testable import Features

/// Every windowed transform of every test schema, over two windows, for two channels.
let windowedSchema: FeatureSchema = {
    var specs: [FeatureSpec] = []
    for channel in ["sound", "temperature"] {
        specs.append(FeatureSpec(name: channel, transform: .raw, channel: channel))
        for window in [5.0, 60, 600] {
            for transform in [FeatureSpec.Transform.mean, .max, .min, .std, .delta, .slope] {
                specs.append(
                    FeatureSpec(
                        name: FeatureGroup.windowedName(channel: channel, transform: transform, window: window),
                        transform: transform, channel: channel, window: window))
            }
        }
    }
    return FeatureSchema(features: specs)
}()

func bitsEqual(_ a: [[Double]], _ b: [[Double]]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in x.map(\.bitPattern) == y.map(\.bitPattern) }
}

@Suite("Windowed transforms", .ownThread)
struct WindowTransformTests {
    @Test(
        "match a naive recomputation on random streams with gaps and unavailable readings",
        arguments: [1, 2, 3] as [UInt64])
    func matchReference(seed: UInt64) throws {
        let rows = recordedStream(seed: seed, count: 3000)
        let reference = ReferenceFeatures(schema: windowedSchema, limits: .standard).rows(rows)
        var pipeline = try FeaturePipeline(schema: windowedSchema)
        var mismatches: [String] = []
        for (index, row) in rows.enumerated() {
            pipeline.update(at: row.0, values: row.1)
            for (f, value) in pipeline.values.enumerated() where !close(value, reference[index][f]) {
                mismatches.append("row \(index) \(pipeline.names[f]): \(value) vs \(reference[index][f].value)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
        // The stream has gaps longer than every window, so each window was empty (NaN) at some row.
        for f in pipeline.names.indices where pipeline.names[f].hasSuffix("_5s") {
            #expect(reference.contains { $0[f].value.isNaN }, "\(pipeline.names[f]) never empty")
        }
    }

    @Test("incremental, batch and sample paths are bit-identical", arguments: [7, 8] as [UInt64])
    func bitIdentical(seed: UInt64) throws {
        let rows = recordedStream(seed: seed, count: 5000)
        var pipeline = try FeaturePipeline(schema: windowedSchema)
        var live: [[Double]] = []
        for sample in samples(rows) {
            pipeline.update(sample)
            var buffer = [Double](repeating: 0, count: pipeline.count)
            buffer.withUnsafeMutableBufferPointer { _ = pipeline.write(into: $0) }
            live.append(buffer)
        }
        let batch = try BatchFeatures.rows(schema: windowedSchema, rows: rows)
        let fromSamples = try BatchFeatures.rows(schema: windowedSchema, samples: samples(rows))
        var replayed: [[Double]] = []
        try BatchFeatures.replay(
            schema: windowedSchema, rows: rows, time: { $0.0 }, value: { row, name in row.1[name] ?? nil }
        ) { _, vector in replayed.append(Array(vector)) }
        #expect(bitsEqual(live, batch))
        #expect(bitsEqual(live, fromSamples))
        #expect(bitsEqual(live, replayed))
        // And a score computed from the vectors (a fixed logistic model) is bit-identical too.
        let weights = (0..<windowedSchema.features.count).map { Double($0 % 7) / 100 - 0.03 }
        func score(_ x: [Double]) -> Double {
            var z = -0.5
            for (w, v) in zip(weights, x) where !v.isNaN { z += w * v }
            return 1 / (1 + (-z).exponentApprox)
        }
        #expect(live.map { score($0).bitPattern } == batch.map { score($0).bitPattern })
    }

    @Test("a window with a single sample: std 0, delta and slope NaN")
    func singleSample() throws {
        let schema = FeatureSchema(
            features: [.std, .delta, .slope, .mean].map { t in
                FeatureSpec(name: t.rawValue, transform: t, channel: "x", window: 10)
            })
        var p = try FeaturePipeline(schema: schema)
        p.update(at: Instant(seconds: 100), values: ["x": .number(3)])
        #expect(p.values[0] == 0)
        #expect(p.values[1].isNaN && p.values[2].isNaN)
        #expect(p.values[3] == 3)
        #expect(p.missingCount == 2)
        #expect(p.missingFeatures == ["delta", "slope"])
    }

    @Test("window boundary: samples with t > now - window only")
    func boundary() throws {
        let schema = FeatureSchema(features: [FeatureSpec(name: "m", transform: .mean, channel: "x", window: 10)])
        var p = try FeaturePipeline(schema: schema)
        p.update(at: Instant(seconds: 0), values: ["x": .number(1)])
        p.update(at: Instant(seconds: 5), values: ["x": .number(3)])
        #expect(p.values == [2])
        p.update(at: Instant(seconds: 10), values: ["x": nil])
        #expect(p.values == [3]) // the sample at 0 is exactly one window old: out
        p.update(at: Instant(seconds: 15), values: [:])
        #expect(p.values[0].isNaN)
    }

    @Test("constant values give exactly zero std and slope, even after the values moved")
    func constantWindow() throws {
        let schema = FeatureSchema(features: [
            FeatureSpec(name: "s", transform: .std, channel: "x", window: 10),
            FeatureSpec(name: "k", transform: .slope, channel: "x", window: 10),
        ])
        var p = try FeaturePipeline(schema: schema)
        for i in 0..<100 {
            p.update(at: Instant(seconds: Double(i)), values: ["x": .number(i < 50 ? Double(i) * 0.37 : 21.3)])
        }
        #expect(p.values == [0, 0])
    }

    @Test("slope and std stay accurate for a few samples left far from the sums' origin")
    func sparseAfterDenseHistory() throws {
        let schema = FeatureSchema(features: [
            FeatureSpec(name: "k", transform: .slope, channel: "x", window: 600),
            FeatureSpec(name: "s", transform: .std, channel: "x", window: 600),
        ])
        var p = try FeaturePipeline(schema: schema)
        var t = 1_780_000_000.0
        for i in 0..<600 {
            p.update(at: Instant(seconds: t), values: ["x": .number(20 + Double(i) * 0.001)])
            t += 1
        }
        t += 598
        p.update(at: Instant(seconds: t), values: ["x": .number(21)])
        p.update(at: Instant(seconds: t + 0.5), values: ["x": .number(21.01)])
        // Left in the window: the last sample of the dense run (t0 + 599) and the two new ones.
        let points = [(599.0, 20.599), (1198.0, 21.0), (1198.5, 21.01)]
        let mt = points.map(\.0).reduce(0, +) / 3
        let mv = points.map(\.1).reduce(0, +) / 3
        let sxy = points.map { ($0.0 - mt) * ($0.1 - mv) }.reduce(0, +)
        let sxx = points.map { ($0.0 - mt) * ($0.0 - mt) }.reduce(0, +)
        let std = (points.map { ($0.1 - mv) * ($0.1 - mv) }.reduce(0, +) / 3).squareRoot()
        #expect(abs(p.values[0] - sxy / sxx) <= 1e-12)
        #expect(abs(p.values[1] - std) <= 1e-12)
    }
}

extension Double {
    /// exp(x) from a fixed series (no libm), good enough for a deterministic test score.
    var exponentApprox: Double {
        let x = Swift.max(-30, Swift.min(30, self))
        var term = 1.0
        var sum = 1.0
        for k in 1..<80 {
            term *= x / Double(k)
            sum += term
        }
        return sum
    }
}
