/// Cumulative per-feature counts since the pipeline was built (or `resetCounters()`): how often each feature was
/// missing or outside the range seen in training. Arrays are indexed like the feature vector.
public struct FeatureCounters: Sendable, Equatable {
    /// Updates counted.
    public var updates = 0
    /// Updates in which the feature was NaN.
    public var missing: [Int]
    /// Updates in which the feature was below its spec's minimum.
    public var belowMinimum: [Int]
    /// Updates in which the feature was above its spec's maximum.
    public var aboveMaximum: [Int]

    public init(featureCount: Int) {
        missing = Array(repeating: 0, count: featureCount)
        belowMinimum = Array(repeating: 0, count: featureCount)
        aboveMaximum = Array(repeating: 0, count: featureCount)
    }
}
