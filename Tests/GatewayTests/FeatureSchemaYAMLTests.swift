import Features
import Gateway
import OccupantCore
import Testing

@Suite struct FeatureSchemaYAMLTests {
    @Test func readsFeaturesAndProfiles() throws {
        let schema = try FeatureSchema.parse(
            yaml: """
                features:
                  - { name: sound, transform: raw, channel: sound }
                  - { name: sound_mean_5m, transform: mean, channel: sound, window: 5m }
                  - { name: hour_sin, transform: timeOfDaySin }
                profiles:
                  - { name: thermostat-mcu, firmware: ">=2.1" }
                """)
        #expect(schema.names == ["sound", "sound_mean_5m", "hour_sin"])
        #expect(schema.features[1].window == 300)
        #expect(schema.profiles == [ProfileCompatibility(name: "thermostat-mcu", firmware: ">=2.1")])
    }

    @Test func everyProblemIsReportedWithItsLineAndKey() {
        #expect {
            _ = try FeatureSchema.parse(
                yaml: """
                    features:
                      - { name: sound, transform: raw, chanel: sound }
                      - { name: level, transform: average, channel: sound }
                      - { name: sound, transform: mean, channel: sound, window: soon }
                    """, source: "schema.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.contains("schema.yaml:2: features[0].chanel: unknown key 'chanel' (did you mean 'channel'?)")
                && text.contains("schema.yaml:3: features[1].transform: 'average' is not one of")
                && text.contains("features[2].window: expected a duration")
        }
    }

    @Test func aMissingFileNamesTheFile() {
        #expect {
            _ = try FeatureSchema.load(path: "/nonexistent/schema.yaml")
        } throws: { error in
            "\(error)".contains("/nonexistent/schema.yaml") && "\(error)".contains("cannot read the feature schema")
        }
    }
}
