import FleetProtocol

extension Intake {
    /// A monitor window's `shadow` section: shares in 0…1, counts not negative, at most `ShadowWindow.maxRuns` runs,
    /// each with at least one sample over finite, ordered times inside the window.
    func checkShadow(_ s: ShadowWindow, window: ClosedRange<Double>) throws(IntakeError) {
        guard s.model.utf8.count <= 300, s.sha256.utf8.count <= 64 else {
            throw IntakeError(400, "monitor: shadow.model or shadow.sha256 is too long")
        }
        for (name, share) in [
            ("agreement", s.agreement), ("meanProbability", s.meanProbability),
            ("expectedAccuracy", s.expectedAccuracy), ("bundleAccuracy", s.bundleAccuracy),
        ] {
            if let share, !(share.isFinite && (0...1).contains(share)) {
                throw IntakeError(400, "monitor: shadow.\(name) is \(share); it lies in 0…1")
            }
        }
        guard s.scored >= 0, s.compared >= 0, s.transitions >= 0, s.stale >= 0 else {
            throw IntakeError(400, "monitor: 'shadow' has a negative count")
        }
        guard s.runs.count <= ShadowWindow.maxRuns else {
            throw IntakeError(400, "monitor: shadow.runs has \(s.runs.count) runs; at most \(ShadowWindow.maxRuns)")
        }
        for (feature, drift) in (s.drift ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard feature.utf8.count <= 200, drift.score.isFinite, drift.threshold?.isFinite ?? true else {
                throw IntakeError(400, "monitor: shadow.drift has a bad feature name, score or threshold")
            }
        }
        // The window's bounds with a second's slack either side (a sample at the window's edge).
        let bounds = (window.lowerBound - 1)...(window.upperBound + 1)
        for (i, run) in s.runs.enumerated() {
            guard run.n >= 1, run.from.isFinite, run.to.isFinite, run.from <= run.to, bounds.contains(run.from),
                bounds.contains(run.to)
            else {
                throw IntakeError(
                    400, "monitor: shadow.runs[\(i)] needs n ≥ 1 and from ≤ to inside the window")
            }
        }
    }
}
