/// Features quantised into at most 255 bins each (plus a missing bin), computed once and shared by every fit.
///
/// Bin edges are Float32 values: a value `x` falls in bin `b` when `edges[b-1] <= Float(x) < edges[b]`, so the
/// split "bins ≤ b go left" is exactly the evaluator's native comparison `Float(x) < edges[b]`, and a tree trained
/// on bins routes every training row the way the bundle's evaluator will.
public struct BinnedMatrix: Sendable {
    /// The bin index of a missing (NaN) value.
    public static let missingBin: UInt8 = 255
    /// Most bins of non-missing values per feature.
    public static let maximumBins = 255

    public let rowCount: Int
    public let featureCount: Int
    /// Column-major: `bins[f * rowCount + r]`.
    public let bins: [UInt8]
    /// Per feature, the lower edge of bins 1…: `edges[f][b - 1]` is the smallest value in bin `b`.
    public let edges: [[Float]]
    /// Per feature, whether any row is missing.
    public let hasMissing: [Bool]

    /// Bins `columns` (column-major, `columns[f][r]`), choosing edges at quantiles of the distinct Float32 values.
    /// Columns are binned on up to `threads` threads side by side (each on its own; the result is the same).
    public init(columns: [[Double]], maximumBins: Int = BinnedMatrix.maximumBins, threads: Int = 1) {
        precondition(maximumBins >= 2 && maximumBins <= BinnedMatrix.maximumBins, "2…255 bins")
        featureCount = columns.count
        let rowCount = columns.first?.count ?? 0
        self.rowCount = rowCount
        for column in columns { precondition(column.count == rowCount, "columns differ in length") }
        let binned = parallelMap(columns.count, workers: threads) { f in
            BinnedMatrix.bin(columns[f], maximumBins: maximumBins)
        }
        var bins: [UInt8] = []
        bins.reserveCapacity(featureCount * rowCount)
        for column in binned { bins += column.bins }
        self.bins = bins
        edges = binned.map(\.edges)
        hasMissing = binned.map(\.missing)
    }

    /// One column's bins, edges and whether any value is missing.
    static func bin(_ column: [Double], maximumBins: Int) -> (bins: [UInt8], edges: [Float], missing: Bool) {
        let edges = BinnedMatrix.edges(for: column, maximumBins: maximumBins)
        var bins = [UInt8](repeating: 0, count: column.count)
        var missing = false
        for (r, x) in column.enumerated() {
            if x.isNaN {
                bins[r] = BinnedMatrix.missingBin
                missing = true
            } else {
                bins[r] = UInt8(BinnedMatrix.bin(Float(x), edges))
            }
        }
        return (bins, edges, missing)
    }

    /// Number of non-missing bins of feature `f`.
    public func binCount(_ f: Int) -> Int { edges[f].count + 1 }

    /// The number of edges ≤ v: the bin of `v`.
    static func bin(_ v: Float, _ edges: [Float]) -> Int {
        var lo = 0
        var hi = edges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if edges[mid] <= v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Edges between distinct values so that bins hold about equal counts; all finite (a value past Float32's range
    /// is +∞ there and shares the top bin: an edge is a split threshold, and a bundle's thresholds must be finite).
    static func edges(for column: [Double], maximumBins: Int) -> [Float] {
        finiteEdges(for: column, maximumBins: maximumBins).filter(\.isFinite)
    }

    private static func finiteEdges(for column: [Double], maximumBins: Int) -> [Float] {
        var values = column.compactMap { $0.isNaN ? nil : Float($0) }
        guard !values.isEmpty else { return [] }
        values.sort()
        // Distinct values with counts.
        var distinct: [Float] = []
        var counts: [Int] = []
        for v in values {
            if let last = distinct.last, last == v {
                counts[counts.count - 1] += 1
            } else {
                distinct.append(v)
                counts.append(1)
            }
        }
        if distinct.count <= maximumBins { return Array(distinct.dropFirst()) }
        var edges: [Float] = []
        let perBin = Double(values.count) / Double(maximumBins)
        var cumulative = 0
        var nextCut = perBin
        for i in 0..<(distinct.count - 1) {
            cumulative += counts[i]
            if Double(cumulative) >= nextCut {
                edges.append(distinct[i + 1])
                if edges.count == maximumBins - 1 { break }
                while nextCut <= Double(cumulative) { nextCut += perBin }
            }
        }
        return edges
    }
}
