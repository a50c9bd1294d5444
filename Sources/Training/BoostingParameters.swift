import Foundation

/// Hyper-parameters of one gradient-boosted-trees fit (binary log-loss, depth-wise growth).
public struct BoostingParameters: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Most trees; early stopping may keep fewer.
    public var trees: Int
    public var learningRate: Double
    public var maxDepth: Int
    /// Smallest hessian sum a child may have.
    public var minChildWeight: Double
    /// L2 penalty on leaf values (λ).
    public var l2: Double
    /// Smallest loss reduction a split must bring (γ).
    public var minSplitGain: Double
    /// Share of rows each tree sees (sampled per tree).
    public var rowSubsample: Double
    /// Share of features each tree may split on (sampled per tree).
    public var columnSubsample: Double
    /// Stop when the validation loss has not improved for this many trees.
    public var earlyStoppingRounds: Int
    /// Keep the model monotone in each activity level (the latest value and window mean/min/max of a numeric
    /// channel), in the direction the channel correlates with occupancy (`FeatureSpace.monotone`). nil = off.
    public var monotone: Bool?

    public init(
        trees: Int = 100, learningRate: Double = 0.1, maxDepth: Int = 6, minChildWeight: Double = 1, l2: Double = 1,
        minSplitGain: Double = 0, rowSubsample: Double = 1, columnSubsample: Double = 1, earlyStoppingRounds: Int = 20,
        monotone: Bool? = nil
    ) {
        precondition(trees >= 1 && maxDepth >= 1 && maxDepth <= 16, "trees ≥ 1, depth 1…16")
        precondition(
            learningRate > 0 && l2 >= 0 && minChildWeight >= 0, "learning rate > 0, l2 and min child weight ≥ 0")
        precondition(
            rowSubsample > 0 && rowSubsample <= 1 && columnSubsample > 0 && columnSubsample <= 1, "subsample in (0, 1]")
        self.trees = trees
        self.learningRate = learningRate
        self.maxDepth = maxDepth
        self.minChildWeight = minChildWeight
        self.l2 = l2
        self.minSplitGain = minSplitGain
        self.rowSubsample = rowSubsample
        self.columnSubsample = columnSubsample
        self.earlyStoppingRounds = earlyStoppingRounds
        self.monotone = monotone
    }

    public var description: String {
        "trees≤\(trees) lr=\(short(learningRate)) depth=\(maxDepth) minChild=\(short(minChildWeight)) "
            + "l2=\(short(l2)) gamma=\(short(minSplitGain)) rows=\(short(rowSubsample)) cols=\(short(columnSubsample))"
            + (monotone == true ? " monotone" : "")
    }
}

/// A number with at most 4 significant digits, for reports.
func short(_ x: Double) -> String {
    guard x.isFinite, x != 0 else { return "\(x)" }
    let magnitude = Int((Foundation.log10(abs(x))).rounded(.down))
    let scale = Foundation.pow(10, Double(3 - magnitude))
    let rounded = (x * scale).rounded() / scale
    var text = "\(rounded)"
    if text.hasSuffix(".0") { text.removeLast(2) }
    return text
}
