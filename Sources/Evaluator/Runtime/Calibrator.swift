import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Maps a model's raw probability to a calibrated one, so that of the rows given 0.8, about 80 % are occupied.
///
/// Shipped in the manifest (`calibration`, format 2); a bundle without one is used as is (identity). Fitted by the
/// trainer on time-ordered out-of-fold predictions (see `Training.CalibratorFit`).
public enum Calibrator: Sendable, Equatable {
    /// Platt scaling: `sigmoid(a · logit(p) + b)`.
    case platt(a: Double, b: Double)
    /// Isotonic regression: a non-decreasing step function given by knots (`x` ascending, `y` non-decreasing in
    /// [0, 1]); between knots the value is interpolated linearly, outside them it is the end value.
    case isotonic(x: [Double], y: [Double])

    /// At most this many isotonic knots are accepted (a bundle is untrusted input).
    public static let maximumKnots = 1024

    /// The calibrated probability; NaN (a row the model cannot score) stays NaN. Does not allocate.
    @inline(__always)
    public func apply(_ p: Double) -> Double {
        guard !p.isNaN else { return p }
        switch self {
        case .platt(let a, let b):
            let q = min(max(p, 1e-12), 1 - 1e-12)
            let z = a * Glibc.log(q / (1 - q)) + b
            return 1 / (1 + Glibc.exp(-z))
        case .isotonic(let x, let y):
            if p <= x[0] { return y[0] }
            if p >= x[x.count - 1] { return y[y.count - 1] }
            // Binary search for the knot interval holding p.
            var lo = 0
            var hi = x.count - 1
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if x[mid] <= p { lo = mid } else { hi = mid }
            }
            let span = x[hi] - x[lo]
            return span > 0 ? y[lo] + (y[hi] - y[lo]) * (p - x[lo]) / span : y[hi]
        }
    }

    /// `platt(a 1.02, b -0.13)`, `isotonic(12 knots)`.
    public var description: String {
        switch self {
        case .platt(let a, let b): String(cFormat: "platt(a %.4g, b %.4g)", a, b)
        case .isotonic(let x, _): "isotonic(\(x.count) knots)"
        }
    }

    /// Structure checks for a calibrator read from a bundle: one line naming what is wrong.
    public func validate() throws(OccupantError) {
        switch self {
        case .platt(let a, let b):
            guard a.isFinite, b.isFinite, a > 0 else {
                throw OccupantError(.model, "calibration: platt a must be finite and positive, b finite")
            }
        case .isotonic(let x, let y):
            guard !x.isEmpty, x.count == y.count, x.count <= Self.maximumKnots else {
                throw OccupantError(
                    .model, "calibration: isotonic needs 1–\(Self.maximumKnots) knots with as many x as y values")
            }
            guard x.allSatisfy({ $0.isFinite && (0...1).contains($0) }), y.allSatisfy({ (0...1).contains($0) }) else {
                throw OccupantError(.model, "calibration: isotonic knots must lie in [0, 1]")
            }
            guard zip(x, x.dropFirst()).allSatisfy({ $0 < $1 }), zip(y, y.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                throw OccupantError(
                    .model, "calibration: isotonic x must be strictly increasing and y non-decreasing")
            }
        }
    }
}

extension Calibrator: Codable {
    private enum CodingKeys: String, CodingKey { case kind, a, b, x, y }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .kind) {
        case "platt": self = .platt(a: try c.decode(Double.self, forKey: .a), b: try c.decode(Double.self, forKey: .b))
        case "isotonic":
            self = .isotonic(x: try c.decode([Double].self, forKey: .x), y: try c.decode([Double].self, forKey: .y))
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: c, debugDescription: "unknown calibration kind '\(other)' (platt, isotonic)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .platt(let a, let b):
            try c.encode("platt", forKey: .kind)
            try c.encode(a, forKey: .a)
            try c.encode(b, forKey: .b)
        case .isotonic(let x, let y):
            try c.encode("isotonic", forKey: .kind)
            try c.encode(x, forKey: .x)
            try c.encode(y, forKey: .y)
        }
    }
}

extension ModelBundle {
    /// The calibrated probability for one row: the model's, through the manifest's calibrator when there is one.
    /// This is what the gateway publishes and `evaluate` scores. Does not allocate.
    @inline(__always)
    public func probability(_ features: UnsafeBufferPointer<Double>) -> Double {
        let raw = model.probability(features)
        return manifest.calibration.map { $0.apply(raw) } ?? raw
    }

    public func probability(_ features: [Double]) -> Double {
        features.withUnsafeBufferPointer { probability($0) }
    }
}
