import Features
import OccupantCore
import Yams

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension FeatureSchema {
    /// Parses a feature schema written in YAML (or JSON): `features: [{name, transform, channel, window, …}]`.
    public static func parse(yaml text: String, source: String = "feature schema") throws(OccupantError) -> FeatureSchema {
        do {
            return try YAMLDecoder().decode(FeatureSchema.self, from: text)
        } catch {
            let reason = String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            throw OccupantError(.usage, "\(source) is not a feature schema: \(reason)")
        }
    }

    /// Reads and parses a schema file.
    public static func load(path: String) throws(OccupantError) -> FeatureSchema {
        let text: String
        do throws(OccupantError) {
            text = try LocalFileSystem().readText(path)
        } catch {
            throw OccupantError(.usage, "cannot read \(path): \(error.fileReason)", errno: error.errno)
        }
        return try parse(yaml: text, source: path)
    }
}
