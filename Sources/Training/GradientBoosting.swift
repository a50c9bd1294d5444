import Evaluator
import Foundation
import OccupantCore

/// Histogram gradient-boosted trees for binary log-loss, trained on a `BinnedMatrix`.
///
/// Depth-wise growth; per-node gradient/hessian histograms with the sibling-subtraction trick; missing values take
/// the default direction that gains most (or, when a node saw none, the side with more weight); row and column
/// subsampling per tree; early stopping on the validation rows (a later, time-ordered slice). Deterministic for a
/// seed and the same for any thread count (see `FitThreads`): a fit on many rows spreads its histograms, partitions
/// and row loops over `threads`; the search runs one-thread fits side by side instead.
public enum GradientBoosting {
    /// The available cores: the default thread count of a fit outside the search.
    public static var availableCores: Int { FitThreads.availableCores }

    /// A trained ensemble and how it was stopped.
    public struct Fit: Sendable {
        /// Flavour `.native`, feature indices are positions in the fit's `features`.
        public var ensemble: TreeEnsemble
        /// Trees kept (the best iteration on the validation rows, or all of them without validation rows).
        public var treeCount: Int
        /// Validation log-loss at the kept iteration (nil without validation rows).
        public var validationLoss: Double?
    }

    /// Fits on `train` rows of `matrix` using the columns `features`; `labels[r]` is row `r`'s 0/1 label. `threads`
    /// changes how fast, never what is fitted.
    public static func fit(
        matrix: BinnedMatrix, features: [Int], labels: [UInt8], train: [Int], validation: [Int] = [],
        parameters p: BoostingParameters, monotone: [Int8] = [], seed: UInt64, threads: Int = 1
    ) throws(OccupantError) -> Fit {
        precondition(threads >= 1, "at least one thread")
        precondition(monotone.isEmpty || monotone.count == features.count, "one monotone direction per feature")
        precondition(!features.isEmpty && !train.isEmpty, "a fit needs features and rows")
        var rng = TrainingRandom(seed: seed)
        let n = matrix.rowCount
        var positives = 0.0
        for r in train { positives += Double(labels[r]) }
        let prior = min(max(positives / Double(train.count), 1e-6), 1 - 1e-6)
        let base = log(prior / (1 - prior))
        var margin = [Double](repeating: base, count: n)
        var grad = [Double](repeating: 0, count: n)
        var hess = [Double](repeating: 0, count: n)
        var trees: [GrownTree] = []
        var bestLoss = Double.infinity
        var bestCount = 0
        var sinceBest = 0
        let featureCount = features.count
        let columnsPerTree = max(1, Int((p.columnSubsample * Double(featureCount)).rounded(.up)))
        var sampled: [Int32] = []
        sampled.reserveCapacity(train.count)
        var unsampled: [Int] = []
        let rowBins = rowMajorBins(matrix, features: features)
        let pool = FitThreads(count: threads)
        for _ in 0..<p.trees {
            gradients(train, margin: margin, labels: labels, grad: &grad, hess: &hess, threads: pool)
            sampled.removeAll(keepingCapacity: true)
            unsampled.removeAll(keepingCapacity: true)
            if p.rowSubsample < 1 {
                for r in train {
                    if rng.unit() < p.rowSubsample { sampled.append(Int32(r)) } else { unsampled.append(r) }
                }
                if sampled.isEmpty { sampled.append(Int32(unsampled.removeFirst())) }
            } else {
                for r in train { sampled.append(Int32(r)) }
            }
            var columns = Array(0..<featureCount)
            if columnsPerTree < featureCount {
                columns.shuffle(using: &rng)
                columns = Array(columns.prefix(columnsPerTree)).sorted()
            }
            let tree = TreeGrower(
                matrix: matrix, features: features, columns: columns, grad: grad, hess: hess, parameters: p,
                rowBins: rowBins, threads: pool, monotone: monotone
            ).grow(rows: &sampled)
            trees.append(tree)
            // The rows the tree was grown on sit in its leaves' ranges; only the others walk the tree.
            addLeafValues(tree, rows: sampled, to: &margin, threads: pool)
            for r in unsampled { margin[r] += tree.leafValue(row: r, matrix: matrix, features: features) }
            if !validation.isEmpty {
                var loss = 0.0
                for r in validation {
                    margin[r] += tree.leafValue(row: r, matrix: matrix, features: features)
                    loss += logLoss(margin: margin[r], label: labels[r])
                }
                loss /= Double(validation.count)
                if loss < bestLoss - 1e-12 {
                    bestLoss = loss
                    bestCount = trees.count
                    sinceBest = 0
                } else {
                    sinceBest += 1
                    if sinceBest >= p.earlyStoppingRounds { break }
                }
            } else {
                bestCount = trees.count
            }
        }
        let kept = Array(trees.prefix(max(bestCount, 1)))
        let ensemble = try layOut(kept, base: base, matrix: matrix, features: features)
        return Fit(ensemble: ensemble, treeCount: kept.count, validationLoss: validation.isEmpty ? nil : bestLoss)
    }

    /// Log-loss gradients and hessians of the `train` rows at `margin` (each row writes its own slot).
    static func gradients(
        _ train: [Int], margin: [Double], labels: [UInt8], grad: inout [Double], hess: inout [Double],
        threads: FitThreads
    ) {
        train.withUnsafeBufferPointer { train in
            margin.withUnsafeBufferPointer { margin in
                labels.withUnsafeBufferPointer { labels in
                    grad.withUnsafeMutableBufferPointer { grad in
                        hess.withUnsafeMutableBufferPointer { hess in
                            let io = Unchecked((train, margin, labels, grad, hess))
                            threads.forEachRange(train.count) { range in
                                let (train, margin, labels, grad, hess) = io.value
                                for i in range {
                                    let r = train[i]
                                    let prob = 1 / (1 + exp(-margin[r]))
                                    grad[r] = prob - Double(labels[r])
                                    hess[r] = max(prob * (1 - prob), 1e-16)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds each leaf's value to the margins of the rows in its range of `rows` (leaves hold disjoint rows).
    static func addLeafValues(_ tree: GrownTree, rows: [Int32], to margin: inout [Double], threads: FitThreads) {
        rows.withUnsafeBufferPointer { rows in
            margin.withUnsafeMutableBufferPointer { margin in
                guard threads.count > 1, rows.count >= 2 * FitThreads.blockRows else {
                    for leaf in tree.leafRanges {
                        for i in leaf.rows { margin[Int(rows[i])] += leaf.value }
                    }
                    return
                }
                let io = Unchecked((rows, margin))
                threads.run(tree.leafRanges.count) { l in
                    let (rows, margin) = io.value
                    let leaf = tree.leafRanges[l]
                    for i in leaf.rows { margin[Int(rows[i])] += leaf.value }
                }
            }
        }
    }

    /// The bins of `features`, row by row: `[r * features.count + position]`. The matrix is column-major (a fit
    /// picks its columns); once the partitions scatter a node's rows, reading a row's bins from one cache line
    /// instead of one per feature is what keeps the histograms fast on large tables.
    static func rowMajorBins(_ matrix: BinnedMatrix, features: [Int]) -> [UInt8] {
        let n = matrix.rowCount
        let width = features.count
        var out = [UInt8](repeating: 0, count: n * width)
        out.withUnsafeMutableBufferPointer { out in
            matrix.bins.withUnsafeBufferPointer { bins in
                for (position, f) in features.enumerated() {
                    let column = bins.baseAddress! + f * n
                    for r in 0..<n { out[r &* width &+ position] = column[r] }
                }
            }
        }
        return out
    }

    /// Binary log-loss of one margin, computed stably.
    static func logLoss(margin m: Double, label: UInt8) -> Double {
        // -[y log σ(m) + (1-y) log(1-σ(m))] = log(1 + e^m) - y m
        let softplus = m > 0 ? m + log1p(exp(-m)) : log1p(exp(m))
        return softplus - (label == 1 ? m : 0)
    }

    /// Converts grown trees into the evaluator's flat layout (nodes in breadth-first order, so every child follows
    /// its parent); split thresholds are the Float32 bin edges.
    static func layOut(
        _ trees: [GrownTree], base: Double, matrix: BinnedMatrix, features: [Int]
    ) throws(OccupantError) -> TreeEnsemble {
        var treeStart: [Int32] = []
        var splitFeature: [Int32] = []
        var value: [Double] = []
        var left: [Int32] = []
        var right: [Int32] = []
        var flags: [UInt8] = []
        for tree in trees {
            let offset = Int32(splitFeature.count)
            treeStart.append(offset)
            for node in tree.nodes {
                if node.isLeaf {
                    splitFeature.append(-1)
                    value.append(node.leafValue)
                    left.append(-1)
                    right.append(-1)
                    flags.append(0)
                } else {
                    splitFeature.append(Int32(node.feature))
                    value.append(Double(matrix.edges[features[node.feature]][node.bin]))
                    left.append(offset + Int32(node.left))
                    right.append(offset + Int32(node.right))
                    flags.append(node.defaultLeft ? TreeEnsemble.NodeFlags.defaultLeft.rawValue : 0)
                }
            }
        }
        return try TreeEnsemble(
            validating: .native, featureCount: features.count, baseMargin: base, treeStart: treeStart,
            splitFeature: splitFeature, value: value, left: left, right: right, flags: flags)
    }
}

/// One tree as grown: nodes in breadth-first order; a split sends bins ≤ `bin` left and missing values to the
/// default side.
struct GrownTree: Sendable {
    struct Node: Sendable {
        var feature = -1 // position in the fit's features; -1 = leaf
        var bin = 0
        var defaultLeft = false
        var left = 0
        var right = 0
        var leafValue = 0.0
        var isLeaf: Bool { feature < 0 }
    }

    /// Where each leaf's rows lie in the grower's reordered row array, and the leaf's value.
    struct LeafRange: Sendable {
        var rows: Range<Int>
        var value: Double
    }

    var nodes: [Node]
    var leafRanges: [LeafRange] = []

    /// The leaf value row `r` lands in, walking by bins (the same routing as the evaluator's Float32 compare).
    @inline(__always)
    func leafValue(row r: Int, matrix: BinnedMatrix, features: [Int]) -> Double {
        var n = 0
        while true {
            let node = nodes[n]
            if node.isLeaf { return node.leafValue }
            let b = matrix.bins[features[node.feature] * matrix.rowCount + r]
            let goLeft = b == BinnedMatrix.missingBin ? node.defaultLeft : Int(b) <= node.bin
            n = goLeft ? node.left : node.right
        }
    }
}
