import FleetProtocol
import OccupantCore

extension Intake {
    /// Largest monitor document (bytes): a window of a few dozen channels and features is a few KB.
    public static let maxMonitorBytes = 256 * 1024

    /// A gateway's monitor window (`MonitorDocument`), from its own topic or request path: the document's `gateway`
    /// must be that gateway; the window's times must be real instants in order; shares must lie in 0…1 and counts
    /// must not be negative.
    public func monitor(json: [UInt8], gateway: String, now: Double) throws(IntakeError) -> MonitorDocument {
        guard json.count <= Self.maxMonitorBytes else {
            throw IntakeError(413, "the monitor document is \(json.count) bytes; at most \(Self.maxMonitorBytes)")
        }
        guard !Self.holdsEscapedNUL(json) else {
            // PostgreSQL's jsonb (the indexed columns of monitor_windows) cannot hold U+0000; refused on both stores.
            throw IntakeError(400, #"monitor: text holds a NUL character (\u0000)"#)
        }
        let d: MonitorDocument
        do {
            d = try FleetJSON.decode(MonitorDocument.self, from: json)
        } catch {
            throw IntakeError(400, "monitor: \(Self.describe(error))")
        }
        guard d.gateway == gateway else {
            let shown = d.gateway.count > 64 ? "\(d.gateway.prefix(64))…" : d.gateway
            throw IntakeError(403, "monitor: gateway '\(shown)' differs from '\(gateway)'")
        }
        guard let from = d.window.from.seconds else {
            throw IntakeError(400, "monitor: 'window.from' is not an ISO-8601 date-time or Unix seconds")
        }
        guard let to = d.window.to.seconds else {
            throw IntakeError(400, "monitor: 'window.to' is not an ISO-8601 date-time or Unix seconds")
        }
        try checkTime(from, now: now, what: "monitor: 'window.from'")
        try checkTime(to, now: now, what: "monitor: 'window.to'")
        guard to > from else { throw IntakeError(400, "monitor: 'window.to' must be after 'window.from'") }
        guard d.window.samples >= 0 else { throw IntakeError(400, "monitor: 'window.samples' is negative") }
        guard d.inputs.count <= maxChannels else {
            throw IntakeError(400, "monitor: \(d.inputs.count) channels; at most \(maxChannels) (intake.maxChannels)")
        }
        for (channel, input) in d.inputs.sorted(by: { $0.key < $1.key }) {
            guard Self.isChannelName(channel), channel.utf8.count <= maxChannelNameBytes else {
                throw IntakeError(400, "monitor: 'inputs' has a bad channel name '\(channel.prefix(64))'")
            }
            for (name, share) in [("missing", input.missing), ("outOfRange", input.outOfRange), ("stuck", input.stuck)]
            {
                guard share.isFinite, (0...1).contains(share) else {
                    throw IntakeError(400, "monitor: inputs.\(channel).\(name) is \(share); a share lies in 0…1")
                }
            }
            for (name, value) in [("mean", input.mean), ("min", input.min), ("max", input.max)] {
                if let value, !value.isFinite {
                    throw IntakeError(400, "monitor: inputs.\(channel).\(name) is not a finite number")
                }
            }
        }
        let p = d.predictions
        for (name, share) in [
            ("predictions.meanProbability", p.meanProbability), ("predictions.positiveRate", p.positiveRate),
            ("expectedAccuracy", d.expectedAccuracy), ("bundleAccuracy", d.bundleAccuracy),
        ] {
            if let share, !(share.isFinite && (0...1).contains(share)) {
                throw IntakeError(400, "monitor: \(name) is \(share); it lies in 0…1")
            }
        }
        guard p.transitions >= 0, p.stale >= 0, p.histogram.allSatisfy({ $0 >= 0 }), p.histogram.count <= 100 else {
            throw IntakeError(400, "monitor: 'predictions' has a negative count or more than 100 histogram bins")
        }
        for (feature, drift) in (d.drift ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard feature.utf8.count <= 200 else {
                throw IntakeError(400, "monitor: a drift feature name is longer than 200 bytes")
            }
            guard drift.score.isFinite, drift.threshold?.isFinite ?? true else {
                throw IntakeError(400, "monitor: drift.\(feature) has a score or threshold that is not finite")
            }
        }
        if let shadow = d.shadow { try checkShadow(shadow, window: from...to) }
        return d
    }

    /// Whether JSON text escapes U+0000 (`\u0000`, the escape itself not escaped): raw control characters are invalid
    /// JSON already.
    static func holdsEscapedNUL(_ json: [UInt8]) -> Bool {
        let pattern = Array("u0000".utf8)
        var i = 0
        var backslashes = 0
        while i < json.count {
            let byte = json[i]
            if byte == UInt8(ascii: "\\") {
                backslashes += 1
            } else {
                if backslashes % 2 == 1, byte == UInt8(ascii: "u"), i + pattern.count <= json.count,
                    json[i..<i + pattern.count].elementsEqual(pattern)
                {
                    return true
                }
                backslashes = 0
            }
            i += 1
        }
        return false
    }
}
