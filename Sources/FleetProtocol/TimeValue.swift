import OccupantCore

/// `at`, `from`, `to`: ISO-8601 text or Unix seconds when read; ISO-8601 (UTC, milliseconds) when written.
public struct TimeValue: Codable, Sendable, Equatable {
    /// Unix seconds; nil when the text was neither ISO-8601 nor a number.
    public var seconds: Double?

    public init(seconds: Double) {
        self.seconds = seconds
    }

    public init(_ instant: Instant) {
        self.seconds = instant.seconds
    }

    public init(text: String) {
        seconds = Instant(iso8601: text)?.seconds ?? Double(text)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Double.self) {
            self.init(seconds: n)
        } else {
            self.init(text: try c.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let seconds { try c.encode(Instant(seconds: seconds).iso8601) } else { try c.encodeNil() }
    }

    public var instant: Instant? { seconds.map(Instant.init(seconds:)) }
}
