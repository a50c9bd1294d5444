import ArgumentParser
import Crypto
import Evaluator
import Features
import Foundation
import Gateway
import OccupantCore
import Sensors

/// `occupant model import`: ship a model trained elsewhere (XGBoost, LightGBM, logistic regression) to gateways.
struct ModelImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert an XGBoost, LightGBM or logistic-regression model into a signed .occmodel bundle.",
        discussion: """
            Golden vectors (the rows every gateway re-scores before activating the model) are computed by Occupant's \
            evaluator on the --inputs rows (or on 64 rows spread over the model's split thresholds) and, with \
            --expected, cross-checked against the source library's scores to within 1e-6.
            """)

    @Option(help: "XGBoost JSON model (Booster.save_model).") var xgboost: String?
    @Option(help: "LightGBM text model (Booster.save_model).") var lightgbm: String?
    @Option(help: "Logistic regression JSON: {\"coefficients\":[…],\"intercept\":x}.") var logistic: String?

    @Option(help: "Feature schema (YAML), or a comma-separated list of raw column names in the model's order.")
    var features: String

    @Option(help: "Private key from `occupant keys generate`.") var signingKey: String
    @Option(help: "Output bundle.") var out: String

    @Option(help: "Model id (default: the model file's name).") var modelId: String?
    @Option(
        name: .customLong("model-version"), help: "The model's version, increasing with every release of this model id."
    )
    var version: Int = 1
    @Option(help: "fleet, or site:ID, room:ID, gateway:ID.") var scope: String = "fleet"
    @Option(help: "Probability at or above which the room counts as occupied.") var threshold: Double = 0.5
    @Option(help: "Seconds the model must say occupied before the state flips.") var occupiedAfter: Double = 0
    @Option(help: "Seconds the model must say vacant before the state flips.") var vacantAfter: Double = 60
    @Option(help: "Rows (CSV with the feature columns) for golden vectors.") var inputs: String?
    @Option(help: "The source library's probabilities for --inputs (CSV, header `probability`).") var expected: String?
    @Option(help: "ISO-8601 time after which gateways refuse the model.") var expires: String?

    func validate() throws {
        if [xgboost, lightgbm, logistic].compactMap({ $0 }).count != 1 {
            throw ValidationError("give exactly one of --xgboost, --lightgbm, --logistic")
        }
        if expected != nil && inputs == nil { throw ValidationError("--expected needs --inputs (the rows it scores)") }
        if version < 1 { throw ValidationError("--model-version must be at least 1") }
        if !(0...1).contains(threshold) { throw ValidationError("--threshold must be within 0…1") }
        if let expires, Instant(iso8601: expires) == nil {
            throw ValidationError("--expires: '\(expires)' is not ISO-8601")
        }
    }

    func run() throws {
        try reporting {
            try checkOutputFolder(out)
            let imported: ImportedModel
            if let xgboost {
                imported = try XGBoostImporter.load(path: xgboost)
            } else if let lightgbm {
                imported = try LightGBMImporter.load(path: lightgbm)
            } else {
                imported = try LogisticImporter.load(path: logistic!)
            }
            let schema = try BundleBuilder.schema(features, loadFile: FeatureSchema.load(path:))
            try BundleBuilder.checkMatches(imported, schema: schema)
            let rows =
                try inputs.map { inputs throws(OccupantError) in
                    try BundleBuilder.goldenRows(from: FeatureTable.load(path: inputs), schema: schema, name: inputs)
                } ?? BundleBuilder.syntheticRows(imported.model)
            if let expected {
                let table = try FeatureTable.load(path: expected)
                guard let scores = table.column("probability"), scores.count == rows.count else {
                    throw OccupantError(
                        .data, "\(expected): needs a 'probability' column with one row per --inputs row (\(rows.count))"
                    )
                }
                let check = GoldenVectors.crossCheck(
                    model: imported.model, rows: rows, expected: scores, tolerance: 1e-6)
                guard check.passed else {
                    throw OccupantError(
                        .model,
                        "our evaluator disagrees with the source library on row \(check.worstRow + 1): \(check.computed) vs \(check.expected) (|Δ| = \(check.error) > 1e-6)"
                    )
                }
                print("cross-check: \(rows.count) rows agree with the source library (max |Δ| \(check.error))")
            }
            let (key, keyID) = try SigningKeys.readPrivateKey(path: signingKey)
            let source = xgboost ?? lightgbm ?? logistic!
            let manifest = BundleManifest(
                modelID: modelId ?? defaultID(source), version: version, scope: try BundleBuilder.scope(scope),
                created: Instant(seconds: realtimeSeconds()), features: schema,
                policy: .init(threshold: threshold, occupiedAfter: occupiedAfter, vacantAfter: vacantAfter),
                provenance: .init(source: imported.source),
                // Every row was cross-checked; the bundle carries the first few.
                golden: GoldenVectors.make(model: imported.model, rows: Array(rows.prefix(BundleBuilder.goldenCount))),
                expires: expires.flatMap { Instant(iso8601: $0) })
            let bytes = ModelBundle(manifest: manifest, model: imported.model).encode(signingKey: key, keyID: keyID)
            guard FileManager.default.createFile(atPath: out, contents: Data(bytes)) else {
                throw OccupantError(.io, "cannot write \(out)")
            }
            let sourceSize = (try? FileManager.default.attributesOfItem(atPath: source)[.size] as? Int) ?? 0
            print(
                "wrote \(out): \(manifest.modelID)@\(manifest.version), \(imported.model.kindDescription), \(bytes.count) bytes (source \(sourceSize) bytes), signed by \(keyID)"
            )
        }
    }

    func defaultID(_ path: String) -> String {
        let name = (path as NSString).lastPathComponent
        return name.split(separator: ".").first.map(String.init) ?? "model"
    }
}
