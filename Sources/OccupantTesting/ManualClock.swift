import OccupantCore
import Synchronization

/// A clock that moves only when told to: `sleep` advances it instantly.
public final class ManualClock: GatewayClock {
    private let current: Mutex<Instant>

    public init(_ start: Instant = Instant(seconds: 1_767_600_000)) { current = Mutex(start) }

    public func now() -> Instant { current.withLock { $0 } }

    public func advance(_ seconds: Double) { current.withLock { $0 = $0 + seconds } }

    public func set(_ instant: Instant) { current.withLock { $0 = instant } }

    public func sleep(seconds: Double) async throws {
        try Task.checkCancellation()
        advance(max(0, seconds))
        await Task.yield()
    }
}
