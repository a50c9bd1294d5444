/// Messages waiting for the broker, bounded, with an explicit drop policy.
///
/// State messages (occupancy changes, status) are kept in preference to telemetry: when the queue is full the
/// oldest telemetry goes first, and only when there is none the oldest state message. A message with a `key`
/// replaces a queued one with the same key (a retained topic where only the latest value matters).
public struct OutboundQueue: Sendable {
    public enum Priority: Sendable { case state, telemetry }

    public struct Entry: Sendable, Equatable {
        public var message: MQTTMessage
        public var priority: Priority
        public var key: String?
    }

    public let capacity: Int
    public private(set) var entries: [Entry] = []
    public private(set) var droppedTelemetry = 0
    public private(set) var droppedState = 0

    public init(capacity: Int) {
        precondition(capacity >= 1, "queue capacity must be at least 1")
        self.capacity = capacity
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Queues `message`; returns the message dropped to make room, if any.
    @discardableResult
    public mutating func push(_ message: MQTTMessage, priority: Priority, key: String? = nil) -> MQTTMessage? {
        if let key, let index = entries.firstIndex(where: { $0.key == key }) {
            entries.remove(at: index)
        }
        var dropped: MQTTMessage?
        if entries.count >= capacity {
            if let index = entries.firstIndex(where: { $0.priority == .telemetry }) {
                dropped = entries.remove(at: index).message
                droppedTelemetry += 1
            } else if priority == .telemetry {
                // Full of state messages: the new telemetry is the one to go.
                droppedTelemetry += 1
                return message
            } else {
                dropped = entries.removeFirst().message
                droppedState += 1
            }
        }
        entries.append(Entry(message: message, priority: priority, key: key))
        return dropped
    }

    /// Removes and returns everything, oldest first.
    public mutating func drain() -> [Entry] {
        defer { entries.removeAll(keepingCapacity: true) }
        return entries
    }

    /// Puts entries back at the front (a publish failed half-way through a flush).
    public mutating func requeue(_ failed: [Entry]) {
        let room = max(0, capacity - entries.count)
        entries.insert(contentsOf: failed.suffix(room), at: 0)
    }
}
