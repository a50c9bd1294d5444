/// The seam for "what time is it now" where nothing sleeps on the clock (the server's schedules, receipts and
/// alerts): the real clock in production, a manual one in tests.
public protocol WallClock: Sendable {
    /// The current time.
    func now() -> Instant
}

extension SystemClock: WallClock {}
extension ScaledClock: WallClock {}
