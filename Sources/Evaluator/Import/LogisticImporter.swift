import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Reads `{"coefficients": [...], "intercept": b, "features": [...]}` (e.g. from scikit-learn's LogisticRegression).
public enum LogisticImporter {
    private struct File: Decodable {
        var coefficients: [Double]
        var intercept: Double
        var features: [String]?
    }

    /// Reads and converts the file at `path`.
    public static func load(path: String) throws(OccupantError) -> ImportedModel {
        try parse(readModelFile(path), name: path)
    }

    /// Converts JSON text; `name` prefixes every error message.
    public static func parse(_ data: Data, name: String = "logistic model") throws(OccupantError) -> ImportedModel {
        func fail(_ message: String) -> OccupantError { OccupantError(.model, "\(name): \(message)") }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch { throw fail(describe(error)) }
        let names = file.features ?? (0..<file.coefficients.count).map { "f\($0)" }
        guard names.count == file.coefficients.count else {
            throw fail("features has \(names.count) names for \(file.coefficients.count) coefficients")
        }
        do {
            let model = try LogisticModel(validatingCoefficients: file.coefficients, intercept: file.intercept)
            return ImportedModel(model: .logistic(model), featureNames: names, source: "logistic regression")
        } catch {
            throw fail(error.message)
        }
    }
}
