import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Reads the JSON that XGBoost's `Booster.save_model("….json")` writes (gbtree booster, `binary:logistic`).
public enum XGBoostImporter {
    /// Reads and converts the file at `path`.
    public static func load(path: String) throws(OccupantError) -> ImportedModel {
        try parse(readModelFile(path), name: path)
    }

    /// Converts JSON text; `name` prefixes every error message.
    public static func parse(_ data: Data, name: String = "xgboost model") throws(OccupantError) -> ImportedModel {
        func fail(_ message: String) -> OccupantError { OccupantError(.model, "\(name): \(message)") }
        let decoder = JSONDecoder()
        let header: XGBHeader
        do { header = try decoder.decode(XGBHeader.self, from: data) } catch { throw fail(describe(error)) }
        let learner = header.learner
        switch learner.booster.name {
        case "gbtree": break
        case "dart":
            throw fail(
                "the dart booster is not supported (its tree weights are not in the flat layout); train with booster=gbtree"
            )
        case "gblinear":
            throw fail("the gblinear booster is not supported; export a gbtree model or use a logistic model")
        default: throw fail("booster \"\(learner.booster.name)\" is not supported; only gbtree")
        }
        guard learner.objective.name == "binary:logistic" else {
            throw fail("objective is \"\(learner.objective.name)\"; only binary:logistic is supported")
        }
        let params = learner.modelParam
        guard params.numClass.value <= 1, params.numTarget?.value ?? 1 == 1 else {
            throw fail(
                "multi-class or multi-target models are not supported (num_class \(params.numClass.text), num_target \(params.numTarget?.text ?? "1"))"
            )
        }
        guard params.numFeature.value >= 1, params.numFeature.value <= Double(TreeEnsemble.maximumFeatureCount),
            params.numFeature.value == params.numFeature.value.rounded()
        else {
            throw fail("learner.learner_model_param.num_feature is \(params.numFeature.text)")
        }
        let featureCount = Int(params.numFeature.value)
        let baseScore = try parseBaseScore(params.baseScore.text, fail)
        // xgboost's LogisticRegression::ProbToMargin, in Float32: -logf(1 / p - 1).
        let baseMargin = -log(1 / baseScore - 1 as Float)
        let names = learner.featureNames ?? []
        guard names.isEmpty || names.count == featureCount else {
            throw fail("learner.feature_names has \(names.count) names for \(featureCount) features")
        }

        let body: XGBBody
        do { body = try decoder.decode(XGBBody.self, from: data) } catch { throw fail(describe(error)) }
        let model = body.learner.booster.model
        if let info = model.treeInfo, let bad = info.firstIndex(where: { $0 != 0 }) {
            throw fail("tree_info[\(bad)] is \(info[bad]); only one output group is supported")
        }
        var builder = EnsembleBuilder(flavour: .xgboost, featureCount: featureCount, baseMargin: Double(baseMargin))
        for (t, tree) in model.trees.enumerated() {
            do {
                try builder.append(sourceTree(tree, index: t, featureCount: featureCount))
            } catch {
                throw fail(error.message)
            }
        }
        let ensemble: TreeEnsemble
        do { ensemble = try builder.build() } catch { throw fail(error.message) }
        let version = header.version.map { $0.map(String.init).joined(separator: ".") } ?? "unknown version"
        return ImportedModel(
            model: .trees(ensemble), featureNames: names.isEmpty ? (0..<featureCount).map { "f\($0)" } : names,
            source: "xgboost \(version) binary:logistic")
    }

    /// `"[5E-1]"` (3.1 and later) or `"5E-1"` (before): a probability strictly between 0 and 1.
    static func parseBaseScore(_ text: String, _ fail: (String) -> OccupantError) throws(OccupantError) -> Float {
        var inner = Substring(text)
        if inner.hasPrefix("["), inner.hasSuffix("]") { inner = inner.dropFirst().dropLast() }
        guard !inner.contains("," as Character), let value = Float(inner.trimmingWhitespace()) else {
            throw fail("learner.learner_model_param.base_score \"\(text)\" is not a single number")
        }
        guard value > 0, value < 1 else {
            throw fail("learner.learner_model_param.base_score \(text) is not a probability strictly between 0 and 1")
        }
        return value
    }

    private static func sourceTree(_ tree: XGBTree, index t: Int, featureCount: Int) throws(OccupantError) -> SourceTree
    {
        let count = tree.leftChildren.count
        let lengths = [
            ("right_children", tree.rightChildren.count), ("split_indices", tree.splitIndices.count),
            ("split_conditions", tree.splitConditions.count), ("default_left", tree.defaultLeft.values.count),
        ]
        for (key, length) in lengths where length != count {
            throw OccupantError(.model, "trees[\(t)].\(key) has \(length) entries, left_children has \(count)")
        }
        if let n = tree.treeParam?.numNodes, n.value != Double(count) {
            throw OccupantError(.model, "trees[\(t)].tree_param.num_nodes is \(n.text), left_children has \(count)")
        }
        if let leaves = tree.treeParam?.sizeLeafVector, leaves.value > 1 {
            throw OccupantError(
                .model, "trees[\(t)]: vector leaves (size_leaf_vector \(leaves.text)) are not supported")
        }
        if let types = tree.splitType, let n = types.firstIndex(where: { $0 != 0 }) {
            throw OccupantError(.model, "trees[\(t)] node \(n): categorical splits are not supported")
        }
        var source = SourceTree()
        for n in 0..<count {
            let isLeaf = tree.leftChildren[n] == -1
            let feature = tree.splitIndices[n]
            if !isLeaf, feature < 0 || feature >= featureCount {
                throw OccupantError(
                    .model, "trees[\(t)] node \(n): split_indices \(feature) is outside 0..<\(featureCount)")
            }
            let value = tree.splitConditions[n]
            guard value.isFinite else {
                throw OccupantError(.model, "trees[\(t)] node \(n): split_conditions \(value) is not finite")
            }
            source.feature.append(isLeaf ? -1 : Int32(feature))
            source.value.append(Double(value))
            source.left.append(tree.leftChildren[n])
            source.right.append(tree.rightChildren[n])
            source.flags.append(tree.defaultLeft.values[n] ? TreeEnsemble.NodeFlags.defaultLeft.rawValue : 0)
        }
        do { try validateTreeIndices(source) } catch { throw OccupantError(.model, "trees[\(t)] \(error.message)") }
        return source
    }

    private static func validateTreeIndices(_ tree: SourceTree) throws(OccupantError) {
        for n in tree.feature.indices where tree.feature[n] >= 0 {
            for (side, child) in [("left_children", tree.left[n]), ("right_children", tree.right[n])]
            where child < 0 || child >= tree.feature.count {
                throw OccupantError(.model, "node \(n): \(side) \(child) is outside 0..<\(tree.feature.count)")
            }
        }
    }
}
