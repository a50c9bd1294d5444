#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

// The prediction hot path: no allocation, no text, no throwing. The layout was validated when the ensemble was
// built, so every walk ends at a leaf. xgboost and native ensembles walk their `CompiledForest` (no bounds checks:
// its indices were derived from the validated arrays); LightGBM ensembles, and ensembles built without validation,
// walk the separate arrays below, with the precondition on the row width and Swift's own bounds checks.

/// LightGBM's `kZeroThreshold` (a `1e-35f` literal widened to double).
private let zeroThreshold = Double(Float(1e-35))

extension TreeEnsemble {
    /// Probability of the positive class for one row (NaN = missing); `features.count` must be ≥ `featureCount`.
    public func probability(_ features: UnsafeBufferPointer<Double>) -> Double {
        precondition(
            features.count >= featureCount, "row has \(features.count) values, the model needs \(featureCount)")
        switch flavour {
        case .xgboost:
            // xgboost's Sigmoid: 1 / (1 + expf(min(-x, 88.7))), all in Float32.
            let m = xgboostMargin(features)
            return Double(1 / (exp(min(-m, 88.7)) + 1))
        case .lightgbm:
            return 1 / (1 + exp(-sigmoidScale * doubleMargin(features)))
        case .native:
            return 1 / (1 + exp(-doubleMargin(features)))
        }
    }

    /// The raw margin (log-odds before the sigmoid) for one row.
    public func margin(_ features: UnsafeBufferPointer<Double>) -> Double {
        precondition(
            features.count >= featureCount, "row has \(features.count) values, the model needs \(featureCount)")
        switch flavour {
        case .xgboost: return Double(xgboostMargin(features))
        case .lightgbm: return sigmoidScale * doubleMargin(features)
        case .native: return doubleMargin(features)
        }
    }

    private func xgboostMargin(_ x: UnsafeBufferPointer<Double>) -> Float {
        if let layout { return Float(layout.pointer.pointee.margin(x)) }
        return withNodes { nodes in
            var sum = Float(baseMargin)
            // Index loops on the per-sample path: a for-in allocates its iterator in unoptimised builds.
            for t in 0..<treeStart.count {
                sum += Float(nodes.value[nodes.leafFloat32(from: Int(treeStart[t]), x)])
            }
            return sum
        }
    }

    private func doubleMargin(_ x: UnsafeBufferPointer<Double>) -> Double {
        if let layout { return layout.pointer.pointee.margin(x) }
        return withNodes { nodes in
            var sum = baseMargin
            if flavour == .lightgbm {
                for t in 0..<treeStart.count { sum += nodes.value[nodes.leafLightGBM(from: Int(treeStart[t]), x)] }
            } else {
                for t in 0..<treeStart.count { sum += nodes.value[nodes.leafFloat32(from: Int(treeStart[t]), x)] }
            }
            return sum
        }
    }

    /// Runs `body` with raw views of the node arrays (non-escaping closures: nothing is allocated).
    @inline(__always)
    private func withNodes<R>(_ body: (NodeView) -> R) -> R {
        splitFeature.withUnsafeBufferPointer { f in
            value.withUnsafeBufferPointer { v in
                left.withUnsafeBufferPointer { l in
                    right.withUnsafeBufferPointer { r in
                        flags.withUnsafeBufferPointer { fl in
                            categorySetStart.withUnsafeBufferPointer { cs in
                                categoryWords.withUnsafeBufferPointer { cw in
                                    body(
                                        NodeView(
                                            feature: f, value: v, left: l, right: r, flags: fl, setStart: cs, words: cw)
                                    )
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Borrowed views of a validated ensemble's arrays.
private struct NodeView {
    let feature: UnsafeBufferPointer<Int32>
    let value: UnsafeBufferPointer<Double>
    let left: UnsafeBufferPointer<Int32>
    let right: UnsafeBufferPointer<Int32>
    let flags: UnsafeBufferPointer<UInt8>
    let setStart: UnsafeBufferPointer<Int32>
    let words: UnsafeBufferPointer<UInt32>

    /// XGBoost / native: `Float(x) < Float(threshold)`, NaN to the default side.
    @inline(__always)
    func leafFloat32(from root: Int, _ x: UnsafeBufferPointer<Double>) -> Int {
        var n = root
        while true {
            let f = feature[n]
            if f < 0 { return n }
            let xv = x[Int(f)]
            let goLeft: Bool
            if xv.isNaN {
                goLeft = flags[n] & TreeEnsemble.NodeFlags.defaultLeft.rawValue != 0
            } else {
                goLeft = Float(xv) < Float(value[n])
            }
            n = Int(goLeft ? left[n] : right[n])
        }
    }

    /// LightGBM: `Tree::NumericalDecision` / `Tree::CategoricalDecision`.
    @inline(__always)
    func leafLightGBM(from root: Int, _ x: UnsafeBufferPointer<Double>) -> Int {
        var n = root
        while true {
            let f = feature[n]
            if f < 0 { return n }
            let bits = flags[n]
            var xv = x[Int(f)]
            let goLeft: Bool
            if bits & TreeEnsemble.NodeFlags.categorical.rawValue != 0 {
                goLeft = categoryGoesLeft(xv, set: Int(value[n]))
            } else {
                let missingNaN = bits & TreeEnsemble.NodeFlags.missingNaN.rawValue != 0
                if xv.isNaN && !missingNaN { xv = 0 }
                let isMissing =
                    (bits & TreeEnsemble.NodeFlags.missingZero.rawValue != 0 && xv >= -zeroThreshold
                        && xv <= zeroThreshold)
                    || (missingNaN && xv.isNaN)
                if isMissing {
                    goLeft = bits & TreeEnsemble.NodeFlags.defaultLeft.rawValue != 0
                } else {
                    goLeft = xv <= value[n]
                }
            }
            n = Int(goLeft ? left[n] : right[n])
        }
    }

    /// NaN, negative (after truncation to int) or out-of-int-range values go right; otherwise the category's bit.
    @inline(__always)
    private func categoryGoesLeft(_ xv: Double, set k: Int) -> Bool {
        guard !xv.isNaN, xv > -1, xv < 2_147_483_648 else { return false }
        let category = Int(xv) // truncates toward zero, as static_cast<int>
        let start = Int(setStart[k])
        let wordCount = Int(setStart[k + 1]) - start
        let word = category >> 5
        guard word < wordCount else { return false }
        return words[start + word] & (UInt32(1) << UInt32(category & 31)) != 0
    }
}
