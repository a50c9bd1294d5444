import OccupantCore

/// One tree in the source library's own numbering (tree-local indices), before it is laid out.
struct SourceTree {
    /// Split feature per node, -1 for a leaf.
    var feature: [Int32] = []
    /// Threshold (or category-set index) of a split, output of a leaf.
    var value: [Double] = []
    var left: [Int] = []
    var right: [Int] = []
    var flags: [UInt8] = []
}

/// Lays imported trees out in depth-first preorder (left child = parent + 1, every child after its parent) and
/// collects them into a `TreeEnsemble`. A child out of range, or a node reached twice (a cycle or a shared child),
/// is an error naming the tree and the source node.
struct EnsembleBuilder {
    private var ensemble: TreeEnsemble

    init(flavour: TreeEnsemble.Flavour, featureCount: Int, baseMargin: Double, sigmoidScale: Double = 1) {
        ensemble = TreeEnsemble(
            flavour: flavour, featureCount: featureCount, baseMargin: baseMargin, sigmoidScale: sigmoidScale,
            treeStart: [], splitFeature: [], value: [], left: [], right: [], flags: [])
    }

    var treeCount: Int { ensemble.treeStart.count }

    /// Appends one category set (bit words); returns its index.
    mutating func addCategorySet(_ words: ArraySlice<UInt32>) -> Int {
        if ensemble.categorySetStart.isEmpty { ensemble.categorySetStart.append(0) }
        ensemble.categoryWords.append(contentsOf: words)
        ensemble.categorySetStart.append(Int32(ensemble.categoryWords.count))
        return ensemble.categorySetStart.count - 2
    }

    mutating func append(_ tree: SourceTree) throws(OccupantError) {
        let t = treeCount
        let count = tree.feature.count
        guard count > 0 else { throw OccupantError(.model, "tree \(t) has no nodes") }
        guard ensemble.splitFeature.count + count <= TreeEnsemble.maximumNodeCount else {
            throw OccupantError(.model, "tree \(t): more than \(TreeEnsemble.maximumNodeCount) nodes in the ensemble")
        }
        ensemble.treeStart.append(Int32(ensemble.splitFeature.count))
        var visited = [Bool](repeating: false, count: count)
        // (source node, new index of the parent or -1, the parent's source index, the parent's side is left)
        var stack: [(source: Int, parent: Int, parentSource: Int, isLeft: Bool)] = [(0, -1, -1, true)]
        while let (s, parent, parentSource, isLeft) = stack.popLast() {
            guard s >= 0, s < count else {
                throw OccupantError(
                    .model,
                    "tree \(t) node \(parentSource): \(isLeft ? "left" : "right") child \(s) is outside 0..<\(count)")
            }
            guard !visited[s] else {
                throw OccupantError(.model, "tree \(t): node \(s) is reached twice (a cycle or a shared child)")
            }
            visited[s] = true
            let n = ensemble.splitFeature.count
            if parent >= 0 {
                if isLeft { ensemble.left[parent] = Int32(n) } else { ensemble.right[parent] = Int32(n) }
            }
            ensemble.splitFeature.append(tree.feature[s])
            ensemble.value.append(tree.value[s])
            ensemble.flags.append(tree.flags[s])
            ensemble.left.append(-1)
            ensemble.right.append(-1)
            if tree.feature[s] >= 0 {
                stack.append((tree.right[s], n, s, false))
                stack.append((tree.left[s], n, s, true))
            }
        }
    }

    /// The validated ensemble.
    func build() throws(OccupantError) -> TreeEnsemble {
        var built = ensemble
        try built.validate()
        built.prepare()
        return built
    }
}
