import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Replays recorded readings from a CSV file: a `time` column (ISO-8601 or Unix seconds), one column per channel
/// (numbers, or text for categorical channels such as `hvac`), and optionally `occupied` (0/1, true/false).
/// At any instant the latest row at or before it applies; the replay loops when it runs past the end.
public struct ReplayScenario: Scenario {
    public let name: String
    public let start: Instant
    let times: [Double]
    let rows: [[String: ChannelValue]]
    let occupied: [Bool?]
    let span: Double

    public init(path: String) throws(OccupantError) {
        let text: String
        do throws(OccupantError) {
            text = try LocalFileSystem().readText(path)
        } catch {
            throw OccupantError(.data, "\(path): cannot read the replay file: \(error.fileReason)", errno: error.errno)
        }
        try self.init(csv: text, name: "replay:\(path)")
    }

    public init(csv text: String, name: String = "replay") throws(OccupantError) {
        self.name = name
        var lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw OccupantError(.data, "\(name): the file is empty") }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map {
            trimQuotes($0)
        }
        guard let timeIndex = header.firstIndex(of: "time") else {
            throw OccupantError(
                .data, "\(name): the header needs a 'time' column (got \(header.joined(separator: ",")))")
        }
        let occupiedIndex = header.firstIndex(of: "occupied")
        var times: [Double] = []
        var rows: [[String: ChannelValue]] = []
        var occupied: [Bool?] = []
        for (n, line) in lines.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                trimQuotes($0)
            }
            guard fields.count == header.count else {
                throw OccupantError(
                    .data, "\(name): line \(n + 2): \(fields.count) fields, the header has \(header.count)")
            }
            let timeText = fields[timeIndex]
            guard let t = Double(timeText) ?? Instant(iso8601: timeText)?.seconds else {
                throw OccupantError(
                    .data, "\(name): line \(n + 2): time '\(timeText)' is neither ISO-8601 nor Unix seconds")
            }
            if let last = times.last, t < last {
                throw OccupantError(.data, "\(name): line \(n + 2): time goes backwards")
            }
            var row: [String: ChannelValue] = [:]
            for (i, column) in header.enumerated() where i != timeIndex && i != occupiedIndex {
                let field = fields[i]
                if field.isEmpty { continue }
                row[column] = Double(field).map { .number($0) } ?? .category(field.lowercased())
            }
            times.append(t)
            rows.append(row)
            occupied.append(occupiedIndex.flatMap { parseFlag(fields[$0]) })
        }
        self.times = times
        self.rows = rows
        self.occupied = occupied
        self.start = Instant(seconds: times[0])
        self.span = max(1, times[times.count - 1] - times[0] + 1)
    }

    public func state(at instant: Instant) -> ThermostatState {
        var t = instant.seconds - start.seconds
        t = t.truncatingRemainder(dividingBy: span)
        if t < 0 { t += span }
        let target = start.seconds + t
        // Binary search for the last row at or before `target`.
        var lo = 0
        var hi = times.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if times[mid] <= target { lo = mid } else { hi = mid - 1 }
        }
        return ThermostatState(values: rows[lo], occupied: occupied[lo])
    }
}

func parseFlag(_ text: String) -> Bool? {
    switch text.lowercased() {
    case "1", "true", "yes": return true
    case "0", "false", "no": return false
    default: return Double(text).map { $0 > 0 }
    }
}

func trimQuotes(_ text: Substring) -> String {
    var s = text
    while let f = s.first, f == "\"" || f == " " || f == "\r" { s = s.dropFirst() }
    while let l = s.last, l == "\"" || l == " " || l == "\r" { s = s.dropLast() }
    return String(s)
}
