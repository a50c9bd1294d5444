import OccupantCore
import Testing

@testable import Features

@Suite("Categorical and raw features")
struct CategoricalTests {
    let schema = FeatureSchema.grouped([
        .raw(channels: ["sound"]),
        .categorical(channel: "hvac", categories: ["COOLING", "HEATING", "STANDBY"]),
    ])

    @Test("one-hot and time since change follow the latest valid value")
    func changes() throws {
        #expect(
            schema.names == ["sound", "hvac_is_cooling", "hvac_is_heating", "hvac_is_standby", "hvac_since_change"])
        var p = try FeaturePipeline(schema: schema)
        #expect(p.values.allSatisfy { $0.isNaN })
        p.update(at: Instant(seconds: 1000), values: ["sound": .number(12), "hvac": .category("STANDBY")])
        // No change seen yet: "steady for a long time" (the cap).
        #expect(p.values == [12, 0, 0, 1, 86_400])
        p.update(at: Instant(seconds: 1010), values: ["sound": nil, "hvac": .category("HEATING")])
        #expect(p.values == [12, 0, 1, 0, 0]) // one failed read keeps the last sound value
        p.update(at: Instant(seconds: 1025), values: ["hvac": nil])
        #expect(p.values == [12, 0, 1, 0, 15])
        p.update(at: Instant(seconds: 1041), values: ["hvac": .category("HEATING")])
        // sound last valid at 1000: older than the 30 s staleness.
        #expect(p.values[0].isNaN)
        #expect(Array(p.values[1...]) == [0, 1, 0, 31])
        p.update(at: Instant(seconds: 1080), values: [:])
        #expect(p.values[1...].allSatisfy { $0.isNaN }) // hvac stale
        p.update(at: Instant(seconds: 1090), values: ["hvac": .category("HEATING")])
        #expect(Array(p.values[1...]) == [0, 1, 0, 80]) // no change across the gap
        p.update(at: Instant(seconds: 1100), values: ["hvac": .category("FAN")])
        #expect(Array(p.values[1...]) == [0, 0, 0, 0]) // a category the model has no column for
    }

    @Test("since-change is capped by the spec's window")
    func cap() throws {
        let schema = FeatureSchema(features: [
            FeatureSpec(name: "c", transform: .sinceChange, channel: "hvac", window: 60)
        ])
        var p = try FeaturePipeline(schema: schema)
        p.update(at: Instant(seconds: 0), values: ["hvac": .category("A")])
        #expect(p.values == [60])
        p.update(at: Instant(seconds: 10), values: ["hvac": .category("B")])
        var t = 10.0
        while t < 100 {
            t += 5
            p.update(at: Instant(seconds: t), values: ["hvac": .category("B")])
        }
        #expect(p.values == [60])
    }

    @Test("numbers on a categorical channel one-hot by their value")
    func numericCategories() throws {
        let schema = FeatureSchema(features: [
            FeatureSpec(name: "m2", transform: .oneHot, channel: "mode", category: "2")
        ])
        var p = try FeaturePipeline(schema: schema)
        p.update(at: Instant(seconds: 0), values: ["mode": .number(2)])
        #expect(p.values == [1])
        p.update(at: Instant(seconds: 1), values: ["mode": .number(3)])
        #expect(p.values == [0])
    }

    @Test("a raw feature with a window uses it as its staleness bound")
    func rawStaleness() throws {
        let schema = FeatureSchema(features: [FeatureSpec(name: "t", transform: .raw, channel: "t", window: 300)])
        var p = try FeaturePipeline(schema: schema)
        p.update(at: Instant(seconds: 0), values: ["t": .number(21)])
        p.update(at: Instant(seconds: 299), values: ["t": nil])
        #expect(p.values == [21])
        p.update(at: Instant(seconds: 300), values: ["t": .category("oops")])
        #expect(p.values[0].isNaN)
    }

    @Test("categorical features match a naive recomputation on a random stream")
    func matchReference() throws {
        let rows = recordedStream(seed: 11, count: 4000)
        let reference = ReferenceFeatures(schema: schema, limits: .standard).rows(rows)
        let batch = try BatchFeatures.rows(schema: schema, rows: rows)
        var mismatches = 0
        for (r, row) in batch.enumerated() {
            for (f, value) in row.enumerated() where !close(value, reference[r][f]) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test("time going backwards resets the state")
    func backwards() throws {
        let schema = FeatureSchema(features: [FeatureSpec(name: "m", transform: .mean, channel: "x", window: 100)])
        var p = try FeaturePipeline(schema: schema)
        p.update(at: Instant(seconds: 50), values: ["x": .number(10)])
        p.update(at: Instant(seconds: 40), values: ["x": .number(2)])
        #expect(p.values == [2])
        #expect(p.timeResets == 1)
        p.update(at: Instant(seconds: .nan), values: ["x": .number(7)])
        #expect(p.values == [2])
        #expect(p.rejectedSamples == 1)
    }

    @Test("missing and out-of-range counts")
    func counters() throws {
        let schema = FeatureSchema(features: [
            FeatureSpec(name: "a", transform: .raw, channel: "a", minimum: 0, maximum: 10),
            FeatureSpec(name: "b", transform: .raw, channel: "b"),
        ])
        var p = try FeaturePipeline(schema: schema)
        p.update(at: Instant(seconds: 0), values: ["a": .number(11)])
        #expect(p.missingCount == 1 && p.outOfRangeCount == 1)
        #expect(p.outOfRangeFeatures == ["a"])
        p.update(at: Instant(seconds: 1), values: ["a": .number(-1), "b": .number(3)])
        p.update(at: Instant(seconds: 2), values: ["a": .number(5), "b": .number(3)])
        #expect(p.missingCount == 0 && p.outOfRangeCount == 0)
        #expect(p.counters.updates == 3)
        #expect(p.counters.missing == [0, 1])
        #expect(p.counters.aboveMaximum == [1, 0])
        #expect(p.counters.belowMinimum == [1, 0])
        p.resetCounters()
        #expect(p.counters == FeatureCounters(featureCount: 2))
    }
}
