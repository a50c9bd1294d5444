import OccupantTesting
import Testing

@testable import Evaluator

/// The compiled layout (`CompiledForest`) scores every row bit for bit as the reference walk over the node arrays:
/// the fixture rows, rows with missing values, infinities, and inputs on, just below and just above every threshold.
@Suite("Compiled forest", .ownThread)
struct CompiledForestTests {
    static let xgboostCases = Fixtures.xgboostCases

    /// The same ensemble without its compiled layout: prediction walks the separate arrays.
    static func reference(_ e: TreeEnsemble) -> TreeEnsemble {
        var r = e
        r.compiled = nil
        return r
    }

    /// The fixture rows, each with one and then every input missing, infinities, and rows on the thresholds.
    static func probeRows(_ e: TreeEnsemble, fixture rows: [[Double]]) -> [[Double]] {
        let width = e.featureCount
        var out = rows
        for (i, row) in rows.enumerated() {
            var one = row
            one[i % width] = .nan
            out.append(one)
            var inf = row
            inf[(i + 1) % width] = i % 2 == 0 ? .infinity : -.infinity
            out.append(inf)
        }
        out.append([Double](repeating: .nan, count: width))
        let base = rows.first ?? [Double](repeating: 0, count: width)
        for n in 0..<e.nodeCount where e.splitFeature[n] >= 0 {
            let f = Int(e.splitFeature[n])
            let threshold = Float(e.value[n])
            for probe in [
                Double(threshold), Double(threshold.nextDown), Double(threshold.nextUp),
                Double(threshold).nextUp, Double(threshold).nextDown, e.value[n],
            ] {
                var row = base
                row[f] = probe
                out.append(row)
            }
        }
        return out
    }

    static func expectSameScores(_ e: TreeEnsemble, rows: [[Double]], _ name: String) {
        let reference = Self.reference(e)
        var mismatches = 0
        var first = ""
        for row in rows {
            row.withUnsafeBufferPointer { x in
                let (a, b) = (e.margin(x), reference.margin(x))
                let (p, q) = (e.probability(x), reference.probability(x))
                if a.bitPattern != b.bitPattern || p.bitPattern != q.bitPattern {
                    if mismatches == 0 { first = "\(row): margin \(a) vs \(b), probability \(p) vs \(q)" }
                    mismatches += 1
                }
            }
        }
        #expect(mismatches == 0, "\(name): \(mismatches) of \(rows.count) rows differ, first \(first)")
    }

    @Test("xgboost fixtures: compiled scores equal the reference walk bit for bit", arguments: xgboostCases)
    func xgboostFixture(name: String) throws {
        guard case .trees(let e) = try Fixtures.importModel(name).model else {
            Issue.record("\(name) is not a tree ensemble")
            return
        }
        #expect(e.compiled != nil, "\(name) was not compiled")
        Self.expectSameScores(e, rows: Self.probeRows(e, fixture: try Fixtures.inputs(name).rows), name)
    }

    /// Native: Float32 thresholds, Double leaves and sum. Eleven trees of unequal depth (a group of eight, then a
    /// short group of three), leaves whose values do not survive a round trip through Float32.
    @Test("native ensemble: compiled scores equal the reference walk bit for bit")
    func native() throws {
        var treeStart: [Int32] = []
        var feature: [Int32] = []
        var value: [Double] = []
        var left: [Int32] = []
        var right: [Int32] = []
        var flags: [UInt8] = []
        for t in 0..<11 {
            treeStart.append(Int32(feature.count))
            // A chain `depth` splits deep, going right; each split's left child is a leaf.
            let depth = 1 + t % 4
            for d in 0..<depth {
                let n = Int32(feature.count)
                feature.append(Int32((t + d) % 3))
                value.append(Double(Float(0.1 * Double(d + 1) + 0.01 * Double(t))))
                left.append(n + 1)
                right.append(n + 2)
                flags.append((t + d) % 2 == 0 ? TreeEnsemble.NodeFlags.defaultLeft.rawValue : 0)
                feature.append(-1)
                value.append(0.1 / Double(3 + t + d))
                left.append(-1)
                right.append(-1)
                flags.append(0)
            }
            feature.append(-1)
            value.append(-1 / Double(7 + t))
            left.append(-1)
            right.append(-1)
            flags.append(0)
        }
        let e = try TreeEnsemble(
            validating: .native, featureCount: 3, baseMargin: 0.123456789, treeStart: treeStart,
            splitFeature: feature, value: value, left: left, right: right, flags: flags)
        #expect(e.compiled != nil)
        var rows: [[Double]] = []
        for i in 0..<64 {
            var row: [Double] = []
            for j in 0..<3 {
                let step = Double((i * 7 + j * 3) % 11)
                row.append(i % 9 == j ? Double.nan : step * 0.05)
            }
            rows.append(row)
        }
        Self.expectSameScores(e, rows: Self.probeRows(e, fixture: rows), "native")
    }

    /// Two splits sharing one subtree pass validation (every child lies after its parent) but are not laid out
    /// (a chain of such diamonds would double at every level); prediction falls back to the reference walk.
    @Test("a shared subtree is not compiled, and still scores")
    func sharedSubtree() throws {
        // 0 → (1, 2); 1 → (3, 4); 2 → (3, 4).
        let e = try TreeEnsemble(
            validating: .xgboost, featureCount: 2, baseMargin: 0, treeStart: [0], splitFeature: [0, 1, 1, -1, -1],
            value: [0.5, 0.25, 0.75, -1, 1], left: [1, 3, 3, -1, -1], right: [2, 4, 4, -1, -1], flags: [0, 0, 0, 0, 0])
        #expect(e.compiled == nil)
        #expect([0.0, 0.5].withUnsafeBufferPointer { e.margin($0) } == 1)
        #expect([0.0, 0.0].withUnsafeBufferPointer { e.margin($0) } == -1)
    }
}
