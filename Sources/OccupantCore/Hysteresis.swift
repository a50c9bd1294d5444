/// Debounces the raw decision: the published state flips only after the raw decision has held the other way
/// for `occupiedAfter` (vacant → occupied) or `vacantAfter` (occupied → vacant) seconds.
///
/// `vacantAfter` is what keeps a room that sits still from going dark; `occupiedAfter` filters ghost detections.
public struct Hysteresis: Sendable, Equatable {
    public var occupiedAfter: Double
    public var vacantAfter: Double

    public private(set) var state: Bool?
    private var pending: Bool?
    private var pendingSince: Instant?

    public init(occupiedAfter: Double = 0, vacantAfter: Double = 0) {
        precondition(occupiedAfter >= 0 && vacantAfter >= 0, "hysteresis times are non-negative")
        self.occupiedAfter = occupiedAfter
        self.vacantAfter = vacantAfter
    }

    /// Starts from `state` (a scorer being replaced) instead of taking the first raw decision as is.
    public mutating func resume(from state: Bool?) {
        self.state = state
        pending = nil
        pendingSince = nil
    }

    /// Feeds the raw decision at `at`; returns the debounced state.
    public mutating func update(raw: Bool, at: Instant) -> Bool {
        guard let current = state else {
            // The first decision is taken as is: there is nothing to debounce against.
            state = raw
            return raw
        }
        if raw == current {
            pending = nil
            pendingSince = nil
            return current
        }
        if pending != raw {
            pending = raw
            pendingSince = at
        }
        let hold = raw ? occupiedAfter : vacantAfter
        if let since = pendingSince, at - since >= hold {
            state = raw
            pending = nil
            pendingSince = nil
            return raw
        }
        return current
    }
}
