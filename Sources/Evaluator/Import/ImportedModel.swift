import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A model read from another library's file, with the feature names found in it.
public struct ImportedModel: Sendable {
    public var model: Model
    /// In input order; generated as `f0`, `f1`, … when the file has none.
    public var featureNames: [String]
    /// Where the model came from, e.g. `xgboost 3.2.0 binary:logistic`.
    public var source: String

    public init(model: Model, featureNames: [String], source: String) {
        self.model = model
        self.featureNames = featureNames
        self.source = source
    }
}

/// Reads a whole model file, refusing anything larger than `limit` bytes.
func readModelFile(_ path: String, limit: Int = 64 << 20) throws(OccupantError) -> Data {
    let data: Data
    do {
        data = Data(try LocalFileSystem().read(path))
    } catch {
        throw OccupantError(.model, "\(path): cannot read", cause: error.fileReason)
    }
    guard data.count <= limit else {
        throw OccupantError(.model, "\(path): \(data.count) bytes, at most \(limit) accepted")
    }
    return data
}

/// One line naming where in a JSON document decoding failed, e.g. `learner.gradient_booster.model.trees[3]: missing key "left_children"`.
func describe(_ error: any Error) -> String {
    guard let error = error as? DecodingError else {
        return "\(error)".split(separator: "\n").first.map(String.init) ?? ""
    }
    func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let i = key.intValue {
                text += "[\(i)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text.isEmpty ? "top level" : text
    }
    switch error {
    case .keyNotFound(let key, let context):
        return "\(path(context.codingPath)): missing key \"\(key.stringValue)\""
    case .typeMismatch(let type, let context):
        return "\(path(context.codingPath)): expected \(type)"
    case .valueNotFound(let type, let context):
        return "\(path(context.codingPath)): null where \(type) was expected"
    case .dataCorrupted(let context):
        if context.codingPath.isEmpty {
            let underlying = context.underlyingError.map { " (\(oneLine($0)))" } ?? ""
            return "not valid JSON\(underlying)"
        }
        return "\(path(context.codingPath)): \(context.debugDescription)"
    @unknown default:
        return oneLine(error)
    }
}

func oneLine(_ error: any Error) -> String {
    let text = "\(error)"
    return text.split(separator: "\n").first.map(String.init) ?? text
}
