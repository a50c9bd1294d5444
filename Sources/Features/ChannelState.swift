import OccupantCore

/// What the pipeline remembers about one channel between samples: its latest valid number, its latest valid value
/// as a category, and when that category last changed.
struct ChannelState: Sendable {
    let name: String
    /// Windows fed by this channel's numbers.
    var windows: [Int] = []

    private(set) var lastNumber = Double.nan
    /// `-infinity` until a valid number is seen.
    private(set) var lastNumberAt = -Double.infinity

    private(set) var lastCategory: ChannelValue?
    private(set) var lastCategoryAt = -Double.infinity
    /// When the category last changed; `-infinity` until a change is seen.
    private(set) var changedAt = -Double.infinity

    init(name: String) {
        self.name = name
    }

    /// Records this sample's value (nil = unavailable). A non-finite number counts as unavailable.
    /// Returns the number to push into the channel's windows, if any.
    mutating func observe(_ value: ChannelValue?, at t: Double) -> Double? {
        switch value {
        case .none:
            return nil
        case .number(let v):
            guard v.isFinite else { return nil }
            lastNumber = v
            lastNumberAt = t
            observeCategory(.number(v), at: t)
            return v
        case .category(let c):
            observeCategory(.category(c), at: t)
            return nil
        }
    }

    private mutating func observeCategory(_ value: ChannelValue, at t: Double) {
        if let previous = lastCategory, previous != value { changedAt = t }
        lastCategory = value
        lastCategoryAt = t
    }

    /// Forgets everything (after time went backwards).
    mutating func reset() {
        lastNumber = .nan
        lastNumberAt = -.infinity
        lastCategory = nil
        lastCategoryAt = -.infinity
        changedAt = -.infinity
    }
}
