/// The prediction layout of a validated xgboost or native ensemble: built once at load, then read without bounds
/// checks, branches on the path taken, or allocation.
///
/// Each tree's nodes are laid out breadth-first with the two children of a split side by side, so a step is
/// `n += leftOffset + (goes right ? 1 : 0)`, computed without a branch. Nodes are 8 bytes (Float32 threshold, 16-bit
/// feature, 16-bit offset to the left child). A leaf points at itself (offset 0) and reads an extra input slot that
/// holds 0 against a threshold of +∞, so it always "goes left" onto itself: a walk can take more steps than its tree is
/// deep and still end on the right leaf. That lets eight trees be walked in lockstep for as many steps as the deepest
/// of them, eight independent chains of loads that the CPU overlaps instead of one mispredicted branch per level.
///
/// The comparison is exactly the reference walk's: `Float(x) < threshold` goes left, NaN follows the node's default
/// direction; the leaves are summed in tree order (Float32 for xgboost, Double for native), so the scores are the same
/// bit for bit. The rows are converted to Float32 once per call, into a stack buffer (`withUnsafeTemporaryAllocation`:
/// on the stack up to 255 inputs; wider rows may be given heap memory).
///
/// The class owns the memory; the hot path reads it through `Layout`, a plain struct of pointers reached through one
/// pointer from the ensemble, so a prediction does not retain or release anything.
final class CompiledForest: @unchecked Sendable {
    // @unchecked Sendable: every buffer is written once in `init` and only read afterwards; `deinit` frees them.

    /// The walk's view of the buffers; valid while the `CompiledForest` lives.
    let layout: Layout.Reference

    struct Node {
        var threshold: Float
        var feature: UInt16
        var leftOffset: UInt16
    }

    /// Lays out `e` (validated, flavour xgboost or native); nil when it does not fit the 16-bit fields (more than
    /// 65,534 inputs, or a tree so wide that a left child lies 65,536 nodes after its parent) or a node is reached
    /// twice (two splits sharing a subtree).
    init?(_ e: TreeEnsemble) {
        guard e.flavour != .lightgbm, e.featureCount < Int(UInt16.max), !e.treeStart.isEmpty else { return nil }
        let sentinel = UInt16(e.featureCount)
        var out: [Node] = []
        var dl: [UInt8] = []
        var leaves: [Double] = []
        var rootIndex: [Int32] = []
        var depths: [Int] = []
        out.reserveCapacity(e.nodeCount)
        var order: [Int] = []
        var level: [Int] = []
        // -1 until a node is reached; a node reached twice (trees that share a subtree) is not laid out.
        var newIndex = [Int](repeating: -1, count: e.nodeCount)
        for t in 0..<e.treeCount {
            let root = Int(e.treeStart[t])
            let base = out.count
            rootIndex.append(Int32(base))
            order.removeAll(keepingCapacity: true)
            level.removeAll(keepingCapacity: true)
            order.append(root)
            level.append(0)
            var depth = 0
            var i = 0
            while i < order.count {
                let n = order[i]
                if e.splitFeature[n] >= 0 {
                    for child in [Int(e.left[n]), Int(e.right[n])] {
                        guard newIndex[child] < 0 else { return nil }
                        newIndex[child] = order.count
                        order.append(child)
                        level.append(level[i] + 1)
                    }
                    depth = max(depth, level[i] + 1)
                }
                i += 1
            }
            depths.append(depth)
            for (k, n) in order.enumerated() {
                let f = e.splitFeature[n]
                if f < 0 {
                    out.append(Node(threshold: .infinity, feature: sentinel, leftOffset: 0))
                    dl.append(0)
                    leaves.append(e.value[n])
                } else {
                    let offset = newIndex[Int(e.left[n])] - k
                    guard offset > 0, offset <= Int(UInt16.max),
                        newIndex[Int(e.right[n])] == newIndex[Int(e.left[n])] + 1
                    else { return nil }
                    out.append(Node(threshold: Float(e.value[n]), feature: UInt16(f), leftOffset: UInt16(offset)))
                    dl.append(e.flags[n] & TreeEnsemble.NodeFlags.defaultLeft.rawValue != 0 ? 1 : 0)
                    leaves.append(0)
                }
            }
        }
        var groups: [Int32] = []
        var t = 0
        while t < depths.count {
            let end = min(t + Layout.lanes, depths.count)
            groups.append(Int32(depths[t..<end].max() ?? 0))
            t = end
        }
        let layout = Layout(
            featureCount: e.featureCount, treeCount: e.treeCount, groupCount: groups.count,
            float32Sum: e.flavour == .xgboost, baseMargin: e.baseMargin, nodes: Self.copy(out),
            defaultLeft: Self.copy(dl), leaf: Self.copy(leaves), roots: Self.copy(rootIndex),
            groupDepth: Self.copy(groups))
        self.layout = Layout.Reference(pointer: UnsafePointer(Self.copy([layout])))
    }

    deinit {
        let l = layout.pointer.pointee
        l.nodes.deallocate()
        l.defaultLeft.deallocate()
        l.leaf.deallocate()
        l.roots.deallocate()
        l.groupDepth.deallocate()
        layout.pointer.deallocate()
    }

    private static func copy<T>(_ array: [T]) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(array.count, 1))
        p.initialize(from: array, count: array.count)
        return p
    }
}

extension CompiledForest {
    /// The buffers and counts the walk reads (trivial: copying it retains nothing).
    struct Layout {
        /// Lanes walked in lockstep.
        static let lanes = 8

        let featureCount: Int
        let treeCount: Int
        /// Groups of `lanes` consecutive trees (the last may be short).
        let groupCount: Int
        let float32Sum: Bool
        let baseMargin: Double
        /// 8-byte nodes, all trees back to back.
        let nodes: UnsafeMutablePointer<Node>
        /// Per node: 1 if a missing value goes left.
        let defaultLeft: UnsafeMutablePointer<UInt8>
        /// Per node: the leaf's output (0 for a split).
        let leaf: UnsafeMutablePointer<Double>
        /// Per tree: its root's index in `nodes`.
        let roots: UnsafeMutablePointer<Int32>
        /// Per group: the steps that reach every leaf of its trees.
        let groupDepth: UnsafeMutablePointer<Int32>

        /// A pointer to the layout, kept in the ensemble next to the `CompiledForest` that owns it.
        struct Reference: @unchecked Sendable {
            // @unchecked Sendable: points at memory that is never written after `CompiledForest.init`.
            let pointer: UnsafePointer<Layout>
        }

        /// The margin for one row (`x.count ≥ featureCount`, checked by the caller): Float32 sum widened (xgboost) or
        /// the Double sum (native).
        @inline(__always)
        func margin(_ x: UnsafeBufferPointer<Double>) -> Double {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: featureCount + 1) { buffer in
                let fx = buffer.baseAddress.unsafelyUnwrapped
                let input = x.baseAddress.unsafelyUnwrapped
                var missing = 0
                for i in 0..<featureCount {
                    let v = input[i]
                    missing |= v != v ? 1 : 0
                    fx[i] = Float(v)
                }
                fx[featureCount] = 0
                let anyMissing = missing != 0
                if float32Sum {
                    return anyMissing ? walk(fx, missing: true, float32: true) : walk(fx, missing: false, float32: true)
                }
                return anyMissing ? walk(fx, missing: true, float32: false) : walk(fx, missing: false, float32: false)
            }
        }

        /// All trees, `lanes` at a time; the leaves are added in tree order.
        @inline(__always)
        private func walk(_ fx: UnsafeMutablePointer<Float>, missing: Bool, float32: Bool) -> Double {
            var floatSum = Float(baseMargin)
            var doubleSum = baseMargin
            let last = treeCount - 1
            var t = 0
            for g in 0..<groupCount {
                // Lanes past the last tree walk the last tree again; their leaves are not added.
                var n0 = Int(roots[t])
                var n1 = Int(roots[min(t + 1, last)])
                var n2 = Int(roots[min(t + 2, last)])
                var n3 = Int(roots[min(t + 3, last)])
                var n4 = Int(roots[min(t + 4, last)])
                var n5 = Int(roots[min(t + 5, last)])
                var n6 = Int(roots[min(t + 6, last)])
                var n7 = Int(roots[min(t + 7, last)])
                let steps = Int(groupDepth[g])
                if missing {
                    for _ in 0..<steps {
                        stepMissing(&n0, fx)
                        stepMissing(&n1, fx)
                        stepMissing(&n2, fx)
                        stepMissing(&n3, fx)
                        stepMissing(&n4, fx)
                        stepMissing(&n5, fx)
                        stepMissing(&n6, fx)
                        stepMissing(&n7, fx)
                    }
                } else {
                    for _ in 0..<steps {
                        step(&n0, fx)
                        step(&n1, fx)
                        step(&n2, fx)
                        step(&n3, fx)
                        step(&n4, fx)
                        step(&n5, fx)
                        step(&n6, fx)
                        step(&n7, fx)
                    }
                }
                let count = min(Self.lanes, treeCount - t)
                if float32 {
                    floatSum += Float(leaf[n0])
                    if count > 1 { floatSum += Float(leaf[n1]) }
                    if count > 2 { floatSum += Float(leaf[n2]) }
                    if count > 3 { floatSum += Float(leaf[n3]) }
                    if count > 4 { floatSum += Float(leaf[n4]) }
                    if count > 5 { floatSum += Float(leaf[n5]) }
                    if count > 6 { floatSum += Float(leaf[n6]) }
                    if count > 7 { floatSum += Float(leaf[n7]) }
                } else {
                    doubleSum += leaf[n0]
                    if count > 1 { doubleSum += leaf[n1] }
                    if count > 2 { doubleSum += leaf[n2] }
                    if count > 3 { doubleSum += leaf[n3] }
                    if count > 4 { doubleSum += leaf[n4] }
                    if count > 5 { doubleSum += leaf[n5] }
                    if count > 6 { doubleSum += leaf[n6] }
                    if count > 7 { doubleSum += leaf[n7] }
                }
                t += Self.lanes
            }
            return float32 ? Double(floatSum) : doubleSum
        }

        /// One level down, for a row without missing values.
        @inline(__always)
        private func step(_ n: inout Int, _ fx: UnsafeMutablePointer<Float>) {
            let node = nodes[n]
            n &+= Int(node.leftOffset) &+ (fx[Int(node.feature)] < node.threshold ? 0 : 1)
        }

        /// One level down, NaN to the node's default side.
        @inline(__always)
        private func stepMissing(_ n: inout Int, _ fx: UnsafeMutablePointer<Float>) {
            let node = nodes[n]
            let v = fx[Int(node.feature)]
            let right = v < node.threshold ? 0 : 1
            let isNaN = v != v ? 1 : 0
            n &+= Int(node.leftOffset) &+ (right & ~(isNaN & Int(defaultLeft[n])))
        }
    }
}
