import OccupantCore

extension Payloads {
    /// `decision(_:alert:)` written straight into `out` (appended), byte for byte its serialisation: no JSON tree and
    /// no intermediate strings, the inputs and health in key order without sorting into an array. Into a buffer that
    /// keeps its capacity, a warm cycle allocates nothing (a number whose shortest spelling is longer than 15
    /// characters takes one small string).
    public static func writeDecision(_ d: Decision, alert: String?, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"roomOccupancy":"#.utf8)
        JSONBytes.write(d.roomOccupancy, into: &out)
        out.append(contentsOf: #","probability":"#.utf8)
        JSONBytes.write(d.probability, into: &out)
        out.append(contentsOf: #","decidedBy":"#.utf8)
        JSONBytes.write(string: d.decidedBy, into: &out)
        out.append(contentsOf: #","inputs":{"#.utf8)
        writeInKeyOrder(d.inputs, into: &out) { JSONBytes.write($0, into: &$1) }
        out.append(contentsOf: #"},"health":{"#.utf8)
        writeInKeyOrder(d.health, into: &out) { JSONBytes.write(string: $0.rawValue, into: &$1) }
        out.append(UInt8(ascii: "}"))
        if let stale = d.stale {
            out.append(contentsOf: #","stale":"#.utf8)
            JSONBytes.write(string: stale, into: &out)
        }
        if let alert {
            out.append(contentsOf: #","alert":"#.utf8)
            JSONBytes.write(string: alert, into: &out)
        }
        out.append(contentsOf: #","at":"#.utf8)
        JSONBytes.write(d.at, into: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// The members `"key":value,…` of a handful of pairs in the order of their keys (ties in sequence order), as
    /// `sorted { $0.key < $1.key }` would give them: each step scans for the next one (a few channels or features).
    private static func writeInKeyOrder<S: Sequence<(key: String, value: V)>, V>(
        _ pairs: S, into out: inout [UInt8], value: (V, inout [UInt8]) -> Void
    ) {
        var last: (key: String, position: Int)?
        var first = true
        while true {
            var next: (key: String, position: Int, value: V)?
            for (position, pair) in pairs.enumerated() {
                if let last, pair.key < last.key || (pair.key == last.key && position <= last.position) { continue }
                if let n = next, !(pair.key < n.key) { continue }
                next = (pair.key, position, pair.value)
            }
            guard let next else { return }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONBytes.write(string: next.key, into: &out)
            out.append(UInt8(ascii: ":"))
            value(next.value, &out)
            last = (next.key, next.position)
        }
    }
}
