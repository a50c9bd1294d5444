import OccupantCore

/// A reading as JSON carries it: a number, a string (categorical), or null. Booleans and nested values are refused.
public struct JSONReading: Codable, Sendable, Equatable, CustomStringConvertible {
    public var value: ChannelValue?

    public init(_ value: ChannelValue?) {
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            value = nil
        } else if (try? c.decode(Bool.self)) != nil {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "a boolean is not a reading")
        } else if let n = try? c.decode(Double.self) {
            value = .number(n)
        } else if let s = try? c.decode(String.self) {
            value = .category(s)
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "a reading is a number, a string or null")
        }
    }

    /// A non-finite number is written as null (JSON has no spelling for it), as the gateway's writer does.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch value {
        case .number(let n) where n.isFinite: try c.encode(n)
        case .category(let s): try c.encode(s)
        default: try c.encodeNil()
        }
    }

    /// `12.5`, `3`, `heating`, or `null`.
    public var description: String {
        switch value {
        case .number(let n): n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .category(let s): s
        case nil: "null"
        }
    }
}

extension Dictionary where Key == String, Value == JSONReading {
    /// Channel → value, nil where there was no reading.
    public var channelValues: [String: ChannelValue?] { mapValues(\.value) }
}
