import Evaluator
import Foundation
import OccupantCore
import Testing

@Suite struct CalibratorTests {
    @Test func plattAndIsotonicMapAsDocumented() {
        #expect(abs(Calibrator.platt(a: 1, b: 0).apply(0.3) - 0.3) < 1e-12)
        let sharper = Calibrator.platt(a: 2, b: 0)
        #expect(abs(sharper.apply(0.75) - 0.9) < 1e-12) // logit 0.75 = ln 3; sigmoid(2 ln 3) = 9/10
        let iso = Calibrator.isotonic(x: [0.2, 0.6], y: [0.1, 0.5])
        #expect(iso.apply(0.0) == 0.1 && iso.apply(0.9) == 0.5 && abs(iso.apply(0.4) - 0.3) < 1e-12)
        #expect(iso.apply(.nan).isNaN)
    }

    @Test func aCalibratedBundleRoundTripsAsFormat2AndScoresCalibrated() throws {
        let bundle = BundleFactory.small()
        let plain = bundle.encodeUnsigned()
        #expect(plain[8] == 1) // no calibrator: still format 1, readable by older gateways
        var calibrated = bundle
        calibrated.manifest.calibration = .platt(a: 2, b: -0.5)
        let bytes = calibrated.encodeUnsigned()
        #expect(bytes[8] == 2)
        let decoded = try ModelBundle.decode(bytes)
        #expect(decoded.manifest.calibration == .platt(a: 2, b: -0.5) && decoded.manifest.formatVersion == 2)
        let row = [Double](repeating: 0.5, count: decoded.model.featureCount)
        #expect(decoded.probability(row) == Calibrator.platt(a: 2, b: -0.5).apply(decoded.model.probability(row)))
        try decoded.checkGoldenVectors() // golden vectors hold the model's own probabilities
    }

    @Test func badCalibratorsAreRefusedWithOneLine() {
        var bundle = BundleFactory.small()
        for (bad, words) in [
            (Calibrator.platt(a: -1, b: 0), "platt a must be finite and positive"),
            (.isotonic(x: [0.5, 0.2], y: [0.1, 0.2]), "strictly increasing"),
            (.isotonic(x: [0.2, 0.5], y: [0.5, 0.2]), "non-decreasing"),
            (.isotonic(x: [], y: []), "knots"),
        ] {
            bundle.manifest.calibration = bad
            #expect {
                try ModelBundle.decode(bundle.encodeUnsigned())
            } throws: { error in
                let e = error as? BundleError
                return e?.reason == .malformedManifest && e?.message.contains(words) == true
                    && e?.message.contains("\n") == false
            }
        }
    }
}
