/// The health of every channel of a sample, in profile order, read from the sample's readings when asked: a decision
/// keeps this instead of building a dictionary every sample.
///
/// A sequence of `(key: channel, value: health)` pairs, like the dictionary it stands for; two lists are equal when
/// they give the same health to the same channels.
public struct ChannelHealthList: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: ChannelHealth)

    /// Shares the sample's storage: no copy.
    let readings: [Reading]

    /// The health of each reading of a sample.
    public init(_ readings: [Reading]) { self.readings = readings }

    public init(dictionaryLiteral elements: (String, ChannelHealth)...) {
        readings = elements.map { Reading(channel: $0.0, value: nil, health: $0.1) }
    }

    /// The health of one channel.
    public subscript(channel: String) -> ChannelHealth? {
        readings.first { $0.channel == channel }?.health
    }

    /// Channel → health.
    public var dictionary: [String: ChannelHealth] {
        Dictionary(map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    public var isEmpty: Bool { readings.isEmpty }

    public func makeIterator() -> Iterator { Iterator(readings: readings) }

    public struct Iterator: IteratorProtocol {
        let readings: [Reading]
        var index = 0

        public mutating func next() -> Element? {
            guard index < readings.count else { return nil }
            defer { index += 1 }
            return (readings[index].channel, readings[index].health)
        }
    }

    public static func == (lhs: ChannelHealthList, rhs: ChannelHealthList) -> Bool { lhs.dictionary == rhs.dictionary }
}
