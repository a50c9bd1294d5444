import Evaluator
import OccupantCore
import Sensors

/// Watches the decision loop over windows of the gateway clock: input quality per channel, the distribution of the
/// scorer's probabilities, each feature's drift against the running bundle's training histogram, and a label-free
/// accuracy estimate.
///
/// `record` is O(channels + features) per sample and allocates nothing: every counter lives in arrays sized when the
/// profile or the bundle changes. Per feature it holds the bundle's edges and counts (≤ 11 bins) and the window's
/// counts: well under 1 KB (`bytesPerFeature`).
public struct Monitor: Sendable {
    public let settings: MonitorSettings
    public private(set) var from: Instant
    public private(set) var samples = 0
    private(set) var channels: [ChannelStats] = []
    private(set) var features: [FeatureDrift] = []
    /// The window's drift counts of every feature, flat: feature `f` has `bins + 2` slots from `features[f].offset`
    /// (its bins, then missing, then outside the training range). One flat array keeps the per-sample update a plain
    /// store (nested arrays in an array of structs copy on write in unoptimised builds).
    private(set) var driftWindow: [Int] = []
    /// The engine's `decidedBy` the feature baselines belong to.
    public private(set) var decidedBy: String?
    private var bundleAccuracy: Double?
    private var isModel = false
    /// Drift histograms are fed at the spacing the thresholds were calibrated for (window / samples per window).
    private var driftSpacing = 0.0
    /// Below this many drift samples a window is too short for the thresholds (calibrated on full windows): scores
    /// are reported, nothing is flagged.
    private var driftMinimumSamples = 1
    private var lastDriftAt = -Double.infinity
    private var driftSamples = 0
    private var predictions = PredictionStats()

    struct ChannelStats: Sendable {
        var name: String
        var missing = 0
        var outOfRange = 0
        var stuck = 0
        var values = 0
        var sum = 0.0
        var minimum = Double.infinity
        var maximum = -Double.infinity
        /// The last numeric value and since when it has not changed (kept across windows).
        var last = Double.nan
        var since = 0.0
    }

    struct FeatureDrift: Sendable {
        var name: String
        /// The feature's position in the bundle's schema.
        var index: Int
        var edges: [Double]
        var baseline: [Int]
        var baselineMissing: Int
        var threshold: Double?
        /// Where this feature's counts start in `driftWindow`.
        var offset: Int
    }

    struct PredictionStats: Sendable {
        var scored = 0
        var sum = 0.0
        var confidence = 0.0
        var positive = 0
        var decided = 0
        var stale = 0
        var transitions = 0
        var histogram = [Int](repeating: 0, count: 10)
        mutating func reset() {
            scored = 0
            sum = 0
            confidence = 0
            positive = 0
            decided = 0
            stale = 0
            transitions = 0
            for i in 0..<histogram.count { histogram[i] = 0 }
        }
    }

    /// The last non-nil decision (kept across windows, for transitions).
    private var lastOccupied: Bool?

    public init(settings: MonitorSettings, profile: FirmwareProfile, start: Instant) {
        self.settings = settings
        self.from = start
        use(profile: profile)
    }

    /// Memory the drift state of one feature takes (bytes, arrays' payloads): edges, baseline and window counts.
    public static func bytesPerFeature(bins: Int) -> Int {
        (bins + 1) * MemoryLayout<Double>.stride + bins * MemoryLayout<Int>.stride
            + (bins + 2) * MemoryLayout<Int>.stride + MemoryLayout<FeatureDrift>.stride + 3 * 32
    }

    /// Follows a (re)loaded profile: one set of counters per channel, the window's counts restarted.
    public mutating func use(profile: FirmwareProfile) {
        channels = profile.channels.map { ChannelStats(name: $0.name) }
    }

    /// Follows the scorer: a model bundle brings its features' baselines (when it has them); anything else none.
    public mutating func use(bundle: ModelBundle?, decidedBy: String) {
        self.decidedBy = decidedBy
        isModel = bundle != nil
        features = []
        driftWindow = []
        bundleAccuracy = bundle?.manifest.provenance?.metrics?.accuracy
        lastDriftAt = -.infinity
        driftSamples = 0
        guard let manifest = bundle?.manifest, let statistics = manifest.featureStatistics else { return }
        let names = manifest.features.names
        for (index, name) in names.enumerated() {
            guard let s = statistics.first(where: { $0.name == name }), let h = s.histogram,
                h.counts.count == max(1, h.edges.count - 1)
            else { continue }
            features.append(
                FeatureDrift(
                    name: name, index: index, edges: h.edges, baseline: h.counts, baselineMissing: s.missing ?? 0,
                    threshold: s.driftThreshold, offset: driftWindow.count))
            driftWindow += [Int](repeating: 0, count: h.counts.count + 2)
        }
        if let drift = manifest.drift, drift.samplesPerWindow > 0 {
            driftSpacing = drift.windowSeconds / Double(drift.samplesPerWindow)
            driftMinimumSamples = max(1, drift.samplesPerWindow / 2)
        } else {
            driftSpacing = 0
            driftMinimumSamples = 1
        }
    }

    /// Follows the engine's scorer (called where the loop replaces it): `use(bundle:decidedBy:)` with its bundle.
    public mutating func use(engine: DecisionEngine) {
        use(bundle: (engine.scorer as? ModelScorer)?.bundle, decidedBy: engine.decidedBy)
    }

    /// Adds one cycle: the sample the loop read and the decision it made.
    public mutating func record(_ sample: Sample, _ decision: Decision) {
        samples += 1
        let now = sample.at.seconds
        for c in 0..<channels.count {
            var r = -1
            if c < sample.readings.count && sample.readings[c].channel == channels[c].name {
                r = c
            } else {
                for i in 0..<sample.readings.count where sample.readings[i].channel == channels[c].name {
                    r = i
                    break
                }
            }
            recordChannel(c, reading: r < 0 ? nil : sample.readings[r], at: now)
        }
        recordPrediction(decision)
        recordDrift(decision, at: now)
    }

    mutating func recordPrediction(_ decision: Decision) {
        if let p = decision.probability, decision.stale == nil {
            predictions.scored += 1
            predictions.sum += p
            predictions.confidence += max(p, 1 - p)
            predictions.histogram[min(9, max(0, Int(p * 10)))] += 1
        }
        if let occupied = decision.roomOccupancy {
            predictions.decided += 1
            if occupied { predictions.positive += 1 }
            if let last = lastOccupied, last != occupied { predictions.transitions += 1 }
            lastOccupied = occupied
        } else {
            predictions.stale += 1
        }
    }

    mutating func recordDrift(_ decision: Decision, at now: Double) {
        if !features.isEmpty, now - lastDriftAt >= driftSpacing, let values = decision.inputs.featureValues {
            lastDriftAt = now
            driftSamples += 1
            for f in 0..<features.count {
                let i = features[f].index
                let v = i < values.count ? values[i] : .nan
                let bins = features[f].baseline.count
                var bin = bins
                if !v.isNaN {
                    bin = DriftDistance.bin(v, edges: features[f].edges)
                    if bin < 0 { bin = bins + 1 }
                }
                driftWindow[features[f].offset + bin] += 1
            }
        }
    }

    mutating func recordChannel(_ c: Int, reading: Reading?, at now: Double) {
        guard let reading, let value = reading.value else {
            channels[c].missing += 1
            if let reason = reading?.unavailable {
                if Self.contains(reason, "minimum") || Self.contains(reason, "maximum") { channels[c].outOfRange += 1 }
                if Self.contains(reason, " stuck ") { channels[c].stuck += 1 }
            }
            return
        }
        guard case .number(let v) = value else { return }
        channels[c].values += 1
        channels[c].sum += v
        if v < channels[c].minimum { channels[c].minimum = v }
        if v > channels[c].maximum { channels[c].maximum = v }
        if v != channels[c].last {
            channels[c].last = v
            channels[c].since = now
        } else if now - channels[c].since >= settings.stuckAfter {
            channels[c].stuck += 1
        }
    }

    /// Whether `text` contains `needle` (ASCII), without allocating.
    static func contains(_ text: String, _ needle: StaticString) -> Bool {
        let n = needle.utf8CodeUnitCount
        return needle.withUTF8Buffer { pattern in
            let utf8 = text.utf8
            return utf8.withContiguousStorageIfAvailable { bytes -> Bool in
                guard bytes.count >= n, n > 0 else { return n == 0 }
                for start in 0...(bytes.count - n) {
                    var k = 0
                    while k < n && bytes[start + k] == pattern[k] { k += 1 }
                    if k == n { return true }
                }
                return false
            } ?? false
        }
    }

    /// Ends the window at `to`: the document for it, and the counters restarted.
    public mutating func close(at to: Instant, gateway: String, process: MonitorDocument.Process) -> MonitorDocument {
        let n = Double(max(1, samples))
        var inputs: [String: MonitorDocument.Input] = [:]
        for c in channels {
            let hasValues = c.values > 0
            inputs[c.name] = .init(
                missing: Double(c.missing) / n, outOfRange: Double(c.outOfRange) / n, stuck: Double(c.stuck) / n,
                mean: hasValues ? c.sum / Double(c.values) : nil, min: hasValues ? c.minimum : nil,
                max: hasValues ? c.maximum : nil)
        }
        let scored = predictions.scored
        let predictionsDocument = MonitorDocument.Predictions(
            meanProbability: scored > 0 ? predictions.sum / Double(scored) : nil,
            positiveRate: predictions.decided > 0 ? Double(predictions.positive) / Double(predictions.decided) : nil,
            transitions: predictions.transitions, histogram: predictions.histogram, stale: predictions.stale)
        var drift: [String: MonitorDocument.Drift]?
        if !features.isEmpty && driftSamples > 0 {
            var d: [String: MonitorDocument.Drift] = [:]
            for f in features {
                let score = DriftDistance.jensenShannon(
                    f.baseline, pMissing: f.baselineMissing, bins: f.baseline.count,
                    qMissing: driftWindow[f.offset + f.baseline.count],
                    qOutside: driftWindow[f.offset + f.baseline.count + 1], qCount: { driftWindow[f.offset + $0] })
                let judged = driftSamples >= driftMinimumSamples
                d[f.name] = .init(
                    score: score, threshold: f.threshold, drifted: judged && (f.threshold.map { score > $0 } ?? false))
            }
            drift = d
        }
        let document = MonitorDocument(
            gateway: gateway, window: .init(from: TimeValue(from), to: TimeValue(to), samples: samples), inputs: inputs,
            predictions: predictionsDocument, drift: drift,
            expectedAccuracy: isModel && scored > 0 ? predictions.confidence / Double(scored) : nil,
            bundleAccuracy: bundleAccuracy, decidedBy: decidedBy, process: process)
        restart(at: to)
        return document
    }

    private mutating func restart(at instant: Instant) {
        from = instant
        samples = 0
        driftSamples = 0
        predictions.reset()
        for c in 0..<channels.count {
            channels[c].missing = 0
            channels[c].outOfRange = 0
            channels[c].stuck = 0
            channels[c].values = 0
            channels[c].sum = 0
            channels[c].minimum = .infinity
            channels[c].maximum = -.infinity
        }
        for i in 0..<driftWindow.count { driftWindow[i] = 0 }
    }
}
