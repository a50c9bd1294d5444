import OccupantCore
import Testing

@testable import Features

@Suite("Schema validation")
struct SchemaValidationTests {
    struct Case: Sendable, CustomStringConvertible {
        var spec: FeatureSpec
        var message: String
        var description: String { message }
    }

    @Test(
        "errors name the feature",
        arguments: [
            Case(
                spec: FeatureSpec(name: "m", transform: .mean, channel: "x"),
                message: "feature 'm' (mean): window is required"),
            Case(
                spec: FeatureSpec(name: "m", transform: .max, channel: "x", window: 0),
                message: "feature 'm' (max): window must be a positive number of seconds, got 0"),
            Case(
                spec: FeatureSpec(name: "m", transform: .std, channel: "x", window: -5),
                message: "feature 'm' (std): window must be a positive number of seconds, got -5"),
            Case(
                spec: FeatureSpec(name: "m", transform: .slope, channel: "x", window: 90_000),
                message: "feature 'm' (slope): window 90000 s is longer than one day (86400 s)"),
            Case(
                spec: FeatureSpec(name: "d", transform: .delta, window: 60),
                message: "feature 'd' (delta): channel is required"),
            Case(
                spec: FeatureSpec(name: "r", transform: .raw, channel: ""),
                message: "feature 'r' (raw): channel is required"),
            Case(
                spec: FeatureSpec(name: "h", transform: .oneHot, channel: "hvac"),
                message: "feature 'h' (oneHot): category is required"),
            Case(
                spec: FeatureSpec(name: "s", transform: .sinceChange),
                message: "feature 's' (sinceChange): channel is required"),
            Case(
                spec: FeatureSpec(name: "", transform: .timeOfDaySin),
                message: "feature #0 (timeOfDaySin): name is empty"),
            Case(
                spec: FeatureSpec(name: "r", transform: .raw, channel: "x", minimum: 5, maximum: 1),
                message: "feature 'r' (raw): minimum 5 is above maximum 1"),
        ])
    func invalid(_ c: Case) {
        #expect(throws: OccupantError(.model, c.message)) {
            _ = try FeaturePipeline(schema: FeatureSchema(features: [c.spec]))
        }
    }

    @Test("duplicate names are rejected")
    func duplicates() {
        let schema = FeatureSchema(features: [
            FeatureSpec(name: "x", transform: .raw, channel: "x"),
            FeatureSpec(name: "x", transform: .mean, channel: "x", window: 5),
        ])
        #expect(throws: OccupantError(.model, "feature 'x' (mean): name is used by an earlier feature")) {
            _ = try FeaturePipeline(schema: schema)
        }
    }

    @Test("features on one channel and window share one window")
    func sharing() throws {
        let schema = FeatureSchema.grouped([
            .levels(channels: ["sound"], windows: [10, 60]), .raw(channels: ["sound"]),
        ])
        let p = try FeaturePipeline(schema: schema)
        #expect(p.channels == ["sound"])
        #expect(p.count == 7)
    }
}
