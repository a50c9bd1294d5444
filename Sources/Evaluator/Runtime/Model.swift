import OccupantCore

/// A model the gateway can run: a tree ensemble or a logistic regression.
public enum Model: Sendable, Equatable {
    case trees(TreeEnsemble)
    case logistic(LogisticModel)

    /// How many inputs a row must have.
    public var featureCount: Int {
        switch self {
        case .trees(let e): e.featureCount
        case .logistic(let m): m.featureCount
        }
    }

    /// Whether a row with a missing (NaN) input still gets a probability: trees send it to each split's default
    /// side; a logistic model has no such path, so its probability for that row is NaN ("no score", not a fault).
    public var scoresMissingInputs: Bool {
        switch self {
        case .trees: true
        case .logistic: false
        }
    }

    /// A short name of the kind and flavour, e.g. `trees/xgboost`.
    public var kindDescription: String {
        switch self {
        case .trees(let e): "trees/\(e.flavour)"
        case .logistic: "logistic"
        }
    }

    /// Re-checks the structure (for models built in memory).
    public func validate() throws(OccupantError) {
        switch self {
        case .trees(let e): try e.validate()
        case .logistic(let m): try m.validate()
        }
    }

    /// Probability of the positive class; NaN inputs are missing values. Does not allocate.
    public func probability(_ features: UnsafeBufferPointer<Double>) -> Double {
        switch self {
        case .trees(let e): e.probability(features)
        case .logistic(let m): m.probability(features)
        }
    }

    /// Convenience for one row held in an array.
    public func probability(_ features: [Double]) -> Double {
        features.withUnsafeBufferPointer { probability($0) }
    }

    /// The margin (log-odds) for one row.
    public func margin(_ features: [Double]) -> Double {
        features.withUnsafeBufferPointer { row in
            switch self {
            case .trees(let e): e.margin(row)
            case .logistic(let m): m.margin(row)
            }
        }
    }

    /// One probability per row.
    public func probabilities(rows: [[Double]]) -> [Double] {
        rows.map { probability($0) }
    }

    /// Probabilities of a row-major matrix of `featureCount`-wide rows, written into `output` (no allocation).
    public func probabilities(rows: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>) {
        let width = featureCount
        precondition(
            width > 0 && rows.count == width * output.count,
            "rows hold \(rows.count) values for \(output.count) outputs")
        for r in 0..<output.count {
            output[r] = probability(UnsafeBufferPointer(rebasing: rows[(r * width)..<((r + 1) * width)]))
        }
    }
}
