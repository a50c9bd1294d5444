import OccupantCore

/// What decided before a model became active: what the loop switches back to when a guard rolls the model back.
public struct ProbationFallback: Sendable {
    public var scorer: any OccupancyScorer
    public var hysteresis: Hysteresis?
    public var note: String?
    /// The previous model; nil for the rule.
    public var subject: ProbationSubject?

    public init(
        scorer: any OccupancyScorer, hysteresis: Hysteresis?, note: String?, subject: ProbationSubject?
    ) {
        self.scorer = scorer
        self.hysteresis = hysteresis
        self.note = note
        self.subject = subject
    }

    /// What `engine` decides with now (its model, if any, is watched after a switch back, without probation).
    init(_ engine: DecisionEngine, subject: ProbationSubject?) {
        self.scorer = engine.scorer
        self.hysteresis = engine.hysteresis
        self.note = engine.note
        self.subject = subject.map {
            var s = $0
            s.onProbation = false
            return s
        }
    }
}

extension GatewayLoop {
    /// The guards' part of a cycle: judge the decision; on a rollback switch back and decide this sample again with
    /// what decided before; never let a probability that is not one through; end probation when it is due. True when
    /// it switched the engine back.
    @discardableResult
    func applyGuards(
        _ guards: inout Probation, _ decision: inout Decision, _ engine: inout DecisionEngine,
        _ fallback: inout ProbationFallback?, sample: Sample, at now: Instant
    ) -> Bool {
        var switched = false
        if let trip = guards.check(decision, at: now), apply(trip, &guards, &engine, &fallback, at: now) {
            decision = engine.decide(sample)
            switched = true
        }
        if let p = decision.probability, !Probation.isProbability(p) {
            decision.roomOccupancy = nil
            decision.probability = nil
            decision.stale = "broken output from \(engine.decidedBy): the probability is \(p)"
        }
        if guards.passIfDue(at: now), let subject = guards.subject {
            recorder?.passed(subject, duration: probationSettings.duration)
            // Nothing to switch back to after probation unless configured: the previous model's memory is freed.
            if !probationSettings.rollbackAfterProbation { fallback = nil }
        }
        return switched
    }

    /// Acts on a tripped guard: switches back (true) or alerts.
    @discardableResult
    func apply(
        _ trip: Probation.Trip, _ guards: inout Probation, _ engine: inout DecisionEngine,
        _ fallback: inout ProbationFallback?, at now: Instant
    ) -> Bool {
        guard let subject = guards.subject else { return false }
        guard trip.rollback, let back = fallback else {
            recorder?.alert(subject, trip, at: now)
            return false
        }
        engine.replace(scorer: back.scorer, hysteresis: back.hysteresis, note: back.note)
        guards.watch(back.subject, at: now)
        fallback = nil
        recorder?.rolledBack(subject, to: back.subject, trip, at: now)
        return true
    }
}
