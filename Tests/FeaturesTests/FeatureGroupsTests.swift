import OccupantCore
import Testing

@testable import Features

@Suite("Feature groups")
struct FeatureGroupsTests {
    @Test("predictable names")
    func names() {
        let schema = FeatureSchema.grouped([
            .raw(channels: ["sound", "temperature"]),
            .levels(channels: ["sound"]),
            .trends(channels: ["temperature"]),
            .categorical(channel: "hvac", categories: ["HEATING", "Cooling mode"]),
            .time(),
        ])
        #expect(
            schema.names == [
                "sound", "temperature",
                "sound_mean_10s", "sound_max_10s", "sound_std_10s", "sound_mean_60s", "sound_max_60s", "sound_std_60s",
                "temperature_delta_600s", "temperature_slope_600s",
                "hvac_is_heating", "hvac_is_cooling_mode", "hvac_since_change",
                "tod_sin", "tod_cos", "dow",
            ])
        #expect(FeatureGroup.windowedName(channel: "co2", transform: .std, window: 2.5) == "co2_std_2p5s")
        #expect(FeatureGroup.categorical(channel: "hvac", categories: []).name == "context:hvac")
    }

    @Test("categories seen in a table, sorted")
    func categoriesSeen() {
        let rows = recordedStream(seed: 3, count: 2000)
        #expect(FeatureGroup.categories(of: "hvac", in: rows) == ["COOLING", "FAN", "HEATING", "STANDBY"])
    }

    @Test("every group builds a valid pipeline")
    func valid() throws {
        let schema = FeatureSchema.grouped([
            .raw(channels: ["a"]), .levels(channels: ["a"], windows: [1, 86_400], transforms: [.min, .max]),
            .trends(channels: ["b"]), .categorical(channel: "c", categories: ["x"], sinceChange: false),
            .time(dayOfWeek: false),
        ])
        let p = try FeaturePipeline(schema: schema)
        #expect(p.count == 1 + 4 + 2 + 1 + 2)
    }
}
