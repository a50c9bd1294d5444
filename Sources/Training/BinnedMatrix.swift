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
    public init(columns: [[Double]], maximumBins: Int = BinnedMatrix.maximumBins) {
        precondition(maximumBins >= 2 && maximumBins <= BinnedMatrix.maximumBins, "2…255 bins")
        featureCount = columns.count
        rowCount = columns.first?.count ?? 0
        var bins = [UInt8](repeating: 0, count: featureCount * rowCount)
        var edges: [[Float]] = []
        var hasMissing: [Bool] = []
        for (f, column) in columns.enumerated() {
            precondition(column.count == rowCount, "columns differ in length")
            let featureEdges = BinnedMatrix.edges(for: column, maximumBins: maximumBins)
            edges.append(featureEdges)
            var missing = false
            for r in 0..<rowCount {
                let x = column[r]
                if x.isNaN {
                    bins[f * rowCount + r] = BinnedMatrix.missingBin
                    missing = true
                } else {
                    bins[f * rowCount + r] = UInt8(BinnedMatrix.bin(Float(x), featureEdges))
                }
            }
            hasMissing.append(missing)
        }
        self.bins = bins
        self.edges = edges
        self.hasMissing = hasMissing
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

    /// Edges between distinct values so that bins hold about equal counts.
    static func edges(for column: [Double], maximumBins: Int) -> [Float] {
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
