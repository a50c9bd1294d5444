import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Logistic regression: probability = sigmoid(intercept + Σ coefficients[i] · x[i]), all in Float64.
///
/// A missing input (NaN) makes the probability NaN: a linear model has no default direction, and the caller
/// treats NaN as "no decision".
public struct LogisticModel: Sendable, Equatable {
    public internal(set) var coefficients: [Double]
    public internal(set) var intercept: Double

    /// A model taken as given; callers with untrusted data use `init(validatingCoefficients:intercept:)`.
    init(coefficients: [Double], intercept: Double) {
        self.coefficients = coefficients
        self.intercept = intercept
    }

    /// Checks that there is at least one coefficient, not too many, and that every value is finite.
    public init(validatingCoefficients coefficients: [Double], intercept: Double) throws(OccupantError) {
        self.init(coefficients: coefficients, intercept: intercept)
        try validate()
    }

    public var featureCount: Int { coefficients.count }

    /// Throws a one-line `.model` error naming the first bad value.
    public func validate() throws(OccupantError) {
        guard !coefficients.isEmpty, coefficients.count <= TreeEnsemble.maximumFeatureCount else {
            throw OccupantError(
                .model,
                "logistic model: \(coefficients.count) coefficients, need 1...\(TreeEnsemble.maximumFeatureCount)")
        }
        if let i = coefficients.firstIndex(where: { !$0.isFinite }) {
            throw OccupantError(.model, "logistic model: coefficient \(i) is \(coefficients[i]), not finite")
        }
        guard intercept.isFinite else {
            throw OccupantError(.model, "logistic model: intercept \(intercept) is not finite")
        }
    }

    /// The linear score (log-odds) for one row.
    public func margin(_ features: UnsafeBufferPointer<Double>) -> Double {
        precondition(
            features.count >= featureCount, "row has \(features.count) values, the model needs \(featureCount)")
        return coefficients.withUnsafeBufferPointer { w in
            var sum = 0.0
            for i in 0..<w.count { sum += w[i] * features[i] }
            return sum + intercept
        }
    }

    /// Probability of the positive class for one row.
    public func probability(_ features: UnsafeBufferPointer<Double>) -> Double {
        1 / (1 + exp(-margin(features)))
    }
}
