/// Golden vectors: rows with the scores a model computed for them, carried in the bundle and re-checked on load.
public enum GoldenVectors {
    /// Scores `rows` with `model` (this evaluator) and pairs each row with its probability.
    public static func make(model: Model, rows: [[Double]]) -> [GoldenVector] {
        rows.map { GoldenVector(features: $0, probability: model.probability($0)) }
    }

    /// The worst disagreement between `model` and `expected` over `rows` (e.g. an exporter's own predictions).
    public struct CrossCheck: Sendable, Equatable {
        public var worstRow: Int
        public var computed: Double
        public var expected: Double
        /// |computed - expected|; infinity when exactly one is NaN.
        public var error: Double
        public var passed: Bool
    }

    /// Compares every row; a row count mismatch fails at the first missing row. Both NaN counts as equal.
    public static func crossCheck(model: Model, rows: [[Double]], expected: [Double], tolerance: Double) -> CrossCheck {
        var worst = CrossCheck(worstRow: 0, computed: .nan, expected: .nan, error: 0, passed: true)
        guard rows.count == expected.count else {
            let row = min(rows.count, expected.count)
            return CrossCheck(worstRow: row, computed: .nan, expected: .nan, error: .infinity, passed: false)
        }
        for (i, row) in rows.enumerated() {
            guard row.count == model.featureCount else {
                return CrossCheck(worstRow: i, computed: .nan, expected: expected[i], error: .infinity, passed: false)
            }
            let computed = model.probability(row)
            let error: Double
            if computed.isNaN || expected[i].isNaN {
                error = computed.isNaN && expected[i].isNaN ? 0 : .infinity
            } else {
                error = abs(computed - expected[i])
            }
            if i == 0 || error > worst.error {
                worst = CrossCheck(worstRow: i, computed: computed, expected: expected[i], error: error, passed: true)
            }
        }
        worst.passed = worst.error <= tolerance
        return worst
    }
}
