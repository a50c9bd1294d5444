import Features
import OccupantCore

extension FeatureSchema {
    /// Parses a feature schema written in YAML (or JSON): `features: [{name, transform, channel, window, …}]`,
    /// optionally `profiles: [{name, firmware}]`. Read strictly: unknown keys, wrong types and bad values are reported
    /// together, one line each with the line number and key path.
    public static func parse(yaml text: String, source: String = "feature schema") throws(OccupantError)
        -> FeatureSchema
    {
        let reader = DocumentReader(text: text, source: source, code: .usage)
        var schema = FeatureSchema(features: [])
        if let root = reader.root?.mapping(allowed: ["features", "profiles"]) {
            if let list = root.required("features")?.list() {
                if list.isEmpty { root["features"]?.report("a schema needs at least one feature") }
                let specs = list.map(featureSpec)
                schema.features = specs.compactMap { $0 }
                var seen: Set<String> = []
                for (field, spec) in zip(list, specs) {
                    if let spec, !seen.insert(spec.name).inserted {
                        field.report("duplicate feature name '\(spec.name)'")
                    }
                }
            }
            if let list = root.optional("profiles")?.list() {
                schema.profiles = list.compactMap(profileCompatibility)
            }
        }
        do {
            try reader.finish()
        } catch {
            throw OccupantError(.usage, error.description)
        }
        return schema
    }

    /// Reads and parses a schema file.
    public static func load(path: String) throws(OccupantError) -> FeatureSchema {
        let text: String
        do {
            text = try readDocumentText(path: path, code: .usage, what: "feature schema")
        } catch {
            throw OccupantError(.usage, error.description)
        }
        return try parse(yaml: text, source: path)
    }

    private static func featureSpec(_ field: Field) -> FeatureSpec? {
        let keys = ["name", "transform", "channel", "window", "category", "units", "minimum", "maximum"]
        guard let map = field.mapping(allowed: keys) else { return nil }
        let name = map.required("name")?.string()
        let transform = map.required("transform")?.choice(FeatureSpec.Transform.allCases.map(\.rawValue))
            .flatMap(FeatureSpec.Transform.init(rawValue:))
        let channel = map.optional("channel")?.string()
        let window = map.optional("window").flatMap { $0.duration() }
        let minimum = map.optional("minimum")?.double()
        let maximum = map.optional("maximum")?.double()
        guard let name, let transform else { return nil }
        if let window, window <= 0 { map["window"]?.report("must be positive") }
        return FeatureSpec(
            name: name, transform: transform, channel: channel, window: window,
            category: map.optional("category")?.string(), units: map.optional("units")?.string(),
            minimum: minimum, maximum: maximum)
    }

    private static func profileCompatibility(_ field: Field) -> ProfileCompatibility? {
        guard let map = field.mapping(allowed: ["name", "firmware"]), let name = map.required("name")?.string() else {
            return nil
        }
        return ProfileCompatibility(name: name, firmware: map.optional("firmware")?.string())
    }
}
