import FleetProtocol
import Testing

@testable import Gateway

/// The override spans a monitor window reports: opened and closed by what was published, cut at the window's end and
/// carried on into the next window.
@Test func overrideSpansFollowWhatWasPublished() {
    var spans = OverrideSpans()
    spans.note(forced: nil, at: 0)
    #expect(spans.close(at: 10) == nil)
    spans.note(forced: true, at: 12)
    spans.note(forced: true, at: 13)
    spans.note(forced: false, at: 15)
    spans.note(forced: nil, at: 17)
    spans.note(forced: true, at: 18)
    let first = spans.close(at: 20)
    #expect(first?.map { [$0.from.seconds!, $0.to.seconds!] } == [[12, 15], [15, 17], [18, 20]])
    #expect(first?.map(\.occupied) == [true, false, true])
    // Still forced: the next window starts with it.
    spans.note(forced: nil, at: 25)
    let second = spans.close(at: 30)
    #expect(second?.map { [$0.from.seconds!, $0.to.seconds!] } == [[20, 25]])
    #expect(spans.close(at: 40) == nil)
}
