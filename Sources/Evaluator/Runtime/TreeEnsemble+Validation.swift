import OccupantCore

extension TreeEnsemble {
    /// Largest input row a model may ask for.
    public static let maximumFeatureCount = 65_535
    /// Largest ensemble accepted from a file.
    public static let maximumNodeCount = 4_000_000

    /// Checks that the arrays describe trees whose every walk ends at a leaf: lengths agree, trees are non-empty and
    /// in order, children lie inside their tree after their parent (so no cycles), split features are below
    /// `featureCount`, values are finite, flag bits are known and category sets exist. Throws a one-line `.model`
    /// error naming the tree and node.
    public func validate() throws(OccupantError) {
        func fail(_ message: String) -> OccupantError { OccupantError(.model, "tree ensemble: \(message)") }
        guard featureCount >= 0, featureCount <= Self.maximumFeatureCount else {
            throw fail("feature count \(featureCount) is outside 0...\(Self.maximumFeatureCount)")
        }
        guard baseMargin.isFinite else { throw fail("base margin \(baseMargin) is not finite") }
        guard sigmoidScale.isFinite, sigmoidScale > 0 else {
            throw fail("sigmoid scale \(sigmoidScale) is not positive")
        }
        let count = splitFeature.count
        guard count <= Self.maximumNodeCount else {
            throw fail("\(count) nodes, at most \(Self.maximumNodeCount) allowed")
        }
        guard value.count == count, left.count == count, right.count == count, flags.count == count else {
            throw fail(
                "node arrays differ in length (features \(count), values \(value.count), left \(left.count), "
                    + "right \(right.count), flags \(flags.count))")
        }
        guard !treeStart.isEmpty else { throw fail("no trees") }
        guard treeStart[0] == 0 else { throw fail("tree 0 starts at node \(treeStart[0]), not 0") }
        for t in 1..<treeStart.count where !(treeStart[t] > treeStart[t - 1] && Int(treeStart[t]) < count) {
            throw fail(
                "tree \(t) starts at node \(treeStart[t]): trees must be non-empty and in order inside \(count) nodes")
        }
        guard Int(treeStart[treeStart.count - 1]) < count else {
            throw fail("tree \(treeStart.count - 1) has no nodes")
        }
        try validateCategorySets(fail)
        for t in 0..<treeStart.count {
            let nodes = self.nodes(ofTree: t)
            for n in nodes {
                try validateNode(n, tree: t, local: n - nodes.lowerBound, end: nodes.upperBound, fail)
            }
        }
    }

    private func validateNode(
        _ n: Int, tree t: Int, local: Int, end: Int, _ fail: (String) -> OccupantError
    ) throws(OccupantError) {
        let at = "tree \(t) node \(local)"
        let bits = NodeFlags(rawValue: flags[n])
        guard bits.isSubset(of: .known) else { throw fail("\(at): unknown flag bits \(flags[n])") }
        if flavour != .lightgbm, !bits.isDisjoint(with: [.missingZero, .missingNaN, .categorical]) {
            throw fail("\(at): missing-type and categorical flags are only valid in LightGBM ensembles")
        }
        guard value[n].isFinite else { throw fail("\(at): value \(value[n]) is not finite") }
        let feature = splitFeature[n]
        if feature == -1 { return }
        guard feature >= 0, Int(feature) < featureCount else {
            throw fail("\(at): split feature \(feature) is outside 0..<\(featureCount)")
        }
        for (side, child) in [("left", left[n]), ("right", right[n])] {
            guard Int(child) > n, Int(child) < end else {
                let base = n - local
                throw fail(
                    "\(at): \(side) child \(Int(child) - base) must lie after the node and inside the tree "
                        + "(\(local + 1)..<\(end - base))")
            }
        }
        if bits.contains(.categorical) {
            let k = value[n]
            guard k >= 0, k == k.rounded(), k < Double(categorySetStart.count - 1) else {
                throw fail("\(at): category set \(k) does not exist (\(max(categorySetStart.count - 1, 0)) sets)")
            }
        }
    }

    private func validateCategorySets(_ fail: (String) -> OccupantError) throws(OccupantError) {
        if categorySetStart.isEmpty {
            guard categoryWords.isEmpty else { throw fail("category words without category sets") }
            return
        }
        guard flavour == .lightgbm else { throw fail("category sets are only valid in LightGBM ensembles") }
        guard categorySetStart[0] == 0 else {
            throw fail("category set 0 starts at word \(categorySetStart[0]), not 0")
        }
        for k in 1..<categorySetStart.count where categorySetStart[k] < categorySetStart[k - 1] {
            throw fail("category set \(k - 1) ends before it starts")
        }
        guard Int(categorySetStart[categorySetStart.count - 1]) == categoryWords.count else {
            throw fail(
                "category sets end at word \(categorySetStart.last ?? 0), but there are \(categoryWords.count) words")
        }
    }
}
