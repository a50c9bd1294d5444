import Evaluator
import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Training

/// XOR of two features plus a weak third and a noise column; missing values in the first; 3 % flipped labels.
private func table(_ n: Int, seed: UInt64) -> (columns: [[Double]], labels: [UInt8]) {
    var rng = TrainingRandom(seed: seed)
    var columns = [[Double]](repeating: [], count: 4)
    var labels: [UInt8] = []
    for i in 0..<n {
        let a = rng.uniform(-1, 1)
        let b = rng.uniform(-1, 1)
        let c = rng.uniform(-1, 1)
        columns[0].append(i % 37 == 0 ? .nan : a)
        columns[1].append(b)
        columns[2].append(c)
        columns[3].append(rng.uniform(0, 100))
        let y = ((a > 0) != (b > 0)) || c > 0.9
        labels.append((rng.unit() < 0.03) != y ? 1 : 0)
    }
    return (columns, labels)
}

/// Rows enough that the root and the first levels are summed in several blocks side by side.
private let rows = 80_000

@Test func bigNodesAreSummedInBlocksThatDependOnTheRowCountOnly() {
    #expect(FitThreads.blocks(rows: 1000) == 1)
    #expect(FitThreads.blocks(rows: 2 * FitThreads.blockRows - 1) == 1)
    #expect(FitThreads.blocks(rows: rows) > 1)
    #expect(FitThreads.blocks(rows: 100_000_000) == FitThreads.maximumBlocks)
    // The blocks tile the range in order.
    let range = 17..<(17 + rows)
    let blocks = FitThreads.blocks(rows: rows)
    var next = range.lowerBound
    for b in 0..<blocks {
        let block = FitThreads.block(b, of: blocks, in: range)
        #expect(block.lowerBound == next && !block.isEmpty)
        next = block.upperBound
    }
    #expect(next == range.upperBound)
}

@Test(.ownThread) func histogramsAreTheSameBitsOnAnyThreadCountAndAddUpEveryRow() throws {
    let (columns, labels) = table(rows, seed: 3)
    let matrix = BinnedMatrix(columns: columns)
    let features = [0, 1, 2, 3]
    var rng = TrainingRandom(seed: 1)
    let grad = labels.map { Double($0) - rng.unit() }
    let hess = labels.map { _ in 0.05 + rng.unit() }
    let rowBins = GradientBoosting.rowMajorBins(matrix, features: features)
    // Rows in a scattered order, as after partitions; three ranges: two big (blocks) and one small.
    var order = (0..<rows).map { Int32($0) }
    order.shuffle(using: &rng)
    let ranges = [0..<50_000, 50_000..<(rows - 100), (rows - 100)..<rows]
    func histograms(threads: Int) -> [[Double]] {
        TreeGrower(
            matrix: matrix, features: features, columns: [0, 2, 3], grad: grad, hess: hess,
            parameters: BoostingParameters(), rowBins: rowBins, threads: FitThreads(count: threads)
        ).histograms(order, ranges).map { Array($0) }
    }
    let one = histograms(threads: 1)
    for threads in [2, 3, 8] { #expect(histograms(threads: threads) == one, "threads: \(threads)") }
    // Every row of a range is counted once in each column: sums match a plain row-order sum to rounding.
    for (j, range) in ranges.enumerated() {
        var g = 0.0
        var h = 0.0
        for i in range {
            g += grad[Int(order[i])]
            h += hess[Int(order[i])]
        }
        for c in 0..<3 {
            let slots = one[j][(c * 512)..<((c + 1) * 512)]
            let gSum = stride(from: slots.startIndex, to: slots.endIndex, by: 2).reduce(0.0) { $0 + slots[$1] }
            let hSum = stride(from: slots.startIndex + 1, to: slots.endIndex, by: 2).reduce(0.0) { $0 + slots[$1] }
            #expect(abs(gSum - g) < 1e-6 * max(1, abs(g)), "range \(j) column \(c)")
            #expect(abs(hSum - h) < 1e-6 * h, "range \(j) column \(c)")
        }
    }
}

@Test(.ownThread) func aFitIsTheSameModelOnAnyThreadCount() throws {
    let (columns, labels) = table(rows, seed: 7)
    let matrix = BinnedMatrix(columns: columns)
    let train = Array(0..<(rows - 10_000))
    let validation = Array((rows - 10_000)..<rows)
    // Row and column subsampling, monotone constraints, missing values and early stopping all in play.
    let p = BoostingParameters(
        trees: 25, learningRate: 0.3, maxDepth: 6, rowSubsample: 0.8, columnSubsample: 0.75, earlyStoppingRounds: 5)
    func fit(threads: Int) throws -> GradientBoosting.Fit {
        try GradientBoosting.fit(
            matrix: matrix, features: [0, 1, 2, 3], labels: labels, train: train, validation: validation,
            parameters: p, monotone: [0, 0, 1, 0], seed: 5, threads: threads)
    }
    let one = try fit(threads: 1)
    for threads in [2, 4] {
        let many = try fit(threads: threads)
        #expect(many.ensemble == one.ensemble, "threads: \(threads)")
        #expect(many.treeCount == one.treeCount)
        #expect(many.validationLoss == one.validationLoss)
    }
    // And it is a good model: the XOR is learnt through the flipped labels.
    let model = Model.trees(one.ensemble)
    var correct = 0
    for r in validation {
        let p = model.probability(columns.map { $0[r] })
        let truth = ((columns[0][r] > 0) != (columns[1][r] > 0)) || columns[2][r] > 0.9
        if columns[0][r].isNaN || (p >= 0.5) == truth { correct += 1 }
    }
    #expect(Double(correct) / Double(validation.count) > 0.95)
}
