/// Any JSON value through `Codable`: how a fleet document carries a part whose shape it does not fix (a model's
/// evaluation report in the registry listing). Objects keep the order they were built in when encoded (an encoder
/// with `.sortedKeys` sorts them); decoded objects come in the decoder's order.
extension JSON: Codable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSON] = []
            while !array.isAtEnd { items.append(try array.decode(JSON.self)) }
            self = .array(items)
        } else if let object = try? decoder.container(keyedBy: Key.self) {
            self = .object(try object.allKeys.map { Member($0.stringValue, try object.decode(JSON.self, forKey: $0)) })
        } else {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                self = .null
            } else if let b = try? c.decode(Bool.self) {
                self = .bool(b)
            } else if let n = try? c.decode(Double.self) {
                self = .number(n)
            } else {
                self = .string(try c.decode(String.self))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .number(let n):
            var c = encoder.singleValueContainer()
            if n == n.rounded(), abs(n) < 9e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(item) }
        case .object(let members):
            var c = encoder.container(keyedBy: Key.self)
            for m in members { try c.encode(m.value, forKey: Key(stringValue: m.key)) }
        }
    }

    /// The number, or nil for any other value.
    public var number: Double? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// The string, or nil for any other value.
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}
