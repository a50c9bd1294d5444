import Evaluator
import FleetProtocol
import OccupantCore
import Sensors

/// A second bundle scored on every sample beside the active model and never published: its own feature pipeline
/// (built from its own schema, which may differ from the active model's), its own threshold and hysteresis, and
/// the window's record of how it compares with the active model's decisions (`ShadowWindow`).
///
/// `record` allocates nothing: the counters are plain numbers and the run list's storage is reserved for
/// `ShadowWindow.maxRuns` runs when the window starts.
public struct ShadowModel: Sendable {
    public let sha256: String
    private var scorer: ModelScorer
    private var hysteresis: Hysteresis
    private let threshold: Double
    private var scored = 0
    private var compared = 0
    private var agreed = 0
    private var transitions = 0
    private var stale = 0
    private var sum = 0.0
    private var confidence = 0.0
    /// The shadow's last decision (kept across windows, for transitions).
    private var last: Bool?
    private var runs: [ShadowWindow.Run] = []
    private var complete = true
    /// The drift of the shadow's own features against its bundle's baselines: the monitor's histograms, fed the
    /// shadow's feature vectors (no channels: input quality is the active window's).
    private var drift: Monitor
    private let decidedBy: String

    public init(bundle: ModelBundle, sha256: String) throws(OccupantError) {
        self.sha256 = sha256
        scorer = try ModelScorer(bundle: bundle)
        hysteresis = scorer.hysteresis
        threshold = scorer.threshold
        runs.reserveCapacity(ShadowWindow.maxRuns)
        decidedBy = scorer.id
        let noChannels = FirmwareProfile(
            name: "shadow", description: "", manufacturer: "", model: "", firmware: VersionRange("")!, devices: [],
            channels: [])
        drift = Monitor(settings: MonitorSettings(), profile: noChannels, start: Instant(seconds: 0))
        drift.use(bundle: bundle, decidedBy: decidedBy)
    }

    public var bundle: ModelBundle { scorer.bundle }
    /// `modelID@version`.
    public var name: String { "\(bundle.manifest.modelID)@\(bundle.manifest.version)" }

    /// Scores `sample` and compares the shadow's decision with the active model's `active` one.
    public mutating func record(_ sample: Sample, active: Decision) {
        var decision: Bool?
        switch scorer.score(sample) {
        case .stale:
            stale += 1
        case .probability(let p, let inputs):
            drift.recordDrift(
                Decision(
                    roomOccupancy: nil, probability: p, decidedBy: decidedBy, inputs: inputs,
                    health: ChannelHealthList([]), stale: nil,
                    at: sample.at),
                at: sample.at.seconds)
            scored += 1
            sum += p
            confidence += max(p, 1 - p)
            let state = hysteresis.update(raw: p >= threshold, at: sample.at)
            if let last, last != state { transitions += 1 }
            last = state
            decision = state
        }
        let activeDecision = active.stale == nil ? active.roomOccupancy : nil
        if let decision, let activeDecision {
            compared += 1
            if decision == activeDecision { agreed += 1 }
        }
        guard complete else { return }
        let at = sample.at.seconds
        let n = runs.count
        if n > 0 && runs[n - 1].active == activeDecision && runs[n - 1].shadow == decision {
            runs[n - 1].to = at
            runs[n - 1].n += 1
        } else if n < ShadowWindow.maxRuns {
            runs.append(.init(from: at, to: at, n: 1, active: activeDecision, shadow: decision))
        } else {
            complete = false
        }
    }

    /// Ends the window at `to`: its `shadow` section, and the counters restarted (the hysteresis state carries on).
    public mutating func close(at to: Instant) -> ShadowWindow {
        let manifest = bundle.manifest
        let driftDocument = drift.close(
            at: to, gateway: "", process: .init(cpuSeconds: nil, rssBytes: nil, uptimeSeconds: nil)
        ).drift
        let window = ShadowWindow(
            model: name, version: manifest.version, sha256: sha256, scored: scored, compared: compared,
            agreement: compared > 0 ? Double(agreed) / Double(compared) : nil, transitions: transitions,
            meanProbability: scored > 0 ? sum / Double(scored) : nil,
            expectedAccuracy: scored > 0 ? confidence / Double(scored) : nil,
            bundleAccuracy: manifest.provenance?.metrics?.accuracy, stale: stale, runs: runs, complete: complete,
            drift: driftDocument)
        scored = 0
        compared = 0
        agreed = 0
        transitions = 0
        stale = 0
        sum = 0
        confidence = 0
        complete = true
        // A fresh buffer (the document keeps the old one), reserved now rather than on a sample.
        runs = []
        runs.reserveCapacity(ShadowWindow.maxRuns)
        return window
    }
}
