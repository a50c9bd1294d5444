/// The inputs a scorer used for one score, kept the way the scorer holds them (the rule's one value, a model's
/// feature vector in schema order) and turned into names and values only when a decision is published.
///
/// A sequence of `(key: name, value:)` pairs, like the dictionary it stands for: a missing feature (NaN) is left out.
/// Two inputs are equal when they name the same values, however they are held.
public struct ScoreInputs: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: ChannelValue)

    enum Storage: Sendable {
        case one(String, ChannelValue)
        /// Parallel arrays: names in schema order and the feature vector (NaN = missing).
        case features(names: [String], values: [Double])
        case pairs([Element])
    }

    let storage: Storage

    /// No inputs.
    public static let none = ScoreInputs(storage: .pairs([]))

    init(storage: Storage) { self.storage = storage }

    /// One named value (the static rule).
    public static func one(_ name: String, _ value: ChannelValue) -> ScoreInputs {
        ScoreInputs(storage: .one(name, value))
    }

    /// A feature vector and its names, in schema order; NaN values are missing. Holding `values` shares the
    /// caller's storage (no copy).
    public static func features(names: [String], values: [Double]) -> ScoreInputs {
        precondition(names.count == values.count, "one name per feature")
        return ScoreInputs(storage: .features(names: names, values: values))
    }

    /// A model's feature vector in schema order (NaN = missing), shared with the scorer; nil for other inputs.
    public var featureValues: [Double]? {
        if case .features(_, let values) = storage { return values }
        return nil
    }

    public init(_ dictionary: [String: ChannelValue]) {
        storage = .pairs(dictionary.map { ($0.key, $0.value) })
    }

    public init(dictionaryLiteral elements: (String, ChannelValue)...) {
        storage = .pairs(elements.map { (key: $0.0, value: $0.1) })
    }

    /// Name → value.
    public var dictionary: [String: ChannelValue] {
        Dictionary(map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// The value of one input, nil when it is missing.
    public subscript(name: String) -> ChannelValue? {
        first { $0.key == name }?.value
    }

    public var isEmpty: Bool {
        var iterator = makeIterator()
        return iterator.next() == nil
    }

    public func makeIterator() -> Iterator { Iterator(storage: storage) }

    public struct Iterator: IteratorProtocol {
        let storage: Storage
        var index = 0

        public mutating func next() -> Element? {
            switch storage {
            case .one(let name, let value):
                defer { index += 1 }
                return index == 0 ? (name, value) : nil
            case .features(let names, let values):
                while index < values.count {
                    defer { index += 1 }
                    if !values[index].isNaN { return (names[index], .number(values[index])) }
                }
                return nil
            case .pairs(let pairs):
                defer { index += 1 }
                return index < pairs.count ? pairs[index] : nil
            }
        }
    }

    public static func == (lhs: ScoreInputs, rhs: ScoreInputs) -> Bool { lhs.dictionary == rhs.dictionary }
}
