import OccupantCore

/// The bundle body: a model in a compact little-endian binary layout that loads without parsing text.
///
/// ```
/// u8 kind                       1 = trees, 2 = logistic
/// logistic: u32 n, f64 intercept, n × f64 coefficients
/// trees:    u8 flavour (0 xgboost, 1 lightgbm, 2 native)
///           u8 threshold width, u8 leaf width (4 = Float32, 8 = Float64), u8 child index width (2 or 4)
///           u32 featureCount, f64 baseMargin, f64 sigmoidScale
///           u32 trees, u32 nodes, u32 category sets, u32 category words
///           trees × u32 node count of each tree
///           nodes × u8 flags (NodeFlags; bit 7 = leaf)
///           splits × u16 feature, splits × threshold, splits × left, splits × right (tree-local indices)
///           leaves × leaf value
///           (sets + 1) × u32 set start (only when sets > 0), words × u32 category words
/// ```
/// Thresholds and leaves are Float32 for the XGBoost flavour, Float32 thresholds and Float64 leaves for native,
/// Float64 for LightGBM: the precision each flavour computes in, so nothing is lost.
enum ModelBody {
    static let leafBit: UInt8 = 1 << 7

    static func encode(_ model: Model) -> [UInt8] {
        var w = ByteWriter()
        switch model {
        case .logistic(let m):
            w.u8(2)
            w.u32(UInt32(m.coefficients.count))
            w.f64(m.intercept)
            for c in m.coefficients { w.f64(c) }
        case .trees(let e):
            encodeTrees(e, into: &w)
        }
        return w.bytes
    }

    private static func encodeTrees(_ e: TreeEnsemble, into w: inout ByteWriter) {
        let thresholdWidth: UInt8 = e.flavour == .lightgbm ? 8 : 4
        let leafWidth: UInt8 = e.flavour == .xgboost ? 4 : 8
        let sizes = (0..<e.treeCount).map { e.nodes(ofTree: $0).count }
        let indexWidth: UInt8 = (sizes.max() ?? 0) <= Int(UInt16.max) ? 2 : 4
        let categorySets = max(e.categorySetStart.count - 1, 0)
        w.u8(1)
        w.u8(e.flavour.rawValue)
        w.u8(thresholdWidth)
        w.u8(leafWidth)
        w.u8(indexWidth)
        w.u32(UInt32(e.featureCount))
        w.f64(e.baseMargin)
        w.f64(e.sigmoidScale)
        w.u32(UInt32(e.treeCount))
        w.u32(UInt32(e.nodeCount))
        w.u32(UInt32(categorySets))
        w.u32(UInt32(e.categoryWords.count))
        for s in sizes { w.u32(UInt32(s)) }
        var treeOf = [Int32](repeating: 0, count: e.nodeCount)
        for t in 0..<e.treeCount { for n in e.nodes(ofTree: t) { treeOf[n] = e.treeStart[t] } }
        let splits = e.splitFeature.indices.filter { e.splitFeature[$0] >= 0 }
        for n in 0..<e.nodeCount { w.u8(e.flags[n] | (e.splitFeature[n] < 0 ? leafBit : 0)) }
        for n in splits { w.u16(UInt16(truncatingIfNeeded: e.splitFeature[n])) }
        for n in splits { writeReal(e.value[n], width: thresholdWidth, &w) }
        for children in [e.left, e.right] {
            for n in splits {
                let local = UInt32(truncatingIfNeeded: children[n] - treeOf[n])
                if indexWidth == 2 { w.u16(UInt16(truncatingIfNeeded: local)) } else { w.u32(local) }
            }
        }
        for n in 0..<e.nodeCount where e.splitFeature[n] < 0 { writeReal(e.value[n], width: leafWidth, &w) }
        if categorySets > 0 { for s in e.categorySetStart { w.u32(UInt32(bitPattern: s)) } }
        for word in e.categoryWords { w.u32(word) }
    }

    private static func writeReal(_ v: Double, width: UInt8, _ w: inout ByteWriter) {
        if width == 4 { w.f32(Float(v)) } else { w.f64(v) }
    }

    /// Parses and validates untrusted body bytes; every failure is `.malformedBody` with a one-line message.
    static func decode(_ bytes: ArraySlice<UInt8>) throws(BundleError) -> Model {
        var r = ByteReader(bytes, reason: .malformedBody, context: "body")
        let kind = try r.u8("model kind")
        let model: Model
        switch kind {
        case 1: model = .trees(try decodeTrees(&r))
        case 2:
            let count = Int(try r.u32("coefficient count"))
            let intercept = try r.f64("intercept")
            try r.require(count, width: 8, "coefficients")
            var coefficients: [Double] = []
            coefficients.reserveCapacity(count)
            for _ in 0..<count { coefficients.append(try r.f64("coefficient")) }
            do {
                model = .logistic(try LogisticModel(validatingCoefficients: coefficients, intercept: intercept))
            } catch {
                throw BundleError(.malformedBody, "body: \(error.message)")
            }
        default: throw BundleError(.malformedBody, "body: unknown model kind \(kind)")
        }
        guard r.remaining == 0 else { throw BundleError(.malformedBody, "body: \(r.remaining) bytes after the model") }
        return model
    }

    private static func decodeTrees(_ r: inout ByteReader) throws(BundleError) -> TreeEnsemble {
        let flavourByte = try r.u8("flavour")
        guard let flavour = TreeEnsemble.Flavour(rawValue: flavourByte) else {
            throw BundleError(.malformedBody, "body: unknown tree flavour \(flavourByte)")
        }
        let thresholdWidth = Int(try r.u8("threshold width"))
        let leafWidth = Int(try r.u8("leaf width"))
        let indexWidth = Int(try r.u8("index width"))
        guard [4, 8].contains(thresholdWidth), [4, 8].contains(leafWidth), [2, 4].contains(indexWidth) else {
            throw BundleError(
                .malformedBody,
                "body: unsupported widths (threshold \(thresholdWidth), leaf \(leafWidth), index \(indexWidth))")
        }
        let featureCount = Int(try r.u32("feature count"))
        let baseMargin = try r.f64("base margin")
        let sigmoidScale = try r.f64("sigmoid scale")
        let treeCount = Int(try r.u32("tree count"))
        let nodeCount = Int(try r.u32("node count"))
        let setCount = Int(try r.u32("category set count"))
        let wordCount = Int(try r.u32("category word count"))
        guard nodeCount <= TreeEnsemble.maximumNodeCount else {
            throw BundleError(.malformedBody, "body: \(nodeCount) nodes, at most \(TreeEnsemble.maximumNodeCount)")
        }
        try r.require(treeCount, width: 4, "tree sizes")
        try r.require(nodeCount, width: 1, "node flags")
        var treeStart: [Int32] = []
        treeStart.reserveCapacity(treeCount)
        var total = 0
        for t in 0..<treeCount {
            let size = Int(try r.u32("tree size"))
            guard size >= 1, size <= nodeCount - total else {
                throw BundleError(
                    .malformedBody, "body: tree \(t) has \(size) nodes, \(nodeCount - total) of \(nodeCount) left")
            }
            treeStart.append(Int32(total))
            total += size
        }
        guard total == nodeCount else {
            throw BundleError(.malformedBody, "body: trees hold \(total) of \(nodeCount) nodes")
        }
        let rawFlags = Array(try r.take(nodeCount, "node flags"))
        let splitCount = rawFlags.reduce(0) { $0 + ($1 & leafBit == 0 ? 1 : 0) }
        try r.require(splitCount, width: 2 + thresholdWidth + 2 * indexWidth, "split nodes")
        var features: [Int32] = []
        var thresholds: [Double] = []
        var lefts: [Int32] = []
        var rights: [Int32] = []
        for _ in 0..<splitCount { features.append(Int32(try r.u16("split feature"))) }
        for _ in 0..<splitCount { thresholds.append(try readReal(&r, width: thresholdWidth, "threshold")) }
        for _ in 0..<splitCount { lefts.append(try readIndex(&r, width: indexWidth)) }
        for _ in 0..<splitCount { rights.append(try readIndex(&r, width: indexWidth)) }
        try r.require(nodeCount - splitCount, width: leafWidth, "leaf values")
        var splitFeature = [Int32](repeating: -1, count: nodeCount)
        var value = [Double](repeating: 0, count: nodeCount)
        var left = [Int32](repeating: -1, count: nodeCount)
        var right = [Int32](repeating: -1, count: nodeCount)
        var s = 0
        var tree = 0
        for n in 0..<nodeCount {
            while tree + 1 < treeCount, Int(treeStart[tree + 1]) <= n { tree += 1 }
            if rawFlags[n] & leafBit != 0 {
                value[n] = try readReal(&r, width: leafWidth, "leaf value")
            } else {
                splitFeature[n] = features[s]
                value[n] = thresholds[s]
                left[n] = lefts[s] &+ treeStart[tree]
                right[n] = rights[s] &+ treeStart[tree]
                s += 1
            }
        }
        let setStarts =
            setCount == 0
            ? [] : try readWords(&r, count: setCount + 1, "category set starts").map { Int32(bitPattern: $0) }
        let words = try readWords(&r, count: wordCount, "category words")
        do {
            return try TreeEnsemble(
                validating: flavour, featureCount: featureCount, baseMargin: baseMargin, sigmoidScale: sigmoidScale,
                treeStart: treeStart, splitFeature: splitFeature, value: value, left: left, right: right,
                flags: rawFlags.map { $0 & ~leafBit }, categorySetStart: setStarts, categoryWords: words)
        } catch {
            throw BundleError(.malformedBody, "body: \(error.message)")
        }
    }

    private static func readReal(_ r: inout ByteReader, width: Int, _ what: String) throws(BundleError) -> Double {
        width == 4 ? Double(try r.f32(what)) : try r.f64(what)
    }

    private static func readIndex(_ r: inout ByteReader, width: Int) throws(BundleError) -> Int32 {
        // A tree-local index; anything that does not fit Int32 is out of range and left to validation.
        let v = width == 2 ? UInt32(try r.u16("child index")) : try r.u32("child index")
        return v > UInt32(Int32.max / 2) ? Int32.max / 2 : Int32(v)
    }

    private static func readWords(_ r: inout ByteReader, count: Int, _ what: String) throws(BundleError) -> [UInt32] {
        try r.require(count, width: 4, what)
        var out: [UInt32] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(try r.u32(what)) }
        return out
    }
}
