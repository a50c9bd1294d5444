/// Grows one tree depth-wise from gradient/hessian histograms (sibling histograms by subtraction).
struct TreeGrower {
    let matrix: BinnedMatrix
    /// Matrix column of each fit feature.
    let features: [Int]
    /// Fit-feature positions this tree may split on.
    let columns: [Int]
    let grad: [Double]
    let hess: [Double]
    let parameters: BoostingParameters
    /// The fit's bins row by row: `rowBins[r * features.count + position]` (one cache line per row when the
    /// histograms and partitions visit rows in scattered order; see `GradientBoosting.rowMajorBins`).
    let rowBins: [UInt8]
    /// The fit's threads and histogram scratch.
    let threads: FitThreads
    /// Per fit feature: +1 when the model must not decrease as the feature grows, -1 not increase, 0 free (empty:
    /// all free). Enforced as in XGBoost: a split on a constrained feature must order its children's values, and
    /// the children's subtrees stay on their side of the midpoint.
    var monotone: [Int8] = []

    private static let slots = 256

    private struct Pending {
        var node: Int
        var start: Int
        var end: Int
        var g: Double
        var h: Double
        /// Its gradient/hessian histogram (a slice of the level's `histograms` result, or its own array).
        var histogram: ArraySlice<Double>
        /// Bounds on the node's leaf weights (monotone constraints).
        var lower = -Double.infinity
        var upper = Double.infinity
    }

    private struct Split {
        var column: Int // index into `columns`
        var bin: Int
        var defaultLeft: Bool
        var gain: Double
        var gLeft: Double
        var hLeft: Double
        /// The children's weights, within the node's bounds.
        var wLeft = 0.0
        var wRight = 0.0
    }

    /// Grows a tree over `rows` (reordered in place by the partitions: each leaf's rows end up contiguous, at
    /// the tree's `leafRanges`). Level by level: the level's splits, then its partitions side by side (the nodes'
    /// rows are disjoint), then every histogram the next level needs in one parallel run.
    func grow(rows: inout [Int32]) -> GrownTree {
        var nodes = [GrownTree.Node()]
        var leafRanges: [GrownTree.LeafRange] = []
        var g = 0.0
        var h = 0.0
        for r in rows {
            g += grad[Int(r)]
            h += hess[Int(r)]
        }
        var level = [
            Pending(
                node: 0, start: 0, end: rows.count, g: g, h: h,
                histogram: histograms(rows, [0..<rows.count])[0])
        ]
        var depth = 0
        var splits: [Split?] = []
        var mids: [Int] = []
        while !level.isEmpty {
            splits.removeAll(keepingCapacity: true)
            for pending in level { splits.append(depth < parameters.maxDepth ? bestSplit(pending) : nil) }
            mids = [Int](repeating: 0, count: level.count)
            rows.withUnsafeMutableBufferPointer { rowBuffer in
                mids.withUnsafeMutableBufferPointer { mids in
                    let rowBuffer = Unchecked(rowBuffer)
                    let mids = Unchecked(mids)
                    threads.run(level.count) { i in
                        guard let split = splits[i] else { return }
                        let pending = level[i]
                        mids.value[i] = partition(
                            rowBuffer.value, pending.start..<pending.end, position: columns[split.column], split: split)
                    }
                }
            }
            var next: [Pending] = []
            // Histograms the next level needs: the smaller child's rows, and where its sibling's comes from.
            var small: [Range<Int>] = []
            var jobs: [(parent: Int, leftIsSmaller: Bool)] = []
            for (i, pending) in level.enumerated() {
                guard let split = splits[i] else {
                    nodes[pending.node].leafValue = leaf(pending.g, pending.h, pending)
                    leafRanges.append(.init(rows: pending.start..<pending.end, value: nodes[pending.node].leafValue))
                    continue
                }
                let position = columns[split.column]
                let mid = mids[i]
                let leftIndex = nodes.count
                let rightIndex = nodes.count + 1
                nodes.append(GrownTree.Node())
                nodes.append(GrownTree.Node())
                nodes[pending.node].feature = position
                nodes[pending.node].bin = split.bin
                nodes[pending.node].defaultLeft = split.defaultLeft
                nodes[pending.node].left = leftIndex
                nodes[pending.node].right = rightIndex
                let gRight = pending.g - split.gLeft
                let hRight = pending.h - split.hLeft
                // The children's bounds: a constrained split keeps each side of the midpoint of their weights.
                var leftBounds = (pending.lower, pending.upper)
                var rightBounds = leftBounds
                let direction = monotone.isEmpty ? 0 : monotone[position]
                if direction != 0 {
                    let midpoint = (split.wLeft + split.wRight) / 2
                    if direction > 0 {
                        leftBounds.1 = midpoint
                        rightBounds.0 = midpoint
                    } else {
                        leftBounds.0 = midpoint
                        rightBounds.1 = midpoint
                    }
                }
                let leftPending = Pending(
                    node: leftIndex, start: pending.start, end: mid, g: split.gLeft, h: split.hLeft, histogram: [],
                    lower: leftBounds.0, upper: leftBounds.1)
                let rightPending = Pending(
                    node: rightIndex, start: mid, end: pending.end, g: gRight, h: hRight, histogram: [],
                    lower: rightBounds.0, upper: rightBounds.1)
                if depth + 1 >= parameters.maxDepth {
                    nodes[leftIndex].leafValue = leaf(split.gLeft, split.hLeft, leftPending)
                    nodes[rightIndex].leafValue = leaf(gRight, hRight, rightPending)
                    leafRanges.append(.init(rows: pending.start..<mid, value: nodes[leftIndex].leafValue))
                    leafRanges.append(.init(rows: mid..<pending.end, value: nodes[rightIndex].leafValue))
                    continue
                }
                let leftIsSmaller = mid - pending.start <= pending.end - mid
                small.append(leftIsSmaller ? pending.start..<mid : mid..<pending.end)
                jobs.append((i, leftIsSmaller))
                next.append(leftPending)
                next.append(rightPending)
            }
            let smallHistograms = histograms(rows, small)
            for (j, job) in jobs.enumerated() {
                let smallHistogram = smallHistograms[j]
                var largeHistogram = Array(level[job.parent].histogram)
                largeHistogram.withUnsafeMutableBufferPointer { large in
                    smallHistogram.withUnsafeBufferPointer { small in
                        for s in large.indices { large[s] -= small[s] }
                    }
                }
                next[2 * j].histogram = job.leftIsSmaller ? smallHistogram : largeHistogram[...]
                next[2 * j + 1].histogram = job.leftIsSmaller ? largeHistogram[...] : smallHistogram
            }
            level = next
            depth += 1
        }
        return GrownTree(nodes: nodes, leafRanges: leafRanges)
    }

    private func leaf(_ g: Double, _ h: Double, _ node: Pending) -> Double {
        weight(g, h, node) * parameters.learningRate
    }

    /// The leaf weight for sums `g`, `h`, within the node's bounds.
    @inline(__always)
    private func weight(_ g: Double, _ h: Double, _ node: Pending) -> Double {
        min(max(-g / (h + parameters.l2), node.lower), node.upper)
    }

    /// Gradient and hessian sums per (column, bin) of the rows at each of `ranges` (positions in `rows`),
    /// interleaved: `[(c * 256 + bin) * 2 + {0: g, 1: h}]`. Each range's rows are cut into `FitThreads.blocks`
    /// blocks; every (range, block) is one task, summed in row order (the first block into the result, the others
    /// into scratch), and the blocks are then added in block order, so the sums do not depend on the thread count.
    func histograms(_ rows: [Int32], _ ranges: [Range<Int>]) -> [ArraySlice<Double>] {
        let size = columns.count * Self.slots * 2
        guard !ranges.isEmpty else { return [] }
        var flat = [Double](repeating: 0, count: ranges.count * size)
        // Tasks: (range, block); blocks after the first of a range sum into scratch.
        var tasks: [(range: Int, block: Int, scratch: Int)] = []
        var scratchCount = 0
        for (j, range) in ranges.enumerated() {
            let blocks = FitThreads.blocks(rows: range.count)
            for b in 0..<blocks {
                tasks.append((j, b, b == 0 ? -1 : scratchCount))
                if b > 0 { scratchCount += 1 }
            }
        }
        let scratch = Unchecked(threads.scratch(capacity: scratchCount * size))
        let width = features.count
        flat.withUnsafeMutableBufferPointer { flat in
            let targets = Unchecked(flat.baseAddress!)
            rowBins.withUnsafeBufferPointer { bins in
                grad.withUnsafeBufferPointer { g in
                    hess.withUnsafeBufferPointer { h in
                        rows.withUnsafeBufferPointer { rows in
                            columns.withUnsafeBufferPointer { columns in
                                let inputs = Unchecked((bins, g, h, rows, columns))
                                threads.run(tasks.count) { t in
                                    let (bins, g, h, rows, columns) = inputs.value
                                    let task = tasks[t]
                                    let range = ranges[task.range]
                                    let blocks = FitThreads.blocks(rows: range.count)
                                    let hist: UnsafeMutablePointer<Double>
                                    if task.scratch < 0 {
                                        hist = targets.value + task.range * size
                                    } else {
                                        hist = scratch.value.baseAddress! + task.scratch * size
                                        hist.initialize(repeating: 0, count: size)
                                    }
                                    for i in FitThreads.block(task.block, of: blocks, in: range) {
                                        let r = Int(rows[i])
                                        let gr = g[r]
                                        let hr = h[r]
                                        let row = bins.baseAddress! + r &* width
                                        for c in 0..<columns.count {
                                            let slot = (c &* Self.slots &+ Int(row[columns[c]])) &* 2
                                            hist[slot] += gr
                                            hist[slot &+ 1] += hr
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            guard scratchCount > 0 else { return }
            // Merge: each range's blocks in block order, the slots cut into chunks across threads.
            let chunks = 8
            threads.run(ranges.count * chunks) { t in
                let j = t / chunks
                let blocks = FitThreads.blocks(rows: ranges[j].count)
                guard blocks > 1 else { return }
                let first = tasks.firstIndex { $0.range == j && $0.block == 1 }!
                let target = targets.value + j * size
                for s in FitThreads.block(t % chunks, of: chunks, in: 0..<size) {
                    var sum = target[s]
                    for b in 1..<blocks { sum += scratch.value[(tasks[first + b - 1].scratch) * size + s] }
                    target[s] = sum
                }
            }
        }
        return ranges.indices.map { j in flat[(j * size)..<((j + 1) * size)] }
    }

    private func bestSplit(_ node: Pending) -> Split? {
        let lambda = parameters.l2
        // With λ = 0 a child's hessian sum can round to 0 (sibling subtraction when its rows are near-certain):
        // the children must keep h + λ > 0, or the gain and the leaf weight -g / (h + λ) are ±∞ or NaN.
        let minChild = parameters.minChildWeight
        guard node.h >= 2 * minChild else { return nil }
        let parentScore = node.g * node.g / (node.h + lambda)
        var best: Split? = nil
        node.histogram.withUnsafeBufferPointer { hist in
            for (c, position) in columns.enumerated() {
                let column = features[position]
                let binCount = matrix.binCount(column)
                guard binCount > 1 else { continue }
                let direction = monotone.isEmpty ? 0 : monotone[position]
                // Whether a split with these left sums keeps the column's order (always, when unconstrained).
                func ordered(_ gl: Double, _ hl: Double) -> (Bool, Double, Double) {
                    guard direction != 0 else { return (true, 0, 0) }
                    let wl = weight(gl, hl, node)
                    let wr = weight(node.g - gl, node.h - hl, node)
                    return (direction > 0 ? wl <= wr : wl >= wr, wl, wr)
                }
                let offset = c * Self.slots * 2
                let missingSlot = offset + Int(BinnedMatrix.missingBin) * 2
                let gMissing = hist[missingSlot]
                let hMissing = hist[missingSlot + 1]
                let hasMissing = hMissing > 0
                var gl = 0.0
                var hl = 0.0
                for b in 0..<(binCount - 1) {
                    gl += hist[offset + b * 2]
                    hl += hist[offset + b * 2 + 1]
                    // Missing values right.
                    do {
                        let hr = node.h - hl
                        let gr = node.g - gl
                        if hl >= minChild, hr >= minChild, hl + lambda > 0, hr + lambda > 0 {
                            let gain = gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parentScore
                            if gain > (best?.gain ?? parameters.minSplitGain) + 1e-12 {
                                let (ok, wl, wr) = ordered(gl, hl)
                                if ok {
                                    best = Split(
                                        column: c, bin: b, defaultLeft: hasMissing ? false : hl > hr, gain: gain,
                                        gLeft: gl, hLeft: hl, wLeft: wl, wRight: wr)
                                }
                            }
                        }
                    }
                    // Missing values left.
                    if hasMissing {
                        let gl2 = gl + gMissing
                        let hl2 = hl + hMissing
                        let hr = node.h - hl2
                        let gr = node.g - gl2
                        if hl2 >= minChild, hr >= minChild, hl2 + lambda > 0, hr + lambda > 0 {
                            let gain = gl2 * gl2 / (hl2 + lambda) + gr * gr / (hr + lambda) - parentScore
                            if gain > (best?.gain ?? parameters.minSplitGain) + 1e-12 {
                                let (ok, wl, wr) = ordered(gl2, hl2)
                                if ok {
                                    best = Split(
                                        column: c, bin: b, defaultLeft: true, gain: gain, gLeft: gl2, hLeft: hl2,
                                        wLeft: wl, wRight: wr)
                                }
                            }
                        }
                    }
                }
            }
        }
        return best
    }

    /// Moves the rows going left to the front of `range`; returns where the right rows start.
    private func partition(
        _ rows: UnsafeMutableBufferPointer<Int32>, _ range: Range<Int>, position: Int, split: Split
    ) -> Int {
        let width = features.count
        return rowBins.withUnsafeBufferPointer { bins in
            var i = range.lowerBound
            var j = range.upperBound - 1
            func goesLeft(_ r: Int32) -> Bool {
                let b = bins[Int(r) &* width &+ position]
                return b == BinnedMatrix.missingBin ? split.defaultLeft : Int(b) <= split.bin
            }
            while i <= j {
                if goesLeft(rows[i]) {
                    i += 1
                } else {
                    rows.swapAt(i, j)
                    j -= 1
                }
            }
            return i
        }
    }
}
