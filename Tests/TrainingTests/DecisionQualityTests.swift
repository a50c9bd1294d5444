import OccupantCore
import Testing

@testable import Training

@Test func calibrationBinsAndErrorsByHand() {
    // Bin 0.0–0.1: p 0.05 ×2, one occupied (gap |0.05 − 0.5| = 0.45); bin 0.9–1.0: p 0.95 ×2, both occupied (gap 0.05).
    // p = 1.0 falls in the last bin, not an eleventh.
    let c = CalibrationSummary(probabilities: [0.05, 0.05, 0.95, 1.0, .nan], labels: [0, 1, 1, 1, 1])
    #expect(c.bins.count == 10 && c.bins[0].count == 2 && c.bins[9].count == 2)
    #expect(c.bins[0].observedRate == 0.5 && c.bins[9].observedRate == 1)
    #expect(c.bins[5].count == 0 && c.bins[5].meanProbability == nil)
    #expect(abs(c.ece - (2 * 0.45 + 2 * 0.025) / 4) < 1e-12)
    let brier = (0.05 * 0.05 + 0.95 * 0.95 + 0.05 * 0.05 + 0) / 4
    #expect(abs(c.brier - brier) < 1e-12)
}

@Test func eventsCountFlickerAndLatencyAsPublished() {
    // One row a minute for 2 days' worth of minutes is not needed: 20 rows, labels vacant 0–4, occupied 5–14, vacant
    // 15–19. The model: a flicker at row 2, notices the onset 2 rows late, the clear at once.
    let times = (0..<20).map { Instant(seconds: 1_700_000_000 + Double($0) * 60) }
    let labels: [UInt8?] = (0..<20).map { (5..<15).contains($0) ? 1 : 0 }
    var p = [Double](repeating: 0.1, count: 20)
    p[2] = 0.9
    for i in 7..<15 { p[i] = 0.9 }
    let e = EventSummary(
        times: times, probabilities: p, labels: labels, threshold: 0.5, hysteresis: Hysteresis())
    // Published: 0 0 1 0 0 0 0 1 … 1 0 …: changes at rows 2 (false), 3, 7 and 15.
    #expect(e.publishedTransitions == 4 && e.falseTransitions == 1)
    #expect(e.onsets == 1 && e.missedOnsets == 0 && e.onsetLatencyP50Seconds == 120)
    #expect(e.clears == 1 && e.missedClears == 0 && e.clearLatencyP50Seconds == 0)
    #expect(abs(e.days - 19 * 60 / 86_400) < 1e-12)

    // With the bundle's hysteresis (vacant after 3 minutes) the clear is published 3 minutes late.
    let held = EventSummary(
        times: times, probabilities: p, labels: labels, threshold: 0.5,
        hysteresis: Hysteresis(occupiedAfter: 0, vacantAfter: 180))
    #expect(held.clearLatencyP50Seconds == 180)
    // The flicker at row 2 is held for 3 minutes, so it goes vacant at row 6, inside the labelled occupancy: a second
    // false change, undone at row 7.
    #expect(held.falseTransitions == 2 && held.onsetLatencyP50Seconds == 0)
}

@Test func aChangeTheModelNeverFollowsIsMissed() {
    let times = (0..<10).map { Instant(seconds: Double($0) * 60) }
    let labels: [UInt8?] = [0, 0, 1, 1, 0, 0, nil, 0, 0, 0]
    let e = EventSummary(
        times: times, probabilities: [Double](repeating: 0.2, count: 10), labels: labels, threshold: 0.5,
        hysteresis: Hysteresis())
    #expect(e.onsets == 1 && e.missedOnsets == 1 && e.onsetLatencyP50Seconds == nil)
    #expect(e.clears == 1 && e.missedClears == 0 && e.publishedTransitions == 0)
    #expect(EventSummary.percentile([5, 1, 3, 2, 4], 0.5) == 3 && EventSummary.percentile([5, 1, 3, 2, 4], 0.95) == 5)
}
