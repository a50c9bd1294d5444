import OccupantCore
import OccupantTesting
import Testing

@testable import Features

@Suite("Long streams", .ownThread)
struct LongStreamTests {
    @Test("a million samples: memory stays bounded and the running sums do not drift")
    func millionSamples() throws {
        let schema = FeatureSchema(
            features: [.mean, .std, .slope, .max, .min, .delta].map { t in
                FeatureSpec(name: t.rawValue, transform: t, channel: "x", window: 60)
            })
        var p = try FeaturePipeline(schema: schema)
        var rng = SeededGenerator(seed: 42)
        var t = 1_780_000_000.0
        var level = 1000.0
        var tail: [(t: Double, v: Double)] = []
        let total = 1_000_000
        for i in 0..<total {
            t += i % 10_000 == 5_000 ? 90 : 0.1 + Double(rng.next() % 900) / 1000
            level += Double(Int64(rng.next() % 2001) - 1000) / 1000
            let v = level + Double(rng.next() % 1000) / 7
            p.update(at: Instant(seconds: t)) { _ in .number(v) }
            if i >= total - 200 { tail.append((t, v)) }
        }
        let window = try #require(p.windowsForTesting.first)
        #expect(window.storageCapacity <= 3 * 256) // at most ~120 samples in 60 s, rounded up to a power of two
        #expect(window.rebuilds > 1000)

        let points = tail.filter { $0.t > t - 60 }
        let reference = ReferenceFeatures(schema: schema, limits: .standard)
        let rows: [Row] = points.map { (Instant(seconds: $0.t), ["x": .number($0.v)]) }
        let expected = try #require(reference.rows(rows).last)
        for f in schema.features.indices {
            #expect(close(p.values[f], expected[f]), "\(p.names[f]): \(p.values[f]) vs \(expected[f].value)")
        }
    }

    @Test("a window holds at most its capacity; the oldest samples go first")
    func capacity() throws {
        let schema = FeatureSchema(features: [
            FeatureSpec(name: "n", transform: .mean, channel: "x", window: 3600),
            FeatureSpec(name: "lo", transform: .min, channel: "x", window: 3600),
            FeatureSpec(name: "d", transform: .delta, channel: "x", window: 3600),
        ])
        var p = try FeaturePipeline(schema: schema, limits: FeaturePipeline.Limits(windowCapacity: 100))
        for i in 0..<1000 { p.update(at: Instant(seconds: Double(i)), values: ["x": .number(Double(i))]) }
        // The window keeps the newest 100 samples, 900…999.
        #expect(p.values == [949.5, 900, 99])
        let window = try #require(p.windowsForTesting.first)
        #expect(window.ring.count == 100)
        #expect(window.storageCapacity <= 3 * 100)
    }
}
