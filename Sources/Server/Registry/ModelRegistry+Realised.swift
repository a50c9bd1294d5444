import Evaluator
import FleetProtocol
import Foundation
import Logging
import OccupantCore
import Training

/// Realised accuracy of gateways' monitor windows: measured when labels arrive for a stored window, and when a window
/// arrives for labels already stored.
///
/// The server has no record of the states a gateway published, only its telemetry (one row per `telemetry.interval`)
/// and the bundle it ran (`decidedBy`, looked up in the registry by model id and version). So it replays them: the
/// window's telemetry rows (plus a lead-in for the feature windows and the hysteresis) through the bundle's features
/// and model, the bundle's threshold and hysteresis in time order — what the gateway decides for those inputs — and
/// compares the state at each labelled row inside the window with its label. Rows the model cannot score (the
/// gateway publishes no state then) are left out.
extension ModelRegistry {
    /// Windows measured per replay: consecutive windows of one bundle share one read and one replay.
    static let realisedChunk = 24

    /// Measures the realised accuracy of the stored windows these labels cover. Never throws: the labels are stored
    /// already, a failure is logged.
    public func labelsArrived(_ labels: [LabelRange]) async {
        var spans: [String: (from: Double, to: Double)] = [:]
        for l in labels {
            let s = spans[l.gateway]
            spans[l.gateway] = (min(s?.from ?? l.from, l.from), max(s?.to ?? l.to, l.to))
        }
        for (gateway, span) in spans.sorted(by: { $0.key < $1.key }) {
            await measureRealised(gateway: gateway, from: span.from, to: span.to)
        }
    }

    /// Measures (again) the realised accuracy of `gateway`'s stored windows overlapping `[from, to)`.
    public func measureRealised(gateway: String, from: Double, to: Double) async {
        do {
            try await measure(gateway: gateway, from: from, to: to)
        } catch {
            logger.error("measuring the realised accuracy of \(gateway)'s monitor windows: \(error)")
        }
    }

    private func measure(gateway: String, from: Double, to: Double) async throws {
        guard let scope = config.gateway(gateway)?.scope else { return }
        let windows = try await store.monitorWindows(gateway: gateway, since: from).filter {
            ($0.window.from.seconds ?? .infinity) < to
        }
        guard !windows.isEmpty else { return }
        let labels = try await store.labels(gateways: [gateway])
        guard !labels.isEmpty else { return }
        var bundles: [String: ModelBundle?] = [:]
        var i = 0
        while i < windows.count {
            // A run of consecutive windows decided by the same bundle.
            guard let model = Self.modelReference(windows[i].decidedBy) else {
                i += 1
                continue
            }
            var j = i + 1
            while j < windows.count && j - i < Self.realisedChunk
                && Self.modelReference(windows[j].decidedBy)?.text == model.text
            {
                j += 1
            }
            let run = Array(windows[i..<j])
            i = j
            if bundles[model.text] == nil {
                bundles[model.text] = try await bundle(scope: scope, id: model.id, version: model.version)
            }
            guard let bundle = bundles[model.text] ?? nil else { continue }
            try await measure(gateway: gateway, windows: run, bundle: bundle, model: model.text, labels: labels)
        }
    }

    private func measure(
        gateway: String, windows: [MonitorDocument], bundle: ModelBundle, model: String, labels: [LabelRange]
    ) async throws {
        let spans = windows.compactMap { w -> (from: Double, to: Double)? in
            guard let from = w.window.from.seconds, let to = w.window.to.seconds else { return nil }
            return (from, to)
        }
        guard let first = spans.first, let last = spans.last else { return }
        // Skip the read when no label touches the run.
        guard labels.contains(where: { $0.from < last.to && $0.to > first.from }) else { return }
        let rows = try await store.telemetry(gateway: gateway, from: first.from - Self.leadIn(bundle), to: last.to)
        guard let (table, probabilities, states) = try Self.replay(bundle: bundle, rows: rows, labels: labels)
        else { return }
        let now = Instant(seconds: clock.now().seconds).iso8601
        var r = 0
        for span in spans {
            while r < table.count && table.times[r].seconds < span.from { r += 1 }
            var compared = 0
            var correct = 0
            var confidence = 0.0
            while r < table.count && table.times[r].seconds < span.to {
                if let label = table.labels[r], let state = states[r] {
                    compared += 1
                    if state == (label == 1) { correct += 1 }
                    confidence += max(probabilities[r], 1 - probabilities[r])
                }
                r += 1
            }
            guard compared > 0 else { continue }
            let n = Double(compared)
            try await store.setRealised(
                gateway: gateway, windowFrom: span.from,
                .init(
                    accuracy: Double(correct) / n, rows: compared, expectedAccuracy: confidence / n, model: model,
                    computedAt: now))
        }
    }

    /// How far before a span the replay starts reading telemetry: the bundle's longest feature window and its
    /// hysteresis need rows before the first one that counts.
    static func leadIn(_ bundle: ModelBundle) -> Double {
        let policy = bundle.manifest.policy
        let longest = bundle.manifest.features.features.compactMap(\.window).max() ?? 0
        return max(3600, 2 * longest, 2 * max(policy.occupiedAfter, policy.vacantAfter))
    }

    /// What the gateway decides for these telemetry rows with `bundle`: the rows as a table (labels joined), each
    /// row's probability (NaN where the model cannot score it) and its state after the bundle's threshold and
    /// hysteresis (nil where unscored). Nil when there are no rows or a channel the bundle needs is missing.
    static func replay(bundle: ModelBundle, rows: [TelemetryRow], labels: [LabelRange]) throws -> (
        table: LabelledTable, probabilities: [Double], states: [Bool?]
    )? {
        let policy = bundle.manifest.policy
        let table = TrainingData.table(rows: rows, labels: labels)
        guard table.count > 0,
            bundle.manifest.features.channels.allSatisfy({ table.channels.contains($0) })
        else { return nil }
        let probabilities = try ModelEvaluation.scores(bundle: bundle, table: table)
        var hysteresis = Hysteresis(occupiedAfter: policy.occupiedAfter, vacantAfter: policy.vacantAfter)
        var states = [Bool?](repeating: nil, count: table.count)
        for r in 0..<table.count where !probabilities[r].isNaN {
            states[r] = hysteresis.update(raw: probabilities[r] >= policy.threshold, at: table.times[r])
        }
        return (table, probabilities, states)
    }

    /// `model:<id>@<version>` (with or without a `(note)`): the id, the version and the reference without the note.
    static func modelReference(_ decidedBy: String?) -> (id: String, version: Int, text: String)? {
        guard let decidedBy, decidedBy.hasPrefix("model:") else { return nil }
        let reference = decidedBy.split(separator: " ", maxSplits: 1).first.map(String.init) ?? decidedBy
        guard let at = reference.lastIndex(of: "@"), let version = Int(reference[reference.index(after: at)...])
        else { return nil }
        let id = String(reference[reference.index(reference.startIndex, offsetBy: 6)..<at])
        return id.isEmpty ? nil : (id, version, reference)
    }

    /// The registry's bundle `id@version` of `scope`, nil when the registry has no such model (an imported model
    /// installed by hand) or its artifact cannot be read.
    func bundle(scope: String, id: String, version: Int) async throws -> ModelBundle? {
        guard
            let record = try await store.models(scope: scope).first(where: {
                $0.modelID == id && $0.version == version
            })
        else { return nil }
        do {
            return try ModelBundle.decode(try artifacts.get(sha256: record.sha256))
        } catch {
            logger.error("reading \(id)@\(version) to replay it: \(error)")
            return nil
        }
    }
}
