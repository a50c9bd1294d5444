import Foundation
import OccupantCore
import Synchronization

/// Once per event across a fleet's processes: the process that claims an event's key first acts on it (moves a
/// rollout on and tells its gateways); the others, which saw the same state, leave it.
public protocol EventLedger: Sendable {
    /// True for the first claim of `key` (by any process), false for every later one.
    func claim(_ key: String) async throws -> Bool
}

/// One process's ledger (the SQLite store): the keys claimed, in memory.
public final class InProcessEventLedger: EventLedger {
    private let claimed = Mutex<Set<String>>([])

    public init() {}

    public func claim(_ key: String) -> Bool {
        claimed.withLock { $0.insert(key).inserted }
    }
}

extension ModelRegistry {
    /// The ledger the store implies: PostgreSQL's `events` table (several processes), else one in memory.
    static func eventLedger(store: any ServerStore) -> any EventLedger {
        if let pg = store as? PostgresStore { return PostgresEventLedger(store: pg) }
        return InProcessEventLedger()
    }

    /// A step of the rollout as it stands (its version, start, wave and when the wave was offered): the key of the
    /// one event a step makes, whichever process takes it.
    static func rolloutEvent(_ r: Rollout, _ step: String) -> String {
        "rollout \(r.scope) v\(r.version) started \(r.started) wave \(r.reached) at \(r.reachedAt): \(step)"
    }
}
