import OccupantCore

/// The Home Assistant override select: `auto` lets the scorer decide; `occupied` or `empty` forces the published
/// decision (`decidedBy: "override"`) until `maxDuration` of the gateway clock has passed, then returns to `auto`.
public struct Override: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        case auto
        case occupied
        case empty
    }

    /// What published decisions say while an override is in force.
    public static let decidedBy = "override"

    public private(set) var mode: Mode = .auto
    /// When `mode` returns to `auto`; nil in `auto`.
    public private(set) var until: Instant?
    public let maxDuration: Double

    public init(maxDuration: Double) {
        precondition(maxDuration > 0, "an override lasts a positive time")
        self.maxDuration = maxDuration
    }

    /// The occupancy forced on published decisions, nil in `auto`.
    public var forced: Bool? {
        switch mode {
        case .auto: nil
        case .occupied: true
        case .empty: false
        }
    }

    /// Sets the mode at `now`; `occupied` and `empty` (again) run for `maxDuration` from now.
    public mutating func set(_ mode: Mode, at now: Instant) {
        self.mode = mode
        until = mode == .auto ? nil : now + maxDuration
    }

    /// Returns to `auto` when the override has run out; true when it did just now.
    public mutating func expire(at now: Instant) -> Bool {
        guard let until, now >= until else { return false }
        set(.auto, at: now)
        return true
    }
}

/// What the published occupancy did: when it last changed (a correction labels the span since then) and how long the
/// room has been occupied without a break (the "occupied too long" guard).
public struct OccupancyHistory: Sendable, Equatable {
    /// When the history began (the gateway's start), the earliest a correction reaches back.
    public let start: Instant
    /// Seconds of continuous occupancy after which `alert` is set; nil turns the guard off.
    public let maxOccupied: Double?
    public private(set) var occupied: Bool?
    public private(set) var lastChange: Instant?
    /// Since when the room has been occupied (a stale stretch does not end it; a vacant decision does).
    public private(set) var occupiedSince: Instant?
    /// The warning while the room has been occupied for longer than `maxOccupied`, else nil.
    public private(set) var alert: String?

    public init(start: Instant, maxOccupied: Double?) {
        self.start = start
        self.maxOccupied = maxOccupied
    }

    /// Feeds one published occupancy; returns true when `alert` was just raised (false when cleared or unchanged).
    public mutating func observe(_ occupancy: Bool?, at now: Instant) -> Bool {
        if occupancy != occupied {
            lastChange = now
            occupied = occupancy
        }
        switch occupancy {
        case true?:
            if occupiedSince == nil { occupiedSince = now }
        case false?:
            occupiedSince = nil
            alert = nil
        case nil:
            break
        }
        guard alert == nil, let limit = maxOccupied, let since = occupiedSince, now - since > limit else {
            return false
        }
        alert =
            "occupied without a break since \(since.iso8601) (\(spokenDuration(now - since))), longer than "
            + "homeAssistant.maxOccupied (\(spokenDuration(limit)))"
        return true
    }

    /// The span a correction pressed at `now` labels: from the last change (or the start) but at most `window` back.
    public func correctionSpan(at now: Instant, window: Double) -> (from: Instant, to: Instant) {
        let since = lastChange ?? start
        return (max(since, now + -window), now)
    }
}

/// `3h 05m`, `12m`, `40s`.
func spokenDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s >= 3600 {
        let minutes = (s % 3600) / 60
        return "\(s / 3600)h \(minutes < 10 ? "0" : "")\(minutes)m"
    }
    if s >= 60 { return "\(s / 60)m" }
    return "\(s)s"
}
