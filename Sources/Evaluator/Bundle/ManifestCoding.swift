#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How a manifest is written: pretty-printed JSON with sorted keys, non-finite numbers as strings.
enum ManifestCoding {
    static let nonFinite = JSONDecoder.NonConformingFloatDecodingStrategy.convertFromString(
        positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")

    static func encode(_ manifest: BundleManifest) -> [UInt8] {
        Array(json(manifest).utf8)
    }

    /// Pretty-printed JSON text of the manifest.
    static func json(_ manifest: BundleManifest) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            return String(decoding: try encoder.encode(manifest), as: UTF8.self)
        } catch {
            // Every field is a string, number (non-finite ones spelled out) or array of them: a failure is a bug.
            preconditionFailure("manifest encoding failed: \(error)")
        }
    }
}
