#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How much each input moved one row's margin (log-odds), for saying why a decision was made.
///
/// `bias + contributions.sum()` is the margin: for a logistic regression the contribution of input `i` is
/// `coefficient[i] · x[i]` and the bias the intercept; for a tree ensemble they are per-tree path contributions
/// (Saabas): walking each tree from its root to the row's leaf, every split adds the change of the expected output
/// from the node to the child taken to its feature. The bundle carries no node covers, so a node's expected output is
/// the equal-weight mean of its two children's (the decomposition still sums exactly to the margin).
///
/// Allocates its result: call it when a decision is published, not on every sample.
public struct Contributions: Sendable, Equatable {
    /// The margin with every input at its expected contribution (the intercept, or the base margin plus each tree's
    /// root expectation).
    public var bias: Double
    /// One value per input, in schema order (0 for an input the row never reached).
    public var values: [Double]

    public init(bias: Double, values: [Double]) {
        self.bias = bias
        self.values = values
    }

    /// `bias + Σ values`.
    public var margin: Double { values.reduce(bias, +) }

    /// Indices of the `count` largest contributions by magnitude, largest first (ties by index).
    public func top(_ count: Int) -> [Int] {
        let ranked = values.indices.filter { values[$0] != 0 && values[$0].isFinite }.sorted {
            abs(values[$0]) != abs(values[$1]) ? abs(values[$0]) > abs(values[$1]) : $0 < $1
        }
        return Array(ranked.prefix(count))
    }
}

extension Model {
    /// Per-input contributions to the margin of one row (NaN = missing); `row.count` must be ≥ `featureCount`.
    public func contributions(_ row: [Double]) -> Contributions {
        precondition(row.count >= featureCount, "row has \(row.count) values, the model needs \(featureCount)")
        switch self {
        case .logistic(let m):
            return Contributions(
                bias: m.intercept, values: (0..<m.featureCount).map { m.coefficients[$0] * row[$0] })
        case .trees(let e):
            return e.contributions(row)
        }
    }
}

extension TreeEnsemble {
    /// Saabas path contributions (see `Contributions`), scaled like the margin (LightGBM's `sigmoid:`).
    func contributions(_ x: [Double]) -> Contributions {
        // Expected output of every node; children come after their parent, so one backward pass suffices.
        var expected = [Double](repeating: 0, count: nodeCount)
        for n in stride(from: nodeCount - 1, through: 0, by: -1) {
            expected[n] =
                splitFeature[n] < 0 ? value[n] : (expected[Int(left[n])] + expected[Int(right[n])]) / 2
        }
        var values = [Double](repeating: 0, count: featureCount)
        var bias = baseMargin
        for t in 0..<treeCount {
            var n = Int(treeStart[t])
            bias += expected[n]
            while splitFeature[n] >= 0 {
                let child = Int(goesLeft(node: n, x[Int(splitFeature[n])]) ? left[n] : right[n])
                values[Int(splitFeature[n])] += expected[child] - expected[n]
                n = child
            }
        }
        let scale = flavour == .lightgbm ? sigmoidScale : 1
        return Contributions(bias: bias * scale, values: values.map { $0 * scale })
    }

    /// The direction the evaluator takes at split node `n` for input value `xv` (the same rules as the prediction
    /// path in `TreeEnsemble+Evaluation.swift`; the contributions' tests check that they sum to its margin).
    private func goesLeft(node n: Int, _ value: Double) -> Bool {
        let bits = flags[n]
        let defaultLeft = bits & NodeFlags.defaultLeft.rawValue != 0
        guard flavour == .lightgbm else {
            return value.isNaN ? defaultLeft : Float(value) < Float(self.value[n])
        }
        if bits & NodeFlags.categorical.rawValue != 0 {
            guard !value.isNaN, value > -1, value < 2_147_483_648 else { return false }
            let category = Int(value)
            let set = Int(self.value[n])
            let start = Int(categorySetStart[set])
            let word = category >> 5
            guard word < Int(categorySetStart[set + 1]) - start else { return false }
            return categoryWords[start + word] & (UInt32(1) << UInt32(category & 31)) != 0
        }
        var xv = value
        let missingNaN = bits & NodeFlags.missingNaN.rawValue != 0
        if xv.isNaN && !missingNaN { xv = 0 }
        let zero = Double(Float(1e-35))
        let isMissing =
            (bits & NodeFlags.missingZero.rawValue != 0 && xv >= -zero && xv <= zero) || (missingNaN && xv.isNaN)
        return isMissing ? defaultLeft : xv <= self.value[n]
    }
}
