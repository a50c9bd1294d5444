import Evaluator
import Foundation

/// Fits the bundle's calibrator and decision threshold on the chosen configuration's out-of-fold probabilities.
///
/// Calibrators are judged the way they will be used, forward in time: for each fold after the first, each candidate
/// (none, Platt scaling, isotonic regression) is fitted on the earlier folds and scored by log-loss on that fold; the
/// lowest total wins and is refitted on every fold. The threshold is then chosen on the calibrated probabilities where
/// accuracy is high across a neighbourhood (±0.05), not at a sharp peak that will not transfer to new days.
public enum CalibratorFit {
    public struct Choice: Codable, Sendable, Equatable {
        /// `none`, `platt` or `isotonic`.
        public var kind: String
        /// Forward-in-time log-loss per candidate (lower is better).
        public var logLoss: [String: Double]
        public var threshold: Double
        /// The best threshold's accuracy on the out-of-fold rows and the chosen one's (the price of the plateau).
        public var peakAccuracy: Double
        public var chosenAccuracy: Double
    }

    /// `probabilities` and `labels` in time order; `folds[i]` the fold of row `i` (folds in time order, 0 first).
    public static func fit(probabilities: [Double], labels: [UInt8], folds: [Int]) -> (Calibrator?, Choice) {
        let foldCount = (folds.max() ?? 0) + 1
        var losses: [String: Double] = ["none": 0, "platt": 0, "isotonic": 0]
        for k in 1..<max(1, foldCount) {
            let train = probabilities.indices.filter { folds[$0] < k && !probabilities[$0].isNaN }
            let test = probabilities.indices.filter { folds[$0] == k && !probabilities[$0].isNaN }
            guard !train.isEmpty, !test.isEmpty else { continue }
            let tp = train.map { probabilities[$0] }
            let ty = train.map { labels[$0] }
            let candidates: [(String, Calibrator?)] = [
                ("none", nil), ("platt", platt(tp, ty)), ("isotonic", isotonic(tp, ty)),
            ]
            for (name, c) in candidates {
                losses[name]! += test.reduce(0) { sum, i in
                    sum + logLoss(c.map { $0.apply(probabilities[i]) } ?? probabilities[i], labels[i])
                }
            }
        }
        let present = probabilities.indices.filter { !probabilities[$0].isNaN }
        let allP = present.map { probabilities[$0] }
        let allY = present.map { labels[$0] }
        let order = ["none", "platt", "isotonic"]
        let kind = order.min { losses[$0]! < losses[$1]! } ?? "none"
        let calibrator: Calibrator? =
            switch kind {
            case "platt": platt(allP, allY)
            case "isotonic": isotonic(allP, allY)
            default: nil
            }
        let calibrated = probabilities.map { p in calibrator.map { $0.apply(p) } ?? p }
        let (threshold, peak, chosen) = plateauThreshold(probabilities: calibrated, labels: labels)
        return (
            calibrator,
            Choice(kind: kind, logLoss: losses, threshold: threshold, peakAccuracy: peak, chosenAccuracy: chosen)
        )
    }

    static func logLoss(_ p: Double, _ y: UInt8) -> Double {
        let q = min(max(p.isNaN ? 0.5 : p, 1e-6), 1 - 1e-6)
        return y == 1 ? -log(q) : -log(1 - q)
    }

    /// Platt scaling by Newton's method on `a · logit(p) + b`, with Platt's smoothed targets (no 0/1 targets, so
    /// a separable fold cannot drive `a` to infinity).
    static func platt(_ p: [Double], _ y: [UInt8]) -> Calibrator {
        let positives = Double(y.reduce(0) { $0 + Int($1) })
        let negatives = Double(y.count) - positives
        let hi = (positives + 1) / (positives + 2)
        let lo = 1 / (negatives + 2)
        let z = p.map { q -> Double in
            let c = min(max(q, 1e-12), 1 - 1e-12)
            return log(c / (1 - c))
        }
        let t = y.map { $0 == 1 ? hi : lo }
        var a = 1.0
        var b = 0.0
        for _ in 0..<50 {
            var g = (0.0, 0.0)
            var h = (0.0, 0.0, 0.0) // aa, ab, bb
            for i in z.indices {
                let s = 1 / (1 + exp(-(a * z[i] + b)))
                let r = s - t[i]
                let w = max(s * (1 - s), 1e-12)
                g.0 += r * z[i]
                g.1 += r
                h.0 += w * z[i] * z[i]
                h.1 += w * z[i]
                h.2 += w
            }
            h.0 += 1e-9
            h.2 += 1e-9
            let det = h.0 * h.2 - h.1 * h.1
            guard det > 0 else { break }
            let da = (h.2 * g.0 - h.1 * g.1) / det
            let db = (h.0 * g.1 - h.1 * g.0) / det
            a -= da
            b -= db
            if abs(da) < 1e-10 && abs(db) < 1e-10 { break }
        }
        // A calibrator must keep the order of the model's scores.
        if !(a > 0 && a.isFinite && b.isFinite) { return .platt(a: 1, b: 0) }
        return .platt(a: a, b: b)
    }

    /// Isotonic regression by pool-adjacent-violators; the knots are the pooled blocks' mean probability and rate.
    /// NaN probabilities are left out (one would never equal itself and start blocks without end).
    static func isotonic(_ p: [Double], _ y: [UInt8]) -> Calibrator {
        let order = p.indices.filter { !p[$0].isNaN }.sorted { p[$0] < p[$1] }
        // Blocks: (sum of p, sum of y, count); equal probabilities start in one block.
        var blocks: [(sp: Double, sy: Double, n: Double)] = []
        var i = 0
        while i < order.count {
            var block = (sp: 0.0, sy: 0.0, n: 0.0)
            let value = p[order[i]]
            while i < order.count && p[order[i]] == value {
                block.sp += value
                block.sy += Double(y[order[i]])
                block.n += 1
                i += 1
            }
            blocks.append(block)
            while blocks.count > 1 {
                let last = blocks[blocks.count - 1]
                let prev = blocks[blocks.count - 2]
                guard prev.sy / prev.n >= last.sy / last.n else { break }
                blocks.removeLast(2)
                blocks.append((prev.sp + last.sp, prev.sy + last.sy, prev.n + last.n))
            }
        }
        var x = blocks.map { min(max($0.sp / $0.n, 0), 1) }
        var v = blocks.map { min(max($0.sy / $0.n, 0), 1) }
        if x.count > Calibrator.maximumKnots {
            let step = Double(x.count - 1) / Double(Calibrator.maximumKnots - 1)
            let picks = (0..<Calibrator.maximumKnots).map { Int((Double($0) * step).rounded()) }
            x = picks.map { x[$0] }
            v = picks.map { v[$0] }
        }
        // Strictly increasing x (block means of distinct values are; rounding could tie them).
        var kx: [Double] = []
        var ky: [Double] = []
        for (a, b) in zip(x, v) where kx.last.map({ a > $0 }) ?? true {
            kx.append(a)
            ky.append(max(b, ky.last ?? 0))
        }
        return kx.isEmpty ? .platt(a: 1, b: 0) : .isotonic(x: kx, y: ky)
    }

    /// The threshold on a grid of 0.02…0.98 whose accuracy, averaged over ±0.05 around it, is highest (ties: closest
    /// to 0.5); also the best single-threshold accuracy and the chosen one's.
    static func plateauThreshold(probabilities: [Double], labels: [UInt8]) -> (Double, Double, Double) {
        let grid = (2...98).map { Double($0) / 100 }
        let rows = probabilities.indices.filter { !probabilities[$0].isNaN }
        guard !rows.isEmpty else { return (0.5, .nan, .nan) }
        let accuracy = grid.map { t -> Double in
            let correct = rows.reduce(0) { $0 + ((probabilities[$1] >= t) == (labels[$1] == 1) ? 1 : 0) }
            return Double(correct) / Double(rows.count)
        }
        let radius = 5
        var best = (score: -1.0, index: 0)
        for i in grid.indices {
            let window = accuracy[max(0, i - radius)...min(grid.count - 1, i + radius)]
            let score = window.reduce(0, +) / Double(window.count)
            let closer = abs(grid[i] - 0.5) < abs(grid[best.index] - 0.5)
            if score > best.score + 1e-12 || (abs(score - best.score) <= 1e-12 && closer) { best = (score, i) }
        }
        return (grid[best.index], accuracy.max()!, accuracy[best.index])
    }
}
