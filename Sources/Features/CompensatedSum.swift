/// A running sum with Neumaier compensation: adding a term and later adding its negation returns the sum to within
/// a rounding of the exact value, so a sliding window's sums do not drift as samples enter and leave.
struct CompensatedSum: Sendable {
    private var sum = 0.0
    private var compensation = 0.0

    @inline(__always)
    mutating func add(_ x: Double) {
        let t = sum + x
        if abs(sum) >= abs(x) {
            compensation += (sum - t) + x
        } else {
            compensation += (x - t) + sum
        }
        sum = t
    }

    var value: Double { sum + compensation }

    mutating func reset() {
        sum = 0
        compensation = 0
    }
}
