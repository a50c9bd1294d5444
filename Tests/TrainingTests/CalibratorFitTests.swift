import Evaluator
import Foundation
import Testing

@testable import Training

@Test func anUnderconfidentModelGetsACalibratorThatFixesIt() {
    // True probabilities spread over (0, 1); the model squashes them towards 0.5 (a · logit with a = 0.3).
    var rng = TrainingRandom(seed: 11)
    var raw: [Double] = []
    var labels: [UInt8] = []
    for _ in 0..<5000 {
        let logit = rng.uniform(-6, 6)
        let truth = 1 / (1 + exp(-logit))
        raw.append(1 / (1 + exp(-0.3 * logit)))
        labels.append(rng.uniform(0, 1) < truth ? 1 : 0)
    }
    let folds = raw.indices.map { $0 * 5 / raw.count }
    let (calibrator, choice) = CalibratorFit.fit(probabilities: raw, labels: labels, folds: folds)
    let c = try? #require(calibrator)
    #expect(choice.kind != "none" && choice.logLoss[choice.kind]! < choice.logLoss["none"]!)
    let before = CalibrationSummary(probabilities: raw, labels: labels).ece
    let after = CalibrationSummary(probabilities: raw.map { c?.apply($0) ?? $0 }, labels: labels).ece
    #expect(before > 0.1 && after < 0.03, "ECE \(before) → \(after)")
    if case .platt(let a, _)? = c { #expect(abs(a - 1 / 0.3) < 0.5) }
}

@Test func aWellCalibratedModelKeepsItsProbabilities() {
    var rng = TrainingRandom(seed: 12)
    var p: [Double] = []
    var labels: [UInt8] = []
    for _ in 0..<5000 {
        let q = rng.uniform(0, 1)
        p.append(q)
        labels.append(rng.uniform(0, 1) < q ? 1 : 0)
    }
    let (_, choice) = CalibratorFit.fit(probabilities: p, labels: labels, folds: p.indices.map { $0 * 5 / p.count })
    // Whatever wins, it may not be much better than none on data that is already calibrated.
    #expect(choice.logLoss[choice.kind]! >= choice.logLoss["none"]! * 0.99)
}

@Test func theThresholdSitsOnThePlateauNotOnASpike() {
    // Vacant rows up to 0.40, occupied from 0.62: every threshold in between is perfect, but only those at least 0.05
    // inside the gap keep their accuracy when the scores shift a little on new days.
    var p: [Double] = []
    var y: [UInt8] = []
    for _ in 0..<50 {
        p.append(0.305)
        y.append(0)
    }
    for i in 0..<400 {
        p.append(0.1 + 0.3 * Double(i) / 400)
        y.append(0)
    }
    for i in 0..<400 {
        p.append(0.62 + 0.3 * Double(i) / 400)
        y.append(1)
    }
    let (threshold, peak, chosen) = CalibratorFit.plateauThreshold(probabilities: p, labels: y)
    #expect(peak == 1 && chosen == 1)
    #expect(threshold > 0.4 && threshold < 0.62, "\(threshold)")
}
