import Crypto
import Features
import OccupantCore

@testable import Evaluator

/// Builds bundles for the tests.
enum BundleFactory {
    static let key = SigningKeys.generate()
    static var keyID: String { SigningKeys.keyID(for: key.publicKey) }
    static var trusted: [TrustedKey] { [TrustedKey(publicKey: key.publicKey)] }
    static let created = Instant(iso8601: "2026-11-22T08:00:00Z")!

    /// A bundle around a fixture model with golden vectors from its first `goldenCount` input rows.
    static func bundle(case name: String, goldenCount: Int = 32, expires: Instant? = nil) throws -> ModelBundle {
        let imported = try Fixtures.importModel(name)
        let rows = Array(try Fixtures.inputs(name).rows.prefix(goldenCount))
        return bundle(
            model: imported.model, names: imported.featureNames, rows: rows, expires: expires, source: imported.source)
    }

    static func bundle(
        model: Model, names: [String], rows: [[Double]], expires: Instant? = nil, source: String? = nil
    ) -> ModelBundle {
        let manifest = BundleManifest(
            modelID: "test-model", version: 3, scope: .init(kind: .room, id: "office-3f"), created: created,
            features: .raw(columns: names), policy: .init(threshold: 0.5, occupiedAfter: 30, vacantAfter: 600),
            provenance: .init(source: source), golden: GoldenVectors.make(model: model, rows: rows), expires: expires)
        return ModelBundle(manifest: manifest, model: model)
    }

    /// A tiny two-feature, two-tree XGBoost-flavour ensemble (built without validation) and 32 golden rows.
    static func small(
        splitFeature: [Int32] = [0, -1, -1, 1, -1, -1], left: [Int32] = [1, -1, -1, 4, -1, -1],
        right: [Int32] = [2, -1, -1, 5, -1, -1]
    ) -> ModelBundle {
        let ensemble = TreeEnsemble(
            flavour: .xgboost, featureCount: 2, baseMargin: 0, treeStart: [0, 3], splitFeature: splitFeature,
            value: [0.5, -0.25, 0.75, 1.5, 0.125, -0.5], left: left, right: right, flags: [1, 0, 0, 0, 0, 0])
        let rows: [[Double]] = (0..<32).map { (i: Int) -> [Double] in
            let second: Double = i % 7 == 0 ? .nan : Double(i % 3)
            return [Double(i % 5) * 0.25, second]
        }
        let golden: [GoldenVector]
        do {
            try ensemble.validate()
            golden = GoldenVectors.make(model: .trees(ensemble), rows: rows)
        } catch {
            golden = rows.map { GoldenVector(features: $0, probability: 0.5) }
        }
        let manifest = BundleManifest(
            modelID: "small", version: 1, created: created, features: .raw(columns: ["f0", "f1"]), policy: .init(),
            golden: golden)
        return ModelBundle(manifest: manifest, model: .trees(ensemble))
    }
}
