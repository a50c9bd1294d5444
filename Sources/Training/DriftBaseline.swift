import Evaluator
import OccupantCore

/// The drift baseline a bundle ships: each feature's training histogram on fixed bins (edges from training
/// quantiles) and a threshold on the window's drift score, calibrated on the training stream itself.
///
/// Calibration: every contiguous window of training rows as long as one gateway window (a moving-block bootstrap whose
/// block is the whole window, so the features' autocorrelation is kept) is scored against the whole training histogram
/// with `DriftDistance`; the threshold is the score that such unshifted windows exceed with probability at most
/// `falseAlarmRate / (2 × features)` (Bonferroni over the features, and a factor 2 for the error of an empirical tail
/// quantile on autocorrelated windows), so that a gateway raises at most one false alarm — on any feature — per 720
/// windows, i.e. per 30 device-days of hourly windows. Below that many windows the largest score is the threshold.
public enum DriftBaseline {
    /// Interior bin edges (training deciles): 10 bins at most.
    public static let interiorEdges = 9
    /// The gateway's default monitor window.
    public static let defaultWindowSeconds = 3600.0
    /// At most one false alarm per 720 windows over all features together.
    public static let falseAlarmRate = 1.0 / 720

    /// `[min, decile 1, …, decile 9, max]` of the present values, equal deciles merged, the maximum repeated when it
    /// is also the last decile (so it has a bin of its own); nil without values.
    public static func edges(sortedPresent values: [Double]) -> [Double]? {
        guard let first = values.first, let last = values.last else { return nil }
        var edges = [first]
        for k in 1...interiorEdges {
            let p = Double(k) / Double(interiorEdges + 1)
            let v = values[min(values.count - 1, Int(p * Double(values.count)))]
            if v > edges[edges.count - 1] { edges.append(v) }
        }
        // The maximum closes the last bin; when it is also the last decile (a value that a tenth of the rows or more
        // share, e.g. a one-hot feature's 1) it gets a bin of its own.
        edges.append(last)
        return edges
    }

    /// Counts of `values` on `edges`, how many are missing (NaN) and how many fall outside the edges.
    public static func counts(_ values: [Double], edges: [Double]) -> (counts: [Int], missing: Int, outside: Int) {
        var counts = [Int](repeating: 0, count: max(1, edges.count - 1))
        var missing = 0
        var outside = 0
        for v in values {
            if v.isNaN {
                missing += 1
            } else {
                let b = DriftDistance.bin(v, edges: edges)
                if b >= 0 { counts[b] += 1 } else { outside += 1 }
            }
        }
        return (counts, missing, outside)
    }

    /// The drift score of every contiguous window of `windowRows` values of `stream` against the baseline.
    public static func windowScores(
        _ stream: [Double], edges: [Double], baseline: [Int], missing: Int, windowRows: Int
    ) -> [Double] {
        guard windowRows > 0, stream.count >= windowRows else { return [] }
        let bins = baseline.count
        // Slot `bins` counts missing values, `bins + 1` values outside the edges.
        let bin = stream.map { v in
            if v.isNaN { return bins }
            let b = DriftDistance.bin(v, edges: edges)
            return b < 0 ? bins + 1 : b
        }
        var window = [Int](repeating: 0, count: bins + 2)
        for r in 0..<windowRows { window[bin[r]] += 1 }
        var scores: [Double] = []
        scores.reserveCapacity(stream.count - windowRows + 1)
        var start = 0
        while true {
            scores.append(
                DriftDistance.jensenShannon(
                    baseline, pMissing: missing, bins: bins, qMissing: window[bins], qOutside: window[bins + 1],
                    qCount: { window[$0] }))
            let end = start + windowRows
            guard end < stream.count else { break }
            window[bin[start]] -= 1
            window[bin[end]] += 1
            start += 1
        }
        return scores
    }

    /// The score unshifted windows exceed with probability at most `level`: the k-th largest window score with
    /// k = ⌊n · level⌋ + 1 (the largest when there are fewer than 1/level windows). Nil without windows.
    public static func threshold(scores: [Double], level: Double) -> Double? {
        guard !scores.isEmpty else { return nil }
        let sorted = scores.sorted(by: >)
        let k = min(sorted.count, Int(Double(sorted.count) * level) + 1)
        return sorted[k - 1]
    }

    /// Rows per gateway window, assuming the gateway samples like the training data (its median row spacing).
    public static func windowRows(windowSeconds: Double, spacing: Double) -> Int {
        max(1, Int((windowSeconds / max(spacing, 1e-9)).rounded()))
    }

    /// Histograms and calibrated thresholds for `features` (each in stream order, NaN = missing).
    public static func calibrate(
        _ features: [[Double]], spacing: Double, windowSeconds: Double = defaultWindowSeconds
    ) -> (histograms: [(BundleManifest.Histogram, missing: Int, threshold: Double?)?], BundleManifest.DriftCalibration)
    {
        let rows = windowRows(windowSeconds: windowSeconds, spacing: spacing)
        let level = falseAlarmRate / Double(2 * max(1, features.count))
        let results: [(BundleManifest.Histogram, missing: Int, threshold: Double?)?] = features.map { values in
            guard let edges = edges(sortedPresent: values.filter { !$0.isNaN }.sorted()) else { return nil }
            let (counts, missing, _) = counts(values, edges: edges)
            let scores = windowScores(values, edges: edges, baseline: counts, missing: missing, windowRows: rows)
            return (.init(edges: edges, counts: counts), missing, threshold(scores: scores, level: level))
        }
        let calibration = BundleManifest.DriftCalibration(
            windowSeconds: windowSeconds, samplesPerWindow: rows, distance: DriftDistance.name,
            falseAlarmRate: falseAlarmRate,
            method:
                "moving-block bootstrap, block = window (\(rows) rows), level 1/(2 × 720 × \(features.count) features) per feature"
        )
        return (results, calibration)
    }

    /// The median gap between consecutive rows (seconds), 1 when there is none.
    public static func medianSpacing(_ times: [Instant]) -> Double {
        var gaps: [Double] = []
        for i in times.indices.dropFirst() where times[i] - times[i - 1] > 0 { gaps.append(times[i] - times[i - 1]) }
        guard !gaps.isEmpty else { return 1 }
        gaps.sort()
        return gaps[gaps.count / 2]
    }
}
