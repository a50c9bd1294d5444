import OccupantCore

/// A binary-logistic ensemble of decision trees stored as flat, contiguous per-node arrays.
///
/// Node `n` is a leaf when `splitFeature[n] == -1`; then `value[n]` is its output. Otherwise `value[n]` is the split
/// threshold (for a categorical split, the index of its category set), and `left[n]` / `right[n]` are the global
/// indices of its children. The nodes of tree `t` are `treeStart[t] ..< treeStart[t + 1]` (the last tree ends at
/// `nodeCount`), and every child index is greater than its parent's, so every walk ends at a leaf.
///
/// How a node compares, and in what precision the sum is kept, depends on `flavour` (see `Flavour`).
/// Build one from untrusted data with `init(validating…)`, which checks every index and value.
public struct TreeEnsemble: Sendable, Equatable {
    /// Whose semantics the ensemble follows.
    public enum Flavour: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        /// XGBoost: input and threshold rounded to Float32, left iff `x < threshold`; NaN follows the default
        /// direction; margin and leaf values summed in Float32, starting from `baseMargin`; sigmoid in Float32.
        case xgboost = 0
        /// LightGBM: Float64 compare, left iff `x <= threshold`; `decision_type` missing-type handling (None: NaN→0,
        /// Zero: |x| ≤ 1e-35 and NaN follow the default, NaN: NaN follows the default); categorical bitset splits;
        /// Float64 sum; probability = sigmoid(sigmoidScale · margin).
        case lightgbm = 1
        /// Our own trainer: thresholds are Float32 values compared like XGBoost (`Float(x) < threshold`, NaN to the
        /// default side), leaf values and the margin are Float64, sigmoid in Float64.
        case native = 2

        public var description: String {
            switch self {
            case .xgboost: "xgboost"
            case .lightgbm: "lightgbm"
            case .native: "native"
            }
        }
    }

    /// Per-node flag bits.
    public struct NodeFlags: OptionSet, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// A missing value goes left.
        public static let defaultLeft = NodeFlags(rawValue: 1 << 0)
        /// LightGBM missing type Zero: values within ±1e-35 (and NaN) are missing.
        public static let missingZero = NodeFlags(rawValue: 1 << 1)
        /// LightGBM missing type NaN: only NaN is missing (with neither bit, NaN is read as 0).
        public static let missingNaN = NodeFlags(rawValue: 1 << 2)
        /// LightGBM categorical split: `value` is the index of a category set in `categorySetStart`.
        public static let categorical = NodeFlags(rawValue: 1 << 3)

        /// Every bit that has a meaning.
        public static let known: NodeFlags = [.defaultLeft, .missingZero, .missingNaN, .categorical]
    }

    public internal(set) var flavour: Flavour
    /// How many inputs a row must have.
    public internal(set) var featureCount: Int
    /// Added to the sum of leaf values (XGBoost: logit(base_score); LightGBM: 0, the init score is in tree 0).
    public internal(set) var baseMargin: Double
    /// LightGBM's `sigmoid:` parameter; 1 for the other flavours.
    public internal(set) var sigmoidScale: Double
    /// First node of each tree.
    public internal(set) var treeStart: [Int32]
    /// Input index of each node's split, or -1 for a leaf.
    public internal(set) var splitFeature: [Int32]
    /// Threshold of a split node, output of a leaf, category-set index of a categorical split.
    public internal(set) var value: [Double]
    public internal(set) var left: [Int32]
    public internal(set) var right: [Int32]
    public internal(set) var flags: [UInt8]
    /// Category set `k` is the bit words `categoryWords[categorySetStart[k] ..< categorySetStart[k + 1]]`.
    public internal(set) var categorySetStart: [Int32]
    /// 32 categories per word, bit `c % 32` of word `c / 32`; a set bit sends the row left.
    public internal(set) var categoryWords: [UInt32]
    /// The layout prediction walks for the Float32-comparing flavours (xgboost, native), built by `prepare()` once
    /// the arrays are validated; nil until then, for LightGBM, or for a layout it cannot hold (prediction then walks
    /// the separate arrays). Derived data: not compared by `==`.
    var compiled: CompiledForest? {
        didSet { layout = compiled?.layout }
    }
    /// `compiled`'s buffers, read by prediction without retaining `compiled`.
    var layout: CompiledForest.Layout.Reference?

    /// Builds `compiled` (only for a validated layout).
    mutating func prepare() {
        compiled = CompiledForest(self)
    }

    public static func == (a: TreeEnsemble, b: TreeEnsemble) -> Bool {
        a.flavour == b.flavour && a.featureCount == b.featureCount && a.baseMargin.bitPattern == b.baseMargin.bitPattern
            && a.sigmoidScale == b.sigmoidScale && a.treeStart == b.treeStart && a.splitFeature == b.splitFeature
            && a.value.map(\.bitPattern) == b.value.map(\.bitPattern) && a.left == b.left && a.right == b.right
            && a.flags == b.flags && a.categorySetStart == b.categorySetStart && a.categoryWords == b.categoryWords
    }

    /// An ensemble taken as given; callers with untrusted data use `init(validating…)`.
    init(
        flavour: Flavour, featureCount: Int, baseMargin: Double, sigmoidScale: Double = 1, treeStart: [Int32],
        splitFeature: [Int32], value: [Double], left: [Int32], right: [Int32], flags: [UInt8],
        categorySetStart: [Int32] = [], categoryWords: [UInt32] = []
    ) {
        self.flavour = flavour
        self.featureCount = featureCount
        self.baseMargin = baseMargin
        self.sigmoidScale = sigmoidScale
        self.treeStart = treeStart
        self.splitFeature = splitFeature
        self.value = value
        self.left = left
        self.right = right
        self.flags = flags
        self.categorySetStart = categorySetStart
        self.categoryWords = categoryWords
    }

    /// Checks every index and value (see `validate()`) before accepting the arrays.
    public init(
        validating flavour: Flavour, featureCount: Int, baseMargin: Double, sigmoidScale: Double = 1,
        treeStart: [Int32], splitFeature: [Int32], value: [Double], left: [Int32], right: [Int32], flags: [UInt8],
        categorySetStart: [Int32] = [], categoryWords: [UInt32] = []
    ) throws(OccupantError) {
        self.init(
            flavour: flavour, featureCount: featureCount, baseMargin: baseMargin, sigmoidScale: sigmoidScale,
            treeStart: treeStart, splitFeature: splitFeature, value: value, left: left, right: right, flags: flags,
            categorySetStart: categorySetStart, categoryWords: categoryWords)
        try validate()
        prepare()
    }

    public var treeCount: Int { treeStart.count }
    public var nodeCount: Int { splitFeature.count }
    public var leafCount: Int { splitFeature.reduce(0) { $0 + ($1 < 0 ? 1 : 0) } }

    /// Nodes of tree `t`.
    public func nodes(ofTree t: Int) -> Range<Int> {
        Int(treeStart[t])..<(t + 1 < treeStart.count ? Int(treeStart[t + 1]) : nodeCount)
    }
}
