import Evaluator
import OccupantCore
import OccupantTesting
import Testing

@testable import Training

/// The drift baseline a trained bundle ships, and whether its thresholds keep their false-alarm promise.
@Suite(.ownThread) struct DriftBaselineTests {
    @Test func aTrainedBundleCarriesHistogramsAndCalibratedThresholds() throws {
        let table = thermostatTable(days: 3, seed: 4)
        let result = try Trainer.train(table, options: .init(trials: 2, seed: 8))
        let decoded = try ModelBundle.decode(result.bundle.encodeUnsigned())
        let statistics = try #require(decoded.manifest.featureStatistics)
        #expect(statistics.count == decoded.manifest.features.features.count)
        for s in statistics {
            let h = try #require(s.histogram, "\(s.name) has no histogram")
            #expect(h.edges.count >= 2 && h.edges.count <= DriftBaseline.interiorEdges + 2, "\(s.name): \(h.edges)")
            // Increasing; only the maximum may repeat the edge before it (its own bin).
            #expect(zip(h.edges.dropLast(), h.edges.dropFirst().dropLast()).allSatisfy { $0 < $1 }, "\(s.name)")
            #expect(h.edges[h.edges.count - 2] <= h.edges[h.edges.count - 1], "\(s.name)")
            #expect(h.counts.count == h.edges.count - 1)
            #expect(h.counts.reduce(0, +) + (s.missing ?? 0) == s.count)
            let threshold = try #require(s.driftThreshold, "\(s.name) has no threshold")
            #expect(threshold >= 0 && threshold <= 1)
        }
        let drift = try #require(decoded.manifest.drift)
        #expect(drift.windowSeconds == 3600 && drift.distance == "jensen-shannon")
        #expect(drift.samplesPerWindow == DriftBaseline.windowRows(windowSeconds: 3600, spacing: table.medianInterval))
        #expect(drift.falseAlarmRate == 1.0 / 720)
        #expect(
            BundleInspector.summary(decoded).contains(
                "drift      \(statistics.count) thresholds for 3600 s windows of \(drift.samplesPerWindow) samples (jensen-shannon, at most 1 false alarm per 720 windows)"
            ))

        // Bundles without a drift baseline (imported, or made before it) still decode.
        var manifest = result.bundle.manifest
        manifest.drift = nil
        manifest.featureStatistics = manifest.featureStatistics?.map {
            var s = $0
            s.histogram = nil
            s.driftThreshold = nil
            return s
        }
        let old = try ModelBundle.decode(ModelBundle(manifest: manifest, model: result.bundle.model).encodeUnsigned())
        #expect(old.manifest.drift == nil && old.manifest.featureStatistics?.first?.driftThreshold == nil)
    }

    /// Autocorrelated features (AR(1), one with missing values), sampled each minute: thresholds calibrated on 60 days
    /// keep hourly windows of another 300 days of the same process at or below one false alarm — on any feature — per
    /// 720 windows; the same stream shifted by two standard deviations is flagged in most windows (a half-sigma shift
    /// of an AR(1) process with ρ = 0.95 is not: a single hour of it wanders that far by itself).
    @Test func heldOutUnshiftedWindowsStayUnderTheFalseAlarmRate() {
        func stream(days: Int, seed: UInt64, shift: Double = 0) -> [[Double]] {
            var random = SplitMix64(seed: seed)
            let rows = days * 1440
            var features = [[Double]](repeating: [], count: 3)
            var state = [0.0, 0.0, 0.0]
            let phi = [0.95, 0.8, 0.5]
            for r in 0..<rows {
                for f in 0..<3 {
                    state[f] = phi[f] * state[f] + (1 - phi[f] * phi[f]).squareRoot() * random.nextGaussian()
                    var v = state[f] + shift
                    if f == 2 && random.nextDouble() < 0.05 { v = .nan }
                    features[f].append(v)
                }
                _ = r
            }
            return features
        }
        let training = stream(days: 60, seed: 11)
        let (baselines, calibration) = DriftBaseline.calibrate(training, spacing: 60)
        #expect(calibration.samplesPerWindow == 60)
        let thresholds = baselines.map { $0!.threshold! }

        func alarms(_ features: [[Double]]) -> (alarms: Int, windows: Int) {
            let w = calibration.samplesPerWindow
            let windows = features[0].count / w
            var alarms = 0
            for k in 0..<windows {
                var any = false
                for f in 0..<features.count {
                    let (h, missing, _) = baselines[f]!
                    let window = Array(features[f][(k * w)..<((k + 1) * w)])
                    let (counts, windowMissing, outside) = DriftBaseline.counts(window, edges: h.edges)
                    let score = DriftDistance.jensenShannon(
                        h.counts, pMissing: missing, bins: h.counts.count, qMissing: windowMissing, qOutside: outside,
                        qCount: { counts[$0] })
                    if score > thresholds[f] { any = true }
                }
                if any { alarms += 1 }
            }
            return (alarms, windows)
        }
        let heldOut = alarms(stream(days: 300, seed: 12))
        #expect(heldOut.windows == 7200)
        #expect(
            Double(heldOut.alarms) / Double(heldOut.windows) <= DriftBaseline.falseAlarmRate,
            "\(heldOut.alarms) false alarms in \(heldOut.windows) windows")
        let shifted = alarms(stream(days: 10, seed: 13, shift: 2))
        #expect(Double(shifted.alarms) / Double(shifted.windows) > 0.5, "\(shifted.alarms) of \(shifted.windows)")
    }

    @Test(arguments: [
        (-5.0, -1), (0.0, 0), (0.99, 0), (1.0, 1), (1.5, 1), (2.0, 2), (3.0, 2), (99.0, -1),
    ])
    func valuesFallInTheirBin(value: Double, bin: Int) {
        #expect(DriftDistance.bin(value, edges: [0, 1, 2, 3]) == bin)
    }

    /// A one-hot feature (70 % zeros): its 1 gets a bin of its own, so a change in the share of ones shows.
    @Test func aRepeatedMaximumGetsItsOwnBin() throws {
        let values = (0..<100).map { Double($0 < 70 ? 0 : 1) }
        let edges = try #require(DriftBaseline.edges(sortedPresent: values))
        #expect(edges == [0, 1, 1])
        #expect(DriftBaseline.counts(values, edges: edges).counts == [70, 30])
    }

    @Test func theDistanceIsBounded() {
        let same = DriftDistance.jensenShannon([5, 5], pMissing: 0, bins: 2, qMissing: 0, qCount: { [10, 10][$0] })
        let disjoint = DriftDistance.jensenShannon([5, 0], pMissing: 0, bins: 2, qMissing: 0, qCount: { [0, 7][$0] })
        let outside = DriftDistance.jensenShannon(
            [5, 5], pMissing: 0, bins: 2, qMissing: 0, qOutside: 9, qCount: { _ in 0 })
        #expect(abs(same) < 1e-12 && abs(disjoint - 1) < 1e-12 && abs(outside - 1) < 1e-12)
    }
}
