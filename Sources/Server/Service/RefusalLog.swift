/// Which MQTT refusals to log: each distinct one once, in bounded memory. Random gateway ids on the topics would
/// otherwise grow the set of refusals seen (and the log) without bound: past `capacity` distinct refusals, new ones
/// are only counted, and the count is logged at 1, 10, 100, … suppressed.
public struct RefusalLog: Sendable {
    public enum Action: Sendable, Equatable {
        /// Log this refusal.
        case log
        /// Seen before, or suppressed without a word.
        case quiet
        /// Log that this many refusals have been suppressed so far.
        case suppressed(Int)
    }

    public let capacity: Int
    private var seen = Set<String>()
    public private(set) var suppressed = 0

    public init(capacity: Int = 1024) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Distinct refusals remembered (at most `capacity`).
    public var count: Int { seen.count }

    /// What to do with a refusal whose identity is `key` (keys are cut to 200 bytes).
    public mutating func note(_ key: String) -> Action {
        let key = String(key.utf8.prefix(200)) ?? String(key.prefix(100))
        if seen.contains(key) { return .quiet }
        guard seen.count < capacity else {
            suppressed += 1
            var n = suppressed
            while n % 10 == 0 { n /= 10 }
            return n == 1 ? .suppressed(suppressed) : .quiet
        }
        seen.insert(key)
        return .log
    }
}
