#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The clock seam. Windows, hysteresis and timestamps all read this clock, so a simulated day can run faster than real time.
public protocol GatewayClock: Sendable {
    /// The current (possibly simulated) time.
    func now() -> Instant
    /// Suspends for `seconds` of this clock's time.
    func sleep(seconds: Double) async throws
}

/// Wall-clock time, `CLOCK_REALTIME`.
public struct SystemClock: GatewayClock {
    public init() {}

    public func now() -> Instant { Instant(seconds: realtimeSeconds()) }

    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return }
        try await Task.sleep(for: .nanoseconds(Int64(seconds * 1e9)))
    }
}

/// Simulated time that starts at `start` and runs `speed` times faster than the monotonic clock.
public struct ScaledClock: GatewayClock {
    public let start: Instant
    public let speed: Double
    private let origin: ContinuousClock.Instant

    public init(start: Instant, speed: Double) {
        precondition(speed > 0, "speed must be positive")
        self.start = start
        self.speed = speed
        self.origin = ContinuousClock.now
    }

    public func now() -> Instant {
        let elapsed = ContinuousClock.now - origin
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return start + seconds * speed
    }

    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return }
        try await Task.sleep(for: .nanoseconds(Int64(seconds / speed * 1e9)))
    }
}

/// Seconds since the Unix epoch from `CLOCK_REALTIME`.
public func realtimeSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Seconds from `CLOCK_MONOTONIC`, for measuring durations.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
