import FleetProtocol
import Foundation
import OccupantCore

/// Bad input at the intake: the HTTP status to answer and a one-line reason. Nothing is stored when it is thrown.
public struct IntakeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var message: String

    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }
}

/// Parses and checks what gateways and people send: telemetry batches and label ranges.
public struct Intake: Sendable {
    /// Readings stamped further than this in the future are refused (seconds).
    public var maxFutureSkew: Double
    /// Readings and labels before this are refused (2000-01-01).
    public var earliest = 946_684_800.0
    /// Most channels in one telemetry row.
    public var maxChannels = ServerConfig.Intake().maxChannels
    /// Longest channel name (bytes); names are letters, digits and `_`, starting with a letter, as in a profile.
    public var maxChannelNameBytes = ServerConfig.Intake().maxChannelNameBytes
    /// Largest label message (bytes): an MQTT message, or a label request body.
    public var maxLabelBytes = ServerConfig.Intake().maxLabelBytes
    /// Most label ranges in one message.
    public var maxLabelsPerMessage = ServerConfig.Intake().maxLabelsPerMessage

    public init(maxFutureSkew: Double) {
        self.maxFutureSkew = maxFutureSkew
    }

    /// The limits of the configuration's `intake:` section.
    public init(_ config: ServerConfig.Intake) {
        maxFutureSkew = config.maxFutureSkew
        maxChannels = config.maxChannels
        maxChannelNameBytes = config.maxChannelNameBytes
        maxLabelBytes = config.maxLabelBytes
        maxLabelsPerMessage = config.maxLabelsPerMessage
    }

    /// One telemetry document per line (the gateway's `telemetry` payload); blank lines are skipped.
    public func telemetry(ndjson bytes: [UInt8], gateway: String, now: Double) throws(IntakeError) -> [TelemetryRow] {
        var rows: [TelemetryRow] = []
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = line.drop { $0 == 32 || $0 == 9 || $0 == 13 }
            if trimmed.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            rows.append(try telemetry(json: Array(trimmed), gateway: gateway, now: now, where: "line \(lineNumber)"))
        }
        guard !rows.isEmpty else { throw IntakeError(400, "the batch holds no telemetry lines") }
        return rows
    }

    /// One telemetry document (an MQTT message, or one NDJSON line).
    public func telemetry(json: [UInt8], gateway: String, now: Double, where place: String = "message")
        throws(IntakeError) -> TelemetryRow
    {
        let document: TelemetryDocument
        do {
            document = try FleetJSON.decode(TelemetryDocument.self, from: json)
        } catch {
            throw IntakeError(400, "\(place): \(Self.describe(error))")
        }
        guard let at = document.at.seconds else {
            throw IntakeError(400, "\(place): 'at' is not an ISO-8601 date-time or Unix seconds")
        }
        try checkTime(at, now: now, what: "\(place): 'at'")
        guard document.readings.count <= maxChannels else {
            throw IntakeError(
                400, "\(place): \(document.readings.count) channels; at most \(maxChannels) (intake.maxChannels)")
        }
        for channel in document.readings.keys.sorted() { try checkChannelName(channel, place: place) }
        for (channel, value) in document.readings {
            if case .number(let n)? = value.value, !n.isFinite {
                throw IntakeError(400, "\(place): readings.\(channel) is not a finite number")
            }
            if case .category(let s)? = value.value,
                ["nan", "inf", "-inf", "infinity", "-infinity"].contains(s.lowercased())
            {
                throw IntakeError(400, "\(place): readings.\(channel) is '\(s)', not a finite number")
            }
        }
        guard !document.readings.isEmpty else { throw IntakeError(400, "\(place): 'readings' is empty") }
        return TelemetryRow(gateway: gateway, at: at, readings: document.readings.mapValues(\.value))
    }

    /// A label document: one object or an array of them, `{"from":…,"to":…,"occupied":true}`; `gateway` comes from the
    /// document or, for a gateway's own MQTT topic, from the topic.
    public func labels(json: [UInt8], gateway: String?, now: Double, source: String, known: (String) -> Bool)
        throws(IntakeError) -> [LabelRange]
    {
        guard json.count <= maxLabelBytes else {
            throw IntakeError(
                413, "the label message is \(json.count) bytes; at most \(maxLabelBytes) (intake.maxLabelBytes)")
        }
        let documents: [LabelDocument]
        do {
            if json.first(where: { $0 != 32 && $0 != 10 && $0 != 13 && $0 != 9 }) == UInt8(ascii: "[") {
                documents = try FleetJSON.decode([LabelDocument].self, from: json)
            } else {
                documents = [try FleetJSON.decode(LabelDocument.self, from: json)]
            }
        } catch {
            throw IntakeError(400, Self.describe(error))
        }
        guard !documents.isEmpty else { throw IntakeError(400, "no labels in the document") }
        try checkLabelCount(documents.count)
        return try documents.enumerated().map { (i, d) throws(IntakeError) in
            let place = documents.count > 1 ? "label \(i + 1): " : ""
            guard let g = d.gateway ?? gateway else { throw IntakeError(400, "\(place)'gateway' is missing") }
            if let topicGateway = gateway, let named = d.gateway, named != topicGateway {
                throw IntakeError(403, "\(place)gateway '\(named)' differs from the topic's '\(topicGateway)'")
            }
            guard known(g) else { throw IntakeError(404, "\(place)unknown gateway '\(g)'") }
            var stored = source
            if let named = d.source {
                guard Self.isSourceName(named) else {
                    throw IntakeError(400, "\(place)'source' must be 1–32 letters, digits, _ or -")
                }
                stored = "\(source):\(named)"
            }
            return try range(
                gateway: g, from: d.from, to: d.to, occupied: d.occupied, now: now, place: place, source: stored)
        }
    }

    /// CSV with a header naming `gateway`, `from`, `to` and `occupied` (0/1, true/false).
    public func labels(csv text: String, now: Double, known: (String) -> Bool) throws(IntakeError) -> [LabelRange] {
        guard text.utf8.count <= maxLabelBytes else {
            throw IntakeError(
                413, "the label CSV is \(text.utf8.count) bytes; at most \(maxLabelBytes) (intake.maxLabelBytes)")
        }
        var lines = text.split(whereSeparator: \.isNewline).map(String.init).filter {
            !$0.trimmingCharacters(in: .whitespaces).isEmpty
        }
        guard !lines.isEmpty else { throw IntakeError(400, "the CSV is empty") }
        let header = lines.removeFirst().split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        var index: [String: Int] = [:]
        for name in ["gateway", "from", "to", "occupied"] {
            guard let i = header.firstIndex(of: name) else {
                throw IntakeError(400, "the CSV header has no '\(name)' column (it needs gateway, from, to, occupied)")
            }
            index[name] = i
        }
        try checkLabelCount(lines.count)
        var out: [LabelRange] = []
        for (n, line) in lines.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            let place = "line \(n + 2): "
            guard fields.count == header.count else {
                throw IntakeError(400, "\(place)\(fields.count) fields, the header has \(header.count)")
            }
            let g = fields[index["gateway"]!]
            guard known(g) else { throw IntakeError(404, "\(place)unknown gateway '\(g)'") }
            let flag = fields[index["occupied"]!].lowercased()
            guard let occupied = ["1": true, "true": true, "0": false, "false": false][flag] else {
                throw IntakeError(400, "\(place)occupied is '\(flag)', not 0/1 or true/false")
            }
            out.append(
                try range(
                    gateway: g, from: TimeValue(text: fields[index["from"]!]),
                    to: TimeValue(text: fields[index["to"]!]),
                    occupied: occupied, now: now, place: place, source: "csv"))
        }
        guard !out.isEmpty else { throw IntakeError(400, "the CSV holds a header and no labels") }
        return out
    }

    private func checkLabelCount(_ count: Int) throws(IntakeError) {
        guard count <= maxLabelsPerMessage else {
            throw IntakeError(
                400, "\(count) labels in one message; at most \(maxLabelsPerMessage) (intake.maxLabelsPerMessage)")
        }
    }

    /// Letters, digits and `_`, starting with a letter (ASCII), at most `maxChannelNameBytes`; the message shows at
    /// most the first 40 characters of a bad name.
    private func checkChannelName(_ name: String, place: String) throws(IntakeError) {
        let shown = name.count > 40 ? "\(name.prefix(40))…" : name
        guard name.utf8.count <= maxChannelNameBytes else {
            throw IntakeError(
                400,
                "\(place): channel name '\(shown)' is \(name.utf8.count) bytes; at most \(maxChannelNameBytes) "
                    + "(intake.maxChannelNameBytes)")
        }
        guard Self.isChannelName(name) else {
            throw IntakeError(
                400, "\(place): '\(shown)' is not a channel name (letters, digits and _; starting with a letter)")
        }
    }

    /// A label document's `source`: 1–32 ASCII letters, digits, `_` or `-`.
    static func isSourceName(_ name: String) -> Bool {
        (1...32).contains(name.utf8.count)
            && name.utf8.allSatisfy {
                (65...90).contains($0) || (97...122).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 45
            }
    }

    static func isChannelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (65...90).contains(first) || (97...122).contains(first) else { return false }
        return name.utf8.allSatisfy {
            (65...90).contains($0) || (97...122).contains($0) || (48...57).contains($0) || $0 == 95
        }
    }

    private func range(
        gateway: String, from: TimeValue, to: TimeValue, occupied: Bool, now: Double, place: String, source: String
    ) throws(IntakeError) -> LabelRange {
        guard let start = from.seconds else {
            throw IntakeError(400, "\(place)'from' is not an ISO-8601 date-time or Unix seconds")
        }
        guard let end = to.seconds else {
            throw IntakeError(400, "\(place)'to' is not an ISO-8601 date-time or Unix seconds")
        }
        try checkTime(start, now: now, what: "\(place)'from'")
        try checkTime(end, now: now, what: "\(place)'to'")
        guard end > start else { throw IntakeError(400, "\(place)'to' must be after 'from'") }
        return LabelRange(gateway: gateway, from: start, to: end, occupied: occupied, source: source)
    }

    /// Refuses a time that is not finite, further ahead than `maxFutureSkew`, or before 2000; `what` names it.
    func checkTime(_ t: Double, now: Double, what: String) throws(IntakeError) {
        guard t.isFinite else { throw IntakeError(400, "\(what) is not finite") }
        if t > now + maxFutureSkew {
            throw IntakeError(
                400,
                "\(what) \(Instant(seconds: t).iso8601) is in the future (server time \(Instant(seconds: now).iso8601))"
            )
        }
        if t < earliest { throw IntakeError(400, "\(what) \(Instant(seconds: t).iso8601) is before 2000") }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "'\(path(context.codingPath + [key]))' is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "'\(path(context.codingPath))' has the wrong type: \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            let at = path(context.codingPath)
            return at.isEmpty ? "not valid JSON" : "'\(at)': \(context.debugDescription)"
        default:
            return "not valid JSON"
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
