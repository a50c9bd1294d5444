import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Reads LightGBM's text model (`Booster.save_model`, `objective=binary sigmoid:…`).
public enum LightGBMImporter {
    /// Reads and converts the file at `path`.
    public static func load(path: String) throws(OccupantError) -> ImportedModel {
        try parse(readModelFile(path), name: path)
    }

    /// Converts model text; `name` prefixes every error message.
    public static func parse(_ data: Data, name: String = "lightgbm model") throws(OccupantError) -> ImportedModel {
        func fail(_ message: String) -> OccupantError { OccupantError(.model, "\(name): \(message)") }
        guard let text = String(data: data, encoding: .utf8) else { throw fail("not UTF-8 text") }
        let sections = split(text)
        guard sections.header["tree"] != nil || text.hasPrefix("tree") else {
            throw fail("not a LightGBM text model (no \"tree\" line)")
        }
        let header = Section(name: "header", values: sections.header)
        do throws(OccupantError) {
            let objective = try header.string("objective").split(separator: " ")
            guard objective.first == "binary" else {
                throw OccupantError(
                    .model, "objective is \"\(objective.joined(separator: " "))\"; only binary is supported")
            }
            var sigmoid = 1.0
            for token in objective.dropFirst() where token.hasPrefix("sigmoid:") {
                guard let s = Double(token.dropFirst(8)), s.isFinite, s > 0 else {
                    throw OccupantError(.model, "header: objective has a bad sigmoid \"\(token)\"")
                }
                sigmoid = s
            }
            guard try header.int("num_class") == 1, try header.int("num_tree_per_iteration") == 1 else {
                throw OccupantError(.model, "header: multi-class models are not supported")
            }
            guard sections.header["average_output"] == nil else {
                throw OccupantError(.model, "header: average_output (random forest) models are not supported")
            }
            let maxFeature = try header.int("max_feature_idx")
            guard maxFeature >= 0, maxFeature < TreeEnsemble.maximumFeatureCount else {
                throw OccupantError(.model, "header: max_feature_idx \(maxFeature) is out of range")
            }
            let featureCount = maxFeature + 1
            let names = try header.string("feature_names").split(separator: " ").map(String.init)
            guard names.count == featureCount else {
                throw OccupantError(
                    .model, "header: feature_names has \(names.count) names for \(featureCount) features")
            }
            guard sections.complete else { throw OccupantError(.model, "truncated: no \"end of trees\" line") }
            guard !sections.trees.isEmpty else { throw OccupantError(.model, "no trees (missing \"Tree=\" sections)") }
            var builder = EnsembleBuilder(
                flavour: .lightgbm, featureCount: featureCount, baseMargin: 0, sigmoidScale: sigmoid)
            for (t, values) in sections.trees.enumerated() {
                try appendTree(
                    Section(name: "Tree=\(t)", values: values), index: t, featureCount: featureCount, to: &builder)
            }
            let version = sections.header["version"] ?? "unknown version"
            return ImportedModel(
                model: .trees(try builder.build()), featureNames: names,
                source: "lightgbm \(version) binary sigmoid:\(sigmoid)")
        } catch {
            throw fail(error.message)
        }
    }

    private static func appendTree(
        _ tree: Section, index t: Int, featureCount: Int, to builder: inout EnsembleBuilder
    ) throws(OccupantError) {
        let leaves = try tree.int("num_leaves")
        guard leaves >= 1, leaves <= TreeEnsemble.maximumNodeCount / 2 else {
            throw OccupantError(.model, "\(tree.name): num_leaves \(leaves) is out of range")
        }
        if let linear = tree.values["is_linear"], linear != "0" {
            throw OccupantError(.model, "\(tree.name): linear trees are not supported")
        }
        let leafValues = try tree.doubles("leaf_value", count: leaves)
        let splits = leaves - 1
        var source = SourceTree()
        if splits > 0 {
            let features = try tree.ints("split_feature", count: splits)
            let thresholds = try tree.doubles("threshold", count: splits)
            let types = try tree.ints("decision_type", count: splits)
            let lefts = try tree.ints("left_child", count: splits)
            let rights = try tree.ints("right_child", count: splits)
            let categorySets = try addCategorySets(tree, to: &builder)
            for n in 0..<splits {
                guard features[n] >= 0, features[n] < featureCount else {
                    throw OccupantError(
                        .model, "\(tree.name) node \(n): split_feature \(features[n]) is outside 0..<\(featureCount)")
                }
                var flags = TreeEnsemble.NodeFlags()
                let type = types[n]
                guard type & ~0b1111 == 0, (type >> 2) & 3 != 3 else {
                    throw OccupantError(.model, "\(tree.name) node \(n): unknown decision_type \(type)")
                }
                if type & 2 != 0 { flags.insert(.defaultLeft) }
                if (type >> 2) & 3 == 1 { flags.insert(.missingZero) }
                if (type >> 2) & 3 == 2 { flags.insert(.missingNaN) }
                var value = thresholds[n]
                if type & 1 != 0 {
                    flags.insert(.categorical)
                    guard value >= 0, value == value.rounded(), value < Double(categorySets.count) else {
                        throw OccupantError(
                            .model, "\(tree.name) node \(n): threshold \(value) is not a category set of this tree")
                    }
                    value = Double(categorySets[Int(value)])
                }
                source.feature.append(Int32(features[n]))
                source.value.append(value)
                source.flags.append(flags.rawValue)
                // Leaf `~c` is node `splits + ~c`; a wrapped (absurd) value lands out of range and is reported.
                source.left.append(lefts[n] >= 0 ? lefts[n] : splits &+ ~lefts[n])
                source.right.append(rights[n] >= 0 ? rights[n] : splits &+ ~rights[n])
            }
        }
        for value in leafValues {
            source.feature.append(-1)
            source.value.append(value)
            source.flags.append(0)
            source.left.append(-1)
            source.right.append(-1)
        }
        do { try builder.append(source) } catch { throw OccupantError(.model, "\(tree.name): \(error.message)") }
    }

    /// Adds the tree's category sets to the ensemble; returns their global indices.
    private static func addCategorySets(_ tree: Section, to builder: inout EnsembleBuilder) throws(OccupantError)
        -> [Int]
    {
        let count = tree.values["num_cat"] == nil ? 0 : try tree.int("num_cat")
        guard count > 0 else { return [] }
        guard count <= TreeEnsemble.maximumNodeCount else {
            throw OccupantError(.model, "\(tree.name): num_cat \(count) is out of range")
        }
        let boundaries = try tree.ints("cat_boundaries", count: count + 1)
        let words = try tree.ints("cat_threshold", count: nil)
        guard boundaries[0] == 0, boundaries.last == words.count,
            zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 <= $1 })
        else {
            throw OccupantError(
                .model, "\(tree.name): cat_boundaries do not partition the \(words.count) cat_threshold words")
        }
        let bits = words.compactMap(UInt32.init(exactly:))
        guard bits.count == words.count else {
            throw OccupantError(.model, "\(tree.name): cat_threshold has a value that is not a 32-bit word")
        }
        return (0..<count).map { k in builder.addCategorySet(bits[boundaries[k]..<boundaries[k + 1]]) }
    }

    /// The header's and each tree's `key=value` lines.
    private static func split(_ text: String) -> (header: [String: String], trees: [[String: String]], complete: Bool) {
        var header: [String: String] = [:]
        var trees: [[String: String]] = []
        for line in text.split(whereSeparator: \.isNewline) {
            if line == "end of trees" { return (header, trees, true) }
            if line.hasPrefix("Tree=") {
                trees.append([:])
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                if trees.isEmpty { header[String(line)] = "" }
                continue
            }
            let key = String(line[..<eq])
            let value = String(line[line.index(after: eq)...])
            if trees.isEmpty { header[key] = value } else { trees[trees.count - 1][key] = value }
        }
        return (header, trees, false)
    }
}

/// The `key=value` lines of one part of the file, with typed accessors whose errors name the part and key.
private struct Section {
    var name: String
    var values: [String: String]

    func string(_ key: String) throws(OccupantError) -> String {
        guard let value = values[key] else { throw OccupantError(.model, "\(name): missing key \"\(key)\"") }
        return value
    }

    func int(_ key: String) throws(OccupantError) -> Int {
        let text = try string(key)
        guard let value = Int(text) else {
            throw OccupantError(.model, "\(name): \(key) \"\(text)\" is not an integer")
        }
        return value
    }

    func ints(_ key: String, count: Int?) throws(OccupantError) -> [Int] {
        let fields = try string(key).split(separator: " ")
        var out: [Int] = []
        out.reserveCapacity(fields.count)
        for (i, field) in fields.enumerated() {
            guard let value = Int(field) else {
                throw OccupantError(.model, "\(name): \(key)[\(i)] \"\(field)\" is not an integer")
            }
            out.append(value)
        }
        try check(key, out.count, count)
        return out
    }

    func doubles(_ key: String, count: Int) throws(OccupantError) -> [Double] {
        let fields = try string(key).split(separator: " ")
        var out: [Double] = []
        out.reserveCapacity(fields.count)
        for (i, field) in fields.enumerated() {
            guard let value = Double(field), value.isFinite else {
                throw OccupantError(.model, "\(name): \(key)[\(i)] \"\(field)\" is not a finite number")
            }
            out.append(value)
        }
        try check(key, out.count, count)
        return out
    }

    private func check(_ key: String, _ actual: Int, _ expected: Int?) throws(OccupantError) {
        if let expected, actual != expected {
            throw OccupantError(.model, "\(name): \(key) has \(actual) entries, expected \(expected)")
        }
    }
}
