#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The drift score shared by the trainer (which calibrates thresholds with it) and the gateway (which scores each
/// window with it): the Jensen–Shannon divergence, base 2, between two histograms over the same bins plus one
/// "missing" bin. Bounded in [0, 1]: 0 for identical distributions, 1 for disjoint ones.
public enum DriftDistance {
    /// The name recorded in `BundleManifest.DriftCalibration.distance`.
    public static let name = "jensen-shannon"

    /// The bin of `value` on `edges` (ascending; the last edge may repeat the one before it, giving the maximum its own
    /// bin): `i` when `edges[i] <= value < edges[i + 1]`, the last bin closed (`value == edges.last` falls in it).
    /// There are `max(1, edges.count - 1)` bins; a value outside `edges.first ... edges.last` (never seen in training)
    /// gives -1.
    @inline(__always)
    public static func bin(_ value: Double, edges: [Double]) -> Int {
        // Index access only: `first`/`last` allocate in unoptimised builds (the allocation test runs in one).
        let count = edges.count
        guard count > 0, value >= edges[0], value <= edges[count - 1] else { return -1 }
        let bins = count > 1 ? count - 1 : 1
        // Binary search for the last edge <= value among the bins' lower edges; edges are few (≤ 12).
        var lo = 0
        var hi = bins - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if edges[mid] <= value { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// JS divergence (base 2) between the training counts `p` (with `pMissing`; training never falls outside its own
    /// range) and a window's counts, read through `qCount(i)`, with `qMissing` missing values and `qOutside` values
    /// outside the training range (a bin the training histogram has nothing in). 0 when either side is empty.
    @inline(__always)
    public static func jensenShannon(
        _ p: [Int], pMissing: Int, bins: Int, qMissing: Int, qOutside: Int = 0, qCount: (Int) -> Int
    ) -> Double {
        var pTotal = pMissing
        var qTotal = qMissing + qOutside
        for i in 0..<bins {
            pTotal += p[i]
            qTotal += qCount(i)
        }
        guard pTotal > 0, qTotal > 0 else { return 0 }
        let pt = Double(pTotal)
        let qt = Double(qTotal)
        var sum = term(Double(pMissing) / pt, Double(qMissing) / qt) + term(0, Double(qOutside) / qt)
        for i in 0..<bins { sum += term(Double(p[i]) / pt, Double(qCount(i)) / qt) }
        return min(1, max(0, sum))
    }

    /// One bin's contribution: ½ p log₂(p/m) + ½ q log₂(q/m), m = (p + q)/2.
    @inline(__always)
    static func term(_ p: Double, _ q: Double) -> Double {
        let m = (p + q) / 2
        var t = 0.0
        if p > 0 { t += 0.5 * p * log2(p / m) }
        if q > 0 { t += 0.5 * q * log2(q / m) }
        return t
    }
}
