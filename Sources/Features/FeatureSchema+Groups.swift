import OccupantCore

extension FeatureSchema {
    /// A schema made of the given groups in order; a feature whose name an earlier group already produced is
    /// skipped.
    public static func grouped(_ groups: [FeatureGroup], profiles: [ProfileCompatibility] = []) -> FeatureSchema {
        var names = Set<String>()
        var specs: [FeatureSpec] = []
        for group in groups {
            for spec in group.features where names.insert(spec.name).inserted { specs.append(spec) }
        }
        return FeatureSchema(features: specs, profiles: profiles)
    }
}
