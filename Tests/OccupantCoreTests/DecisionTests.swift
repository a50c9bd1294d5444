import Testing

@testable import OccupantCore

@Suite struct DecisionTests {
    func sample(_ t: Double, sound: Double?, reason: String? = nil) -> Sample {
        Sample(
            at: Instant(seconds: t),
            readings: [
                Reading(
                    channel: "sound", value: sound.map { .number($0) },
                    unavailable: sound == nil ? (reason ?? "no acknowledge") : nil)
            ])
    }

    @Test func staticRuleIsSoundAboveThreshold() {
        var rule = StaticRule(channel: "sound", threshold: 10)
        #expect(rule.id == "rule:sound>10")
        #expect(rule.score(sample(0, sound: 10)) == .probability(0, inputs: ["sound": .number(10)]))
        #expect(rule.score(sample(1, sound: 11)) == .probability(1, inputs: ["sound": .number(11)]))
    }

    @Test func staticRuleGoesStaleInsteadOfGuessing() {
        var rule = StaticRule(channel: "sound", threshold: 10, staleAfter: 5)
        guard case .stale(let first) = rule.score(sample(0, sound: nil, reason: "ADS1115 at 0x48: no acknowledge"))
        else {
            Issue.record("expected stale before any reading")
            return
        }
        #expect(first.contains("no acknowledge"))
        #expect(rule.score(sample(1, sound: 20)) == .probability(1, inputs: ["sound": .number(20)]))
        // A missing sample within staleAfter reuses the last valid value…
        #expect(rule.score(sample(4, sound: nil)) == .probability(1, inputs: ["sound": .number(20)]))
        // …and past it the rule says stale, naming the channel and the reason.
        guard case .stale(let reason) = rule.score(sample(7, sound: nil, reason: "CRC mismatch")) else {
            Issue.record("expected stale after 6 s without a reading")
            return
        }
        #expect(reason.contains("sound") && reason.contains("CRC mismatch"))
    }

    @Test func hysteresisHoldsEachStateForItsTime() {
        var h = Hysteresis(occupiedAfter: 2, vacantAfter: 10)
        #expect(h.update(raw: false, at: Instant(seconds: 0)) == false)
        #expect(h.update(raw: true, at: Instant(seconds: 1)) == false) // needs 2 s of "occupied"
        #expect(h.update(raw: false, at: Instant(seconds: 2)) == false) // a blip resets it
        #expect(h.update(raw: true, at: Instant(seconds: 3)) == false)
        #expect(h.update(raw: true, at: Instant(seconds: 5)) == true)
        #expect(h.update(raw: false, at: Instant(seconds: 6)) == true) // quiet for 1 s: still occupied
        #expect(h.update(raw: true, at: Instant(seconds: 12)) == true) // talk resets the vacancy timer
        #expect(h.update(raw: false, at: Instant(seconds: 13)) == true)
        #expect(h.update(raw: false, at: Instant(seconds: 22)) == true)
        #expect(h.update(raw: false, at: Instant(seconds: 23)) == false) // 10 s of quiet
    }

    @Test func engineReportsStaleWithNullOccupancyAndHealth() {
        var engine = DecisionEngine(scorer: StaticRule(staleAfter: 1), hysteresis: Hysteresis())
        var s = sample(0, sound: nil)
        s.readings[0].health = .degraded
        let d = engine.decide(s)
        #expect(d.roomOccupancy == nil)
        #expect(d.probability == nil)
        #expect(d.stale != nil)
        #expect(d.health == ["sound": .degraded])
        #expect(d.decidedBy == "rule:sound>10")
    }

    @Test func replacingTheScorerKeepsTheDebouncedState() {
        var engine = DecisionEngine(scorer: StaticRule(), hysteresis: Hysteresis(vacantAfter: 60))
        _ = engine.decide(sample(0, sound: 50))
        engine.replace(
            scorer: StaticRule(channel: "sound", threshold: 100), hysteresis: Hysteresis(vacantAfter: 60), note: "test")
        let d = engine.decide(sample(1, sound: 50))
        #expect(d.roomOccupancy == true) // raw says vacant now, but vacantAfter has not passed
        #expect(d.decidedBy == "rule:sound>100 (test)")
    }
}
