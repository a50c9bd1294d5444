import Evaluator
import Foundation
import OccupantCore

/// The reference models in Tests/Fixtures/models (see its README).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/models")

    static let xgboostCases = [
        "xgb-d1-1", "xgb-d3-20", "xgb-d4-20", "xgb-d6-100", "xgb-d8-50", "xgb-d2-500", "xgb-d4-50-missing",
        "xgb-d3-20-base05", "xgb-d3-20-base05-plainbase", "xgb-d3-20-base02", "xgb-d3-20-base02-plainbase",
        "xgb-d3-30-imbalanced", "bench-d6-100", "bench-d4-20",
    ]
    static let lightgbmCases = [
        "lgb-1-l4", "lgb-20-l63", "lgb-100-l8", "lgb-50-l15-missing", "lgb-50-l15-zeromissing",
        "lgb-30-l15-categorical",
    ]
    static let logisticCases = ["logreg-6"]
    static let allCases = xgboostCases + lightgbmCases + logisticCases

    static func path(_ file: String) -> String { directory.appendingPathComponent(file).path }

    static func text(_ file: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
    }

    /// Imports the case's model with the matching importer.
    static func importModel(_ name: String) throws -> ImportedModel {
        if lightgbmCases.contains(name) { return try LightGBMImporter.load(path: path("\(name).model.txt")) }
        if logisticCases.contains(name) { return try LogisticImporter.load(path: path("\(name).logistic.json")) }
        return try XGBoostImporter.load(path: path("\(name).model.json"))
    }

    static func inputs(_ name: String) throws -> FeatureTable {
        try FeatureTable.load(path: path("\(name).input.csv"))
    }

    static func expected(_ name: String) throws -> [Double] {
        try FeatureTable.load(path: path("\(name).expected.csv")).rows.map { $0[0] }
    }
}
