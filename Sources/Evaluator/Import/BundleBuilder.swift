import Features
import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The parts of `occupant model import` that are not argument handling: the feature schema from `--features`, the
/// scope from `--scope`, the golden rows (from an input table, or synthesised over the model's split thresholds),
/// and the checks that tie an imported model to its schema.
public enum BundleBuilder {
    /// How many golden vectors a bundle carries: enough to catch a bad evaluator, few enough to keep it compact.
    public static let goldenCount = 64
    /// The fewest input rows accepted for golden vectors.
    public static let minimumInputRows = 32

    /// `fleet`, or `site:ID`, `room:ID`, `gateway:ID`.
    public static func scope(_ text: String) throws(OccupantError) -> BundleManifest.Scope {
        if text == "fleet" { return .fleet }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = BundleManifest.Scope.Kind(rawValue: parts[0]), kind != .fleet,
            !parts[1].isEmpty
        else {
            throw OccupantError(.usage, "--scope: expected fleet, site:ID, room:ID or gateway:ID, got '\(text)'")
        }
        return .init(kind: kind, id: parts[1])
    }

    /// A schema file (`.yaml`, `.yml`, `.json`, read by `loadFile`), or a comma-separated list of raw column names in
    /// the model's order.
    public static func schema(
        _ text: String, loadFile: (String) throws(OccupantError) -> FeatureSchema
    ) throws(OccupantError) -> FeatureSchema {
        if text.hasSuffix(".yaml") || text.hasSuffix(".yml") || text.hasSuffix(".json") {
            do { return try loadFile(text) } catch { throw OccupantError(.usage, "--features: \(error.message)") }
        }
        let columns = text.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        guard !columns.isEmpty else { throw OccupantError(.usage, "--features: no column names") }
        return .raw(columns: columns)
    }

    /// The schema must name as many features as the model reads, and the same ones when the model file names them.
    public static func checkMatches(_ imported: ImportedModel, schema: FeatureSchema) throws(OccupantError) {
        guard schema.features.count == imported.model.featureCount else {
            throw OccupantError(
                .model,
                "--features names \(schema.features.count) features, the model reads \(imported.model.featureCount)")
        }
        if !imported.featureNames.isEmpty, imported.featureNames != schema.names {
            throw OccupantError(
                .model,
                "the model's features are [\(imported.featureNames.joined(separator: ", "))], --features says [\(schema.names.joined(separator: ", "))]"
            )
        }
    }

    /// The schema's columns of `table`, in schema order; at least ``minimumInputRows`` rows. `name` labels errors.
    public static func goldenRows(from table: FeatureTable, schema: FeatureSchema, name: String) throws(OccupantError)
        -> [[Double]]
    {
        var indices: [Int] = []
        for column in schema.names {
            guard let i = table.columns.firstIndex(of: column) else {
                throw OccupantError(.data, "\(name): no column '\(column)'")
            }
            indices.append(i)
        }
        let rows = table.rows.map { row in indices.map { row[$0] } }
        guard rows.count >= minimumInputRows else {
            throw OccupantError(.data, "\(name): \(rows.count) rows; golden vectors need at least \(minimumInputRows)")
        }
        return rows
    }

    /// Rows spread over each feature's split thresholds (trees) or a standard range (logistic), some missing (trees
    /// only). Deterministic: the same model gives the same rows.
    public static func syntheticRows(_ model: Model, count: Int = goldenCount, seed: UInt64 = 42) -> [[Double]] {
        var ranges = [(Double, Double)](repeating: (-3, 3), count: model.featureCount)
        if case .trees(let ensemble) = model {
            var lo = [Double](repeating: .infinity, count: model.featureCount)
            var hi = [Double](repeating: -.infinity, count: model.featureCount)
            for (i, f) in ensemble.splitFeature.enumerated()
            where f >= 0 && Int(f) < model.featureCount && ensemble.value[i].isFinite {
                lo[Int(f)] = min(lo[Int(f)], ensemble.value[i])
                hi[Int(f)] = max(hi[Int(f)], ensemble.value[i])
            }
            for f in 0..<model.featureCount where lo[f] <= hi[f] {
                let pad = max(1e-3, (hi[f] - lo[f]) * 0.1)
                ranges[f] = (lo[f] - pad, hi[f] + pad)
            }
        }
        var rng = SplitMix64(seed: seed)
        let missingAllowed: Bool = { if case .trees = model { return true } else { return false } }()
        return (0..<count).map { _ in
            ranges.map { r in
                if missingAllowed && rng.nextDouble() < 0.05 { return .nan }
                return Double(Float(r.0 + rng.nextDouble() * (r.1 - r.0)))
            }
        }
    }
}
