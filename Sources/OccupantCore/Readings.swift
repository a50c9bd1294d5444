#if canImport(Glibc)
    import Glibc
#endif

/// A decoded channel value: a number in the channel's units, or a category such as an HVAC mode.
public enum ChannelValue: Hashable, Sendable, CustomStringConvertible {
    case number(Double)
    case category(String)

    public var number: Double? {
        if case .number(let v) = self { return v }
        return nil
    }

    public var category: String? {
        if case .category(let c) = self { return c }
        return nil
    }

    public var description: String {
        switch self {
        case .number(let v): return formatNumber(v)
        case .category(let c): return c
        }
    }
}

/// HVAC modes, Occupant's canonical names.
public enum HVACMode: String, CaseIterable, Sendable {
    case heating, cooling, fan, standby, off
}

/// How a channel is doing over recent samples. Published with every decision.
public enum ChannelHealth: String, Sendable, Comparable {
    case ok, degraded, failed

    private var rank: Int {
        switch self {
        case .ok: return 0
        case .degraded: return 1
        case .failed: return 2
        }
    }

    public static func < (lhs: ChannelHealth, rhs: ChannelHealth) -> Bool { lhs.rank < rhs.rank }
}

/// One channel's reading at one sample: a value, or the reason there is none.
public struct Reading: Sendable, Equatable {
    public var channel: String
    public var value: ChannelValue?
    /// Why `value` is nil (a NACK, a CRC mismatch, out of range, stuck).
    public var unavailable: String?
    /// The bytes the device returned for this channel's field (for `sensors read`).
    public var raw: [UInt8]
    public var health: ChannelHealth

    public init(
        channel: String, value: ChannelValue?, unavailable: String? = nil, raw: [UInt8] = [],
        health: ChannelHealth = .ok
    ) {
        self.channel = channel
        self.value = value
        self.unavailable = unavailable
        self.raw = raw
        self.health = health
    }
}

/// All channels read at one instant.
public struct Sample: Sendable, Equatable {
    public var at: Instant
    public var readings: [Reading]

    public init(at: Instant, readings: [Reading]) {
        self.at = at
        self.readings = readings
    }

    public func reading(_ channel: String) -> Reading? {
        // An index loop: scorers ask every sample, and unoptimised builds allocate for `first(where:)`'s closure.
        for i in 0..<readings.count where readings[i].channel == channel { return readings[i] }
        return nil
    }

    public func value(_ channel: String) -> ChannelValue? {
        reading(channel)?.value
    }
}

/// Formats a Double rounded to `significantDigits` significant digits (reports: "ECE 0.01934" → "0.01934" at 4,
/// "2.7183" at 5), then compactly as `formatNumber(_:)` does.
public func formatNumber(_ value: Double, significantDigits: Int) -> String {
    guard value.isFinite, value != 0 else { return formatNumber(value) }
    let magnitude = Int(log10(abs(value)).rounded(.down))
    let scale = pow(10, Double(significantDigits - 1 - magnitude))
    return formatNumber((value * scale).rounded() / scale)
}

/// Formats a Double compactly: integers without a fraction, others with up to 6 significant decimals.
public func formatNumber(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value > 0 ? "inf" : "-inf" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    var text = String(value)
    if text.contains("e" as Character) { return text }
    // Trim to at most 6 decimals.
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals > 6 {
            let scaled = (value * 1_000_000).rounded() / 1_000_000
            text = String(scaled)
        }
    }
    return text
}
