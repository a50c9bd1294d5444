import OccupantCore

/// Reads a telemetry row's `readings` column (`encodeReadings`: `{"co2":812,"hvac":"heating","sound":null}`) without
/// `JSONDecoder`, which costs tens of microseconds a row (a decoder, a `Data` copy, a thrown error per number tried as
/// a boolean) — most of a day's replay on the Gateway screen. Only the shape `encodeReadings` writes is read here:
/// an object of plain keys whose values are JSON numbers, plain strings or null, with no spaces. Anything else (an
/// escape, a boolean, a duplicate key, white space) answers nil and is left to `JSONDecoder`, so what it reads and
/// what it refuses stay as they were.
enum ReadingsText {
    static func parse(_ text: String) -> [String: ChannelValue?]? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> [String: ChannelValue?]? {
        let quote = UInt8(ascii: "\"")
        let n = b.count
        guard n >= 2, b[0] == UInt8(ascii: "{"), b[n - 1] == UInt8(ascii: "}") else { return nil }
        var out: [String: ChannelValue?] = [:]
        var i = 1
        if i == n - 1 { return out }
        // A plain string from b[i] (its opening quote): its text and the index after the closing quote.
        func string(_ at: Int) -> (String, Int)? {
            guard at < n, b[at] == quote else { return nil }
            var j = at + 1
            while j < n, b[j] != quote {
                if b[j] == UInt8(ascii: "\\") || b[j] < 0x20 { return nil }
                j += 1
            }
            guard j < n else { return nil }
            return (String(decoding: UnsafeBufferPointer(rebasing: b[(at + 1)..<j]), as: UTF8.self), j + 1)
        }
        while true {
            guard let (key, afterKey) = string(i), afterKey < n, b[afterKey] == UInt8(ascii: ":") else { return nil }
            i = afterKey + 1
            guard i < n else { return nil }
            let value: ChannelValue?
            switch b[i] {
            case quote:
                guard let (text, after) = string(i) else { return nil }
                value = .category(text)
                i = after
            case UInt8(ascii: "n"):
                guard i + 4 <= n, b[i + 1] == UInt8(ascii: "u"), b[i + 2] == UInt8(ascii: "l"),
                    b[i + 3] == UInt8(ascii: "l")
                else { return nil }
                value = nil
                i += 4
            default:
                guard let end = numberEnd(b, i),
                    let number = Double(String(decoding: UnsafeBufferPointer(rebasing: b[i..<end]), as: UTF8.self)),
                    number.isFinite
                else { return nil }
                value = .number(number)
                i = end
            }
            guard out.updateValue(value, forKey: key) == nil else { return nil }
            guard i < n else { return nil }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            return b[i] == UInt8(ascii: "}") && i == n - 1 ? out : nil
        }
    }

    /// The end of the JSON number starting at `i` (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), nil when none.
    static func numberEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int? {
        let n = b.count
        var i = start
        func digits() -> Int {
            let from = i
            while i < n, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") { i += 1 }
            return i - from
        }
        if i < n, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n else { return nil }
        if b[i] == UInt8(ascii: "0") {
            i += 1
        } else if digits() == 0 {
            return nil
        }
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { return nil }
        }
        if i < n, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < n, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { return nil }
        }
        return i
    }
}
