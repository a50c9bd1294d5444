import FleetProtocol
import OccupantCore

/// The stretches of the monitor window being filled in which a person's override forced the published decision
/// (`MonitorDocument.overrides`): the training host draws them on the Gateway screen's timeline, where a replay of the
/// model cannot show them. Allocates only when an override starts or ends.
struct OverrideSpans {
    private var spans: [MonitorDocument.OverrideSpan] = []
    private var open: (from: Double, occupied: Bool)?

    /// What was published at `now`: `forced` is the override's occupancy, nil when the scorer decided.
    mutating func note(forced: Bool?, at now: Double) {
        if let o = open, o.occupied == forced { return }
        if let o = open {
            spans.append(.init(from: TimeValue(seconds: o.from), to: TimeValue(seconds: now), occupied: o.occupied))
            open = nil
        }
        if let forced { open = (now, forced) }
    }

    /// The window's spans, an override still in force cut at `now` and carried into the next window; nil when none.
    mutating func close(at now: Double) -> [MonitorDocument.OverrideSpan]? {
        if let o = open, now > o.from {
            spans.append(.init(from: TimeValue(seconds: o.from), to: TimeValue(seconds: now), occupied: o.occupied))
            open = (now, o.occupied)
        }
        defer { spans.removeAll() }
        return spans.isEmpty ? nil : spans
    }
}
