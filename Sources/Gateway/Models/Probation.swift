import Evaluator
import OccupantCore

/// `models.probation:` in the gateway configuration. Unset limits come from the running bundle.
public struct ProbationSettings: Sendable, Equatable {
    /// Seconds of gateway clock a newly active model is on probation (default one day).
    public var duration: Double
    /// More published changes of state than this within any hour trips `flapping`; nil: from the bundle's hysteresis
    /// (`Probation.defaultMaxTransitions`).
    public var maxTransitionsPerHour: Int?
    /// The probability unchanged (within 1e-6) this long while the inputs move trips `stuck` (seconds).
    public var stuckAfter: Double
    /// A larger share of the samples of a `depthWindow` with an input outside the bundle's training range trips
    /// `outOfRange`.
    public var outOfRangeShare: Double
    /// The window the out-of-range share is counted over (seconds of gateway clock).
    public var depthWindow: Double
    /// The monitor's estimated accuracy this far below the bundle's own accuracy trips `accuracy`.
    public var accuracyDrop: Double
    /// After probation a tripped guard only alerts (log line and `model/status`), unless this is true.
    public var rollbackAfterProbation: Bool
    /// False turns probation and the guards off (broken output is still never published).
    public var enabled: Bool

    public init(
        duration: Double = 86_400, maxTransitionsPerHour: Int? = nil, stuckAfter: Double = 7_200,
        outOfRangeShare: Double = 0.25, depthWindow: Double = 900, accuracyDrop: Double = 0.15,
        rollbackAfterProbation: Bool = false, enabled: Bool = true
    ) {
        self.duration = duration
        self.maxTransitionsPerHour = maxTransitionsPerHour
        self.stuckAfter = stuckAfter
        self.outOfRangeShare = outOfRangeShare
        self.depthWindow = depthWindow
        self.accuracyDrop = accuracyDrop
        self.rollbackAfterProbation = rollbackAfterProbation
        self.enabled = enabled
    }
}

/// The model a guard watches: which bundle (for the status and the server) and its own figures.
public struct ProbationSubject: Sendable {
    public var modelID: String
    public var version: Int?
    public var sha256: String
    /// Its training ranges, hysteresis, accuracy; nil for a scorer that is not a bundle (tests).
    public var bundle: ModelBundle?
    /// On probation (a model that just became active), or only watched (alerts).
    public var onProbation: Bool

    public init(modelID: String, version: Int?, sha256: String, bundle: ModelBundle?, onProbation: Bool = true) {
        self.modelID = modelID
        self.version = version
        self.sha256 = sha256
        self.bundle = bundle
        self.onProbation = onProbation
    }
}

/// The guards on the running model: flapping, stuck output, out of its depth, broken output, and the monitor's drift
/// and estimated accuracy. While the model is on probation a tripped guard rolls it back; after probation it alerts.
///
/// `check` is O(features) per sample and allocates nothing: the flapping ring, the last inputs and the training ranges
/// are sized when a model starts being watched. Text is built only when a guard trips.
public struct Probation: Sendable {
    public enum Guard: String, Sendable, CaseIterable {
        case flapping, stuck, outOfRange, brokenOutput, drift, accuracy
    }

    /// A guard that tripped: what, why (with the numbers), and whether the model goes.
    public struct Trip: Sendable, Equatable {
        public var guardName: Guard
        public var reason: String
        /// On probation (or `rollbackAfterProbation`): switch back now.
        public var rollback: Bool
    }

    public let settings: ProbationSettings
    public private(set) var subject: ProbationSubject?
    /// Gateway-clock seconds when probation ends (−∞ once passed or when not on probation).
    public private(set) var until = -Double.infinity
    /// Guards that alerted already for this model (after probation each alerts once).
    private var alerted: Set<Guard> = []

    // Flapping: the times of the last `maxTransitions + 1` published changes, a ring.
    public private(set) var maxTransitions = 12
    private var ring: [Double] = []
    private var ringNext = 0
    private var ringCount = 0
    private var lastOccupied: Bool?

    // Stuck: the probability held since `heldSince`, and whether an input moved meanwhile.
    private var heldProbability = Double.nan
    private var heldSince = 0.0
    private var inputsMoved = false
    private var haveInputs = false
    private var lastInputs: [Double] = []

    // Out of its depth: the bundle's training range per feature, and the window's counts.
    private var low: [Double] = []
    private var high: [Double] = []
    private var depthFrom = 0.0
    private var depthSamples = 0
    private var depthOutside = 0
    /// Fewer samples than this in a window are not judged.
    static let depthMinimumSamples = 30

    // Monitor: consecutive drifted windows (two trip), and the bundle's own accuracy.
    private var driftedWindows = 0
    private var bundleAccuracy: Double?

    /// Probabilities closer than this count as unchanged.
    public static let stuckTolerance = 1e-6

    public init(settings: ProbationSettings) {
        self.settings = settings
    }

    /// Whether `p` is a probability (finite, in [0, 1]).
    @inline(__always) public static func isProbability(_ p: Double) -> Bool { p >= 0 && p <= 1 }

    /// The default flapping limit for a bundle: half what its hysteresis lets through at most (one change per
    /// `occupiedAfter + vacantAfter` seconds), between 4 and 12 an hour.
    public static func defaultMaxTransitions(_ manifest: BundleManifest?) -> Int {
        guard let policy = manifest?.policy else { return 12 }
        let cycle = policy.occupiedAfter + policy.vacantAfter
        guard cycle > 0 else { return 12 }
        return min(12, max(4, Int((3600 / cycle).rounded(.down))))
    }

    /// The training range of each feature (histogram edges, else the outermost quantiles), widened by a tenth of its
    /// width on each side; ±∞ where the bundle has none.
    public static func trainingRanges(_ manifest: BundleManifest) -> (low: [Double], high: [Double]) {
        let names = manifest.features.names
        var low = [Double](repeating: -.infinity, count: names.count)
        var high = [Double](repeating: .infinity, count: names.count)
        for (i, name) in names.enumerated() {
            guard let s = manifest.featureStatistics?.first(where: { $0.name == name }) else { continue }
            var lo: Double?
            var hi: Double?
            if let edges = s.histogram?.edges, let first = edges.first, let last = edges.last {
                lo = first
                hi = last
            } else if let q = s.quantiles, let first = q.min(by: { $0.p < $1.p }), let last = q.max(by: { $0.p < $1.p })
            {
                lo = first.value
                hi = last.value
            }
            guard let lo, let hi, lo.isFinite, hi.isFinite, hi >= lo else { continue }
            let margin = (hi - lo) * 0.1
            low[i] = lo - margin
            high[i] = hi + margin
        }
        return (low, high)
    }

    /// Starts watching a model (on probation when `subject.onProbation`); nil watches nothing (the rule decides).
    public mutating func watch(_ subject: ProbationSubject?, at now: Instant) {
        self.subject = subject
        alerted = []
        lastOccupied = nil
        ringNext = 0
        ringCount = 0
        heldProbability = .nan
        heldSince = now.seconds
        inputsMoved = false
        haveInputs = false
        depthFrom = now.seconds
        depthSamples = 0
        depthOutside = 0
        driftedWindows = 0
        guard let subject, settings.enabled else {
            until = -.infinity
            low = []
            high = []
            lastInputs = []
            return
        }
        until = subject.onProbation ? now.seconds + settings.duration : -.infinity
        let manifest = subject.bundle?.manifest
        maxTransitions = settings.maxTransitionsPerHour ?? Self.defaultMaxTransitions(manifest)
        ring = [Double](repeating: 0, count: maxTransitions + 1)
        if let manifest {
            (low, high) = Self.trainingRanges(manifest)
        } else {
            low = []
            high = []
        }
        lastInputs = [Double](repeating: .nan, count: low.count)
        bundleAccuracy = manifest?.provenance?.metrics?.accuracy
    }

    /// On probation at `now`.
    public func onProbation(at now: Instant) -> Bool { subject != nil && now.seconds < until }

    /// Ends probation as passed: returns true the first time it is over (the caller records it).
    public mutating func passIfDue(at now: Instant) -> Bool {
        guard subject != nil, until > -.infinity, now.seconds >= until else { return false }
        until = -.infinity
        return true
    }

    /// Judges one decision of the watched model; nil when every guard holds (or already alerted, after probation).
    public mutating func check(_ decision: Decision, at now: Instant) -> Trip? {
        guard subject != nil else { return nil }
        let t = now.seconds
        // Broken output: judged even with the guards off.
        if let p = decision.probability, !Self.isProbability(p) {
            guard let rollback = verdict(.brokenOutput, at: now) else { return nil }
            return Trip(
                guardName: .brokenOutput, reason: "the model's probability is \(p), not a number in [0, 1]",
                rollback: rollback)
        }
        guard settings.enabled else { return nil }
        if let trip = checkFlapping(decision, at: t, now: now) { return trip }
        if let p = decision.probability, decision.stale == nil {
            let values = decision.inputs.featureValues
            if let trip = checkStuck(p, values, at: t, now: now) { return trip }
            if let values, let trip = checkDepth(values, at: t, now: now) { return trip }
        }
        return nil
    }

    private mutating func checkFlapping(_ decision: Decision, at t: Double, now: Instant) -> Trip? {
        guard let occupied = decision.roomOccupancy else { return nil }
        defer { lastOccupied = occupied }
        guard let last = lastOccupied, last != occupied else { return nil }
        ring[ringNext] = t
        ringNext = (ringNext + 1) % ring.count
        ringCount = min(ringCount + 1, ring.count)
        // The ring is full when it holds maxTransitions + 1 changes; the oldest is then at ringNext.
        guard ringCount == ring.count, t - ring[ringNext] < 3600 else { return nil }
        let minutes = (t - ring[ringNext]) / 60
        guard let rollback = verdict(.flapping, at: now) else { return nil }
        return Trip(
            guardName: .flapping,
            reason:
                "\(ring.count) published changes within \(formatNumber((minutes * 10).rounded() / 10)) min, more than the limit of \(maxTransitions) per hour",
            rollback: rollback)
    }

    private mutating func checkStuck(_ p: Double, _ values: [Double]?, at t: Double, now: Instant) -> Trip? {
        if let values, values.count == lastInputs.count {
            var moved = false
            for i in 0..<values.count {
                let a = values[i]
                let b = lastInputs[i]
                if a != b && !(a.isNaN && b.isNaN) {
                    moved = true
                    lastInputs[i] = a
                }
            }
            // The first vector only fills `lastInputs`.
            if moved && haveInputs { inputsMoved = true }
            haveInputs = true
        }
        if heldProbability.isNaN || abs(p - heldProbability) > Self.stuckTolerance {
            heldProbability = p
            heldSince = t
            inputsMoved = false
            return nil
        }
        guard inputsMoved, t - heldSince >= settings.stuckAfter else { return nil }
        guard let rollback = verdict(.stuck, at: now) else { return nil }
        return Trip(
            guardName: .stuck,
            reason:
                "probability \(formatNumber(heldProbability)) unchanged for \(formatNumber((t - heldSince).rounded())) s while the inputs moved (limit \(formatNumber(settings.stuckAfter)) s)",
            rollback: rollback)
    }

    private mutating func checkDepth(_ values: [Double], at t: Double, now: Instant) -> Trip? {
        guard !low.isEmpty, values.count == low.count else { return nil }
        if t - depthFrom >= settings.depthWindow {
            depthFrom = t
            depthSamples = 0
            depthOutside = 0
        }
        depthSamples += 1
        for i in 0..<values.count {
            let v = values[i]
            if v < low[i] || v > high[i] {
                depthOutside += 1
                break
            }
        }
        guard depthSamples >= Self.depthMinimumSamples else { return nil }
        let share = Double(depthOutside) / Double(depthSamples)
        guard share > settings.outOfRangeShare else { return nil }
        var worst = ""
        for i in 0..<values.count where values[i] < low[i] || values[i] > high[i] {
            let name = subject?.bundle?.manifest.features.names[i] ?? "feature \(i)"
            worst = "\(name) = \(formatNumber(values[i])) outside [\(formatNumber(low[i])), \(formatNumber(high[i]))]"
            break
        }
        guard let rollback = verdict(.outOfRange, at: now) else { return nil }
        return Trip(
            guardName: .outOfRange,
            reason:
                "\(depthOutside) of \(depthSamples) samples (\(formatNumber((share * 1000).rounded() / 10)) %) had an input outside the training range, limit \(formatNumber(settings.outOfRangeShare * 100)) %; e.g. \(worst)",
            rollback: rollback)
    }

    /// Judges a closed monitor window of the watched model: drift in two windows in a row, or an estimated accuracy
    /// `accuracyDrop` below the bundle's own.
    public mutating func check(window: MonitorDocument, at now: Instant) -> Trip? {
        // `model:<id>@<version>`, perhaps with a note after a space.
        let id = "model:\(subject?.modelID ?? "")@\(subject?.version.map(String.init) ?? "")"
        guard let subject, settings.enabled, let decidedBy = window.decidedBy,
            decidedBy == id || decidedBy.hasPrefix(id + " ") || (subject.version == nil && decidedBy.hasPrefix(id))
        else {
            return nil
        }
        let drifted = window.drift?.filter(\.value.drifted).keys.sorted() ?? []
        driftedWindows = drifted.isEmpty ? 0 : driftedWindows + 1
        if driftedWindows >= 2 {
            guard let rollback = verdict(.drift, at: now) else { return nil }
            return Trip(
                guardName: .drift,
                reason:
                    "drift beyond the bundle's thresholds in 2 windows in a row on \(drifted.joined(separator: ", "))",
                rollback: rollback)
        }
        if let expected = window.expectedAccuracy, let own = bundleAccuracy ?? window.bundleAccuracy,
            expected < own - settings.accuracyDrop
        {
            guard let rollback = verdict(.accuracy, at: now) else { return nil }
            return Trip(
                guardName: .accuracy,
                reason:
                    "estimated accuracy \(formatNumber((expected * 1000).rounded() / 1000)) is more than \(formatNumber(settings.accuracyDrop)) below the bundle's \(formatNumber(own))",
                rollback: rollback)
        }
        return nil
    }

    /// Whether a tripped guard rolls back (on probation, or when configured after it), or alerts (once per guard);
    /// nil when it alerted already.
    private mutating func verdict(_ g: Guard, at now: Instant) -> Bool? {
        let rollback = onProbation(at: now) || settings.rollbackAfterProbation
        if !rollback {
            guard !alerted.contains(g) else { return nil }
            alerted.insert(g)
        }
        return rollback
    }
}
