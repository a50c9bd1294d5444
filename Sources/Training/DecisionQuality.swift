import Foundation
import OccupantCore

/// Do the probabilities mean what they say? Ten equal-width bins of predicted probability, each with the share of
/// rows that really were occupied; the expected calibration error (ECE) is the row-weighted mean gap between the two,
/// the Brier score the mean squared error of the probabilities.
public struct CalibrationSummary: Codable, Sendable, Equatable {
    public struct Bin: Codable, Sendable, Equatable {
        public var from: Double
        public var to: Double
        public var count: Int
        /// nil for an empty bin.
        public var meanProbability: Double?
        public var observedRate: Double?
    }

    public var ece: Double
    public var brier: Double
    public var bins: [Bin]

    /// Rows without a probability (a missing input) are left out.
    public init(probabilities: [Double], labels: [UInt8], binCount: Int = 10) {
        precondition(probabilities.count == labels.count, "one probability per label")
        var sums = [Double](repeating: 0, count: binCount)
        var positives = [Int](repeating: 0, count: binCount)
        var counts = [Int](repeating: 0, count: binCount)
        var squared = 0.0
        var n = 0
        for (p, y) in zip(probabilities, labels) where !p.isNaN {
            let k = min(binCount - 1, max(0, Int(p * Double(binCount))))
            sums[k] += p
            positives[k] += Int(y)
            counts[k] += 1
            squared += (p - Double(y)) * (p - Double(y))
            n += 1
        }
        var gap = 0.0
        bins = (0..<binCount).map { k in
            let c = counts[k]
            let mean = c == 0 ? nil : sums[k] / Double(c)
            let rate = c == 0 ? nil : Double(positives[k]) / Double(c)
            if let mean, let rate { gap += Double(c) * abs(mean - rate) }
            return Bin(
                from: Double(k) / Double(binCount), to: Double(k + 1) / Double(binCount), count: c,
                meanProbability: mean, observedRate: rate)
        }
        ece = n == 0 ? .nan : gap / Double(n)
        brier = n == 0 ? .nan : squared / Double(n)
    }

    public var summary: String {
        "calibration: ECE \(formatFigure(ece)), Brier \(formatFigure(brier))"
    }
}

/// How the published state behaves over time, judged the way people judge an occupancy sensor: does it flicker
/// (false transitions per day), how long until it notices someone came in (onset latency) or left (clear latency).
///
/// The published state is what the gateway would publish: each probability against the threshold (a row without one
/// counts vacant), through the bundle's hysteresis, in time order. A false transition is a published change to a state
/// the labels do not show at that moment. An onset (clear) latency is the time from a labelled change to occupied
/// (vacant) until the published state first agrees, counted only when it agrees before the labels change again
/// (otherwise the change was missed).
public struct EventSummary: Codable, Sendable, Equatable {
    public var days: Double
    public var publishedTransitions: Int
    public var falseTransitions: Int
    public var falseTransitionsPerDay: Double
    public var onsets: Int
    public var missedOnsets: Int
    public var onsetLatencyP50Seconds: Double?
    public var onsetLatencyP95Seconds: Double?
    public var clears: Int
    public var missedClears: Int
    public var clearLatencyP50Seconds: Double?
    public var clearLatencyP95Seconds: Double?

    /// `times` ascending; unlabelled rows (nil) are published but not judged.
    public init(
        times: [Instant], probabilities: [Double], labels: [UInt8?], threshold: Double, hysteresis: Hysteresis
    ) {
        precondition(times.count == probabilities.count && times.count == labels.count, "one row per time")
        var filter = hysteresis
        let published = zip(times, probabilities).map { t, p in filter.update(raw: !p.isNaN && p >= threshold, at: t) }
        var transitions = 0
        var wrong = 0
        for i in published.indices.dropFirst() where published[i] != published[i - 1] {
            transitions += 1
            if let y = labels[i], (y == 1) != published[i] { wrong += 1 }
        }
        // Labelled changes, and how long the published state takes to follow each.
        var onsetDelays: [Double] = []
        var clearDelays: [Double] = []
        var missed = (onsets: 0, clears: 0)
        var counted = (onsets: 0, clears: 0)
        let labelled = labels.indices.filter { labels[$0] != nil }
        for (a, b) in zip(labelled, labelled.dropFirst()) where labels[a] != labels[b] {
            let target = labels[b] == 1
            let changeAt = times[b]
            let end = labelled.first { $0 > b && labels[$0] != labels[b] } ?? times.count
            let agreed = (b..<end).first { published[$0] == target }
            if target { counted.onsets += 1 } else { counted.clears += 1 }
            guard let agreed else {
                if target { missed.onsets += 1 } else { missed.clears += 1 }
                continue
            }
            let delay = times[agreed] - changeAt
            if target { onsetDelays.append(delay) } else { clearDelays.append(delay) }
        }
        let span = times.count > 1 ? (times.last! - times.first!) / 86_400 : 0
        days = span
        publishedTransitions = transitions
        falseTransitions = wrong
        falseTransitionsPerDay = span > 0 ? Double(wrong) / span : .nan
        onsets = counted.onsets
        missedOnsets = missed.onsets
        clears = counted.clears
        missedClears = missed.clears
        onsetLatencyP50Seconds = Self.percentile(onsetDelays, 0.5)
        onsetLatencyP95Seconds = Self.percentile(onsetDelays, 0.95)
        clearLatencyP50Seconds = Self.percentile(clearDelays, 0.5)
        clearLatencyP95Seconds = Self.percentile(clearDelays, 0.95)
    }

    /// Nearest-rank percentile; nil for no values.
    static func percentile(_ values: [Double], _ q: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    public var summary: String {
        func latency(_ p50: Double?, _ p95: Double?) -> String {
            guard let p50, let p95 else { return "n/a" }
            return "p50 \(formatFigure(p50)) s, p95 \(formatFigure(p95)) s"
        }
        return "events over \(formatFigure(days)) days: \(publishedTransitions) published changes, "
            + "\(falseTransitions) false (\(formatFigure(falseTransitionsPerDay))/day); "
            + "onset \(latency(onsetLatencyP50Seconds, onsetLatencyP95Seconds)) (\(missedOnsets) of \(onsets) missed); "
            + "clear \(latency(clearLatencyP50Seconds, clearLatencyP95Seconds)) (\(missedClears) of \(clears) missed)"
    }
}

/// Four significant digits; "n/a" for a figure that could not be computed.
func formatFigure(_ x: Double) -> String {
    x.isFinite ? formatNumber(x, significantDigits: 4) : "n/a"
}
