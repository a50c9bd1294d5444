import Evaluator
import Foundation
import OccupantCore

/// L2-regularised logistic regression fitted by Newton's method on standardised features; the standardisation is
/// folded back into the coefficients, so the bundle's model reads raw feature values.
public enum LogisticRegression {
    /// Hyper-parameters.
    public struct Parameters: Codable, Sendable, Equatable, CustomStringConvertible {
        /// L2 penalty on the standardised coefficients (not on the intercept), per row: the objective is
        /// mean log-loss + l2/2 · |w|².
        public var l2: Double
        public var maxIterations: Int

        public init(l2: Double = 1e-3, maxIterations: Int = 50) {
            precondition(l2 >= 0 && maxIterations >= 1, "l2 ≥ 0, at least one iteration")
            self.l2 = l2
            self.maxIterations = maxIterations
        }

        public var description: String { "l2=\(short(l2))" }
    }

    /// A fitted model and the rows it could use.
    public struct Fit: Sendable {
        public var model: LogisticModel
        /// Rows left out because a feature was missing (a linear model cannot score them).
        public var skippedRows: Int
    }

    /// Fits on `rows` of a column-major matrix (`columns[f][r]`); rows with a missing feature are skipped.
    public static func fit(
        columns: [[Double]], labels: [UInt8], rows: [Int], parameters: Parameters
    ) throws(OccupantError) -> Fit {
        let d = columns.count
        precondition(d > 0, "a fit needs features")
        let usable = rows.filter { r in columns.allSatisfy { !$0[r].isNaN } }
        guard usable.count >= 2 else {
            throw OccupantError(.data, "logistic regression: \(usable.count) rows without missing features")
        }
        let m = Double(usable.count)
        // Standardise.
        var mean = [Double](repeating: 0, count: d)
        var scale = [Double](repeating: 1, count: d)
        for f in 0..<d {
            var s = 0.0
            for r in usable { s += columns[f][r] }
            mean[f] = s / m
            var v = 0.0
            for r in usable {
                let x = columns[f][r] - mean[f]
                v += x * x
            }
            let sd = (v / m).squareRoot()
            scale[f] = sd > 1e-12 ? sd : 0 // constant feature: coefficient 0
        }
        // Row-major standardised design with a leading 1 for the intercept.
        let width = d + 1
        var x = [Double](repeating: 0, count: usable.count * width)
        var y = [Double](repeating: 0, count: usable.count)
        for (i, r) in usable.enumerated() {
            x[i * width] = 1
            for f in 0..<d where scale[f] > 0 { x[i * width + 1 + f] = (columns[f][r] - mean[f]) / scale[f] }
            y[i] = Double(labels[r])
        }
        var w = [Double](repeating: 0, count: width)
        let prior = min(max(y.reduce(0, +) / m, 1e-6), 1 - 1e-6)
        w[0] = log(prior / (1 - prior))
        let lambda = parameters.l2
        var previous = Double.infinity
        for _ in 0..<parameters.maxIterations {
            var gradient = [Double](repeating: 0, count: width)
            var hessian = [Double](repeating: 0, count: width * width)
            var loss = 0.0
            x.withUnsafeBufferPointer { x in
                hessian.withUnsafeMutableBufferPointer { hm in
                    for i in 0..<usable.count {
                        let row = UnsafeBufferPointer(rebasing: x[(i * width)..<((i + 1) * width)])
                        var z = 0.0
                        for k in 0..<width { z += w[k] * row[k] }
                        let p = 1 / (1 + exp(-z))
                        loss += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - y[i] * z
                        let residual = p - y[i]
                        let weight = max(p * (1 - p), 1e-12)
                        for a in 0..<width {
                            let xa = row[a]
                            if xa == 0 { continue }
                            gradient[a] += residual * xa
                            let wa = weight * xa
                            for b in a..<width { hm[a * width + b] += wa * row[b] }
                        }
                    }
                }
            }
            loss /= m
            for k in 1..<width { loss += 0.5 * lambda * w[k] * w[k] }
            for a in 0..<width {
                gradient[a] /= m
                for b in a..<width {
                    hessian[a * width + b] /= m
                    hessian[b * width + a] = hessian[a * width + b]
                }
                if a > 0 {
                    gradient[a] += lambda * w[a]
                    hessian[a * width + a] += lambda
                }
                hessian[a * width + a] += 1e-10
            }
            guard let step = solve(hessian, gradient, width) else { break }
            // Damped Newton: halve the step until the objective does not increase.
            var t = 1.0
            var candidate = w
            while true {
                for k in 0..<width { candidate[k] = w[k] - t * step[k] }
                if objective(candidate, x, y, width, lambda) <= loss || t < 1e-6 { break }
                t /= 2
            }
            w = candidate
            if abs(previous - loss) < 1e-10 * max(1, abs(loss)) { break }
            previous = loss
        }
        // Fold the standardisation: w_f x_std = (w_f / s_f) x - w_f m_f / s_f.
        var coefficients = [Double](repeating: 0, count: d)
        var intercept = w[0]
        for f in 0..<d where scale[f] > 0 {
            coefficients[f] = w[f + 1] / scale[f]
            intercept -= w[f + 1] * mean[f] / scale[f]
        }
        let model = try LogisticModel(validatingCoefficients: coefficients, intercept: intercept)
        return Fit(model: model, skippedRows: rows.count - usable.count)
    }

    /// Mean log-loss plus the L2 penalty (not on the intercept).
    static func objective(_ w: [Double], _ x: [Double], _ y: [Double], _ width: Int, _ lambda: Double) -> Double {
        var loss = 0.0
        for i in 0..<y.count {
            var z = 0.0
            for k in 0..<width { z += w[k] * x[i * width + k] }
            loss += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - y[i] * z
        }
        loss /= Double(y.count)
        for k in 1..<width { loss += 0.5 * lambda * w[k] * w[k] }
        return loss
    }

    /// Solves the symmetric positive-definite system `a · x = b` by Cholesky; nil if `a` is not positive definite.
    static func solve(_ a: [Double], _ b: [Double], _ n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard s > 0 else { return nil }
                    l[i * n + i] = s.squareRoot()
                } else {
                    l[i * n + j] = s / l[j * n + j]
                }
            }
        }
        var z = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var s = b[i]
            for k in 0..<i { s -= l[i * n + k] * z[k] }
            z[i] = s / l[i * n + i]
        }
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = z[i]
            for k in (i + 1)..<n { s -= l[k * n + i] * x[k] }
            x[i] = s / l[i * n + i]
        }
        return x
    }
}
