/// JSON written straight into a byte buffer, spelled exactly as `JSON.write(to:)` spells it: for payloads written
/// every cycle into a buffer that keeps its capacity (no JSON tree, no intermediate strings).
public enum JSONBytes {
    /// `null`, `true` / `false`.
    public static func write(_ value: Bool?, into out: inout [UInt8]) {
        switch value {
        case nil: out.append(contentsOf: "null".utf8)
        case true?: out.append(contentsOf: "true".utf8)
        case false?: out.append(contentsOf: "false".utf8)
        }
    }

    /// A number as `JSON.finite(value)` writes it: `null` for nil, NaN and infinities; integers without a fraction.
    public static func write(_ value: Double?, into out: inout [UInt8]) {
        guard let n = value, n.isFinite else {
            out.append(contentsOf: "null".utf8)
            return
        }
        if n == n.rounded(), abs(n) < 1e15 {
            write(integer: Int64(n), into: &out)
        } else {
            // The shortest round-trip spelling, as `JSON` writes it (a small string up to 15 characters).
            out.append(contentsOf: String(n).utf8)
        }
    }

    /// A channel value as `ChannelValue.json` writes it.
    public static func write(_ value: ChannelValue, into out: inout [UInt8]) {
        switch value {
        case .number(let n): write(n, into: &out)
        case .category(let c): write(string: c, into: &out)
        }
    }

    public static func write(integer value: Int64, into out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        var divisor: UInt64 = 1
        while divisor <= magnitude / 10 { divisor *= 10 }
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8((magnitude / divisor) % 10))
            divisor /= 10
        }
    }

    /// A string with `JSON`'s escapes (`\"`, `\\`, `\n`, `\r`, `\t`, `\u00xx` for other control characters).
    public static func write(string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
            case let c where c < 0x20:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex(c >> 4))
                out.append(hex(c & 0xF))
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `"2026-11-22T08:30:00.000Z"`, as `Instant.iso8601` spells it, quoted.
    public static func write(_ instant: Instant, into out: inout [UInt8]) {
        let (year, month, day, millisOfDay) = instant.utcDate
        guard (0...9999).contains(year) else {
            write(string: instant.iso8601, into: &out)
            return
        }
        out.append(UInt8(ascii: "\""))
        digits(year, 4, into: &out)
        out.append(UInt8(ascii: "-"))
        digits(month, 2, into: &out)
        out.append(UInt8(ascii: "-"))
        digits(day, 2, into: &out)
        out.append(UInt8(ascii: "T"))
        digits(millisOfDay / 3_600_000, 2, into: &out)
        out.append(UInt8(ascii: ":"))
        digits((millisOfDay / 60_000) % 60, 2, into: &out)
        out.append(UInt8(ascii: ":"))
        digits((millisOfDay / 1000) % 60, 2, into: &out)
        out.append(UInt8(ascii: "."))
        digits(millisOfDay % 1000, 3, into: &out)
        out.append(contentsOf: "Z\"".utf8)
    }

    /// `value` (0 ≤ value < 10^width) in exactly `width` digits.
    private static func digits(_ value: Int64, _ width: Int, into out: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8((value / divisor) % 10))
            divisor /= 10
        }
    }

    private static func hex(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
