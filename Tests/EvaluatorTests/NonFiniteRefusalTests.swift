import OccupantCore
import Testing

@testable import Evaluator

/// A bundle that could publish NaN is refused at load: a NaN or infinite threshold, leaf value or base margin, logistic
/// coefficient or intercept, calibrator parameter or golden probability — each with a one-line message naming it.
@Suite("Bundles with non-finite numbers are refused at load")
struct NonFiniteRefusalTests {
    static let rows: [[Double]] = (0..<32).map { [Double($0 % 5) * 0.25, Double($0 % 3)] }

    /// The small two-tree bundle with `value` (thresholds and leaves) and `baseMargin` as given; golden vectors
    /// from the good ensemble, so that only the bad number is wrong.
    static func trees(value: [Double], baseMargin: Double = 0, calibration: Calibrator? = nil) -> [UInt8] {
        let good = BundleFactory.small()
        guard case .trees(var e) = good.model else { preconditionFailure("the small bundle is a tree ensemble") }
        e.value = value
        e.baseMargin = baseMargin
        var manifest = good.manifest
        manifest.calibration = calibration
        return ModelBundle(manifest: manifest, model: .trees(e)).encode(
            signingKey: BundleFactory.key, keyID: BundleFactory.keyID)
    }

    static func logistic(coefficients: [Double], intercept: Double) -> [UInt8] {
        let good = Model.logistic(LogisticModel(coefficients: [0.5, -0.25], intercept: 0.1))
        let bundle = BundleFactory.bundle(model: good, names: ["f0", "f1"], rows: rows)
        return ModelBundle(
            manifest: bundle.manifest, model: .logistic(LogisticModel(coefficients: coefficients, intercept: intercept))
        ).encode(signingKey: BundleFactory.key, keyID: BundleFactory.keyID)
    }

    static let value: [Double] = [0.5, -0.25, 0.75, 1.5, 0.125, -0.5]

    static func replacing(_ i: Int, with x: Double) -> [Double] {
        var v = value
        v[i] = x
        return v
    }

    static let cases: [(String, [UInt8], BundleError.Reason, String)] = [
        ("threshold", trees(value: replacing(0, with: .nan)), .malformedBody, "tree 0 node 0: value nan is not finite"),
        ("leaf", trees(value: replacing(5, with: .infinity)), .malformedBody, "tree 1 node 2: value inf is not finite"),
        ("base margin", trees(value: value, baseMargin: -.infinity), .malformedBody, "base margin -inf is not finite"),
        ("coefficient", logistic(coefficients: [0.5, .nan], intercept: 0), .malformedBody, "coefficient 1 is nan"),
        ("intercept", logistic(coefficients: [0.5, 1], intercept: .infinity), .malformedBody, "intercept inf is not"),
        (
            "platt a", trees(value: value, calibration: .platt(a: .nan, b: 0)), .malformedManifest,
            "platt a must be finite"
        ),
        (
            "platt b", trees(value: value, calibration: .platt(a: 1, b: .infinity)), .malformedManifest,
            "platt a must be finite and positive, b finite"
        ),
        (
            "isotonic x", trees(value: value, calibration: .isotonic(x: [0, .nan], y: [0, 1])), .malformedManifest,
            "isotonic knots must lie in [0, 1]"
        ),
        (
            "isotonic y", trees(value: value, calibration: .isotonic(x: [0, 1], y: [0, .nan])), .malformedManifest,
            "isotonic knots must lie in [0, 1]"
        ),
    ]

    @Test("each non-finite number is refused, naming it in one line", arguments: 0..<cases.count)
    func refused(_ i: Int) {
        let (name, bytes, reason, message) = Self.cases[i]
        do {
            let bundle = try ModelBundle.decode(bytes)
            try bundle.verify(trustedKeys: BundleFactory.trusted)
            Issue.record("\(name): accepted")
        } catch {
            #expect(error.reason == reason, "\(name): \(error)")
            #expect(error.message.contains(message), "\(name): \(error)")
            #expect(!error.description.contains("\n"), "\(name): \(error)")
        }
    }

    @Test("a NaN golden probability is refused")
    func goldenNaN() {
        var bundle = BundleFactory.small()
        bundle.manifest.golden[3].probability = .nan
        let bytes = bundle.encode(signingKey: BundleFactory.key, keyID: BundleFactory.keyID)
        do {
            _ = try ModelBundle.decode(bytes)
            Issue.record("accepted")
        } catch {
            #expect(error.reason == .malformedManifest && error.message.contains("golden[3].probability nan"))
        }
    }
}
