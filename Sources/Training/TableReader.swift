import Foundation
import OccupantCore

/// Reads a labelled table from CSV (header row; a leading unnamed row-id column is tolerated) or NDJSON.
///
/// Time: ISO-8601 (also `YYYY-MM-DD hh:mm:ss`) or Unix seconds. Label: 0/1, true/false, or a count (> 0 means
/// occupied); empty means unlabelled. Rows are sorted by time (stably) if they are not already.
public enum TableReader {
    /// Which columns are which.
    public struct Columns: Sendable, Equatable {
        public var time: String
        /// nil for a table to score, not to learn from: every row is unlabelled.
        public var label: String?
        /// The sensor channels; nil = every other column.
        public var channels: [String]?

        public init(time: String, label: String?, channels: [String]? = nil) {
            self.time = time
            self.label = label
            self.channels = channels
        }
    }

    /// Reads the file at `path` (NDJSON when it ends in `.ndjson`/`.jsonl` or its first byte is `{`).
    public static func load(path: String, columns: Columns) throws(OccupantError) -> LabelledTable {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw OccupantError(.io, "\(path): cannot read", cause: "\(error.localizedDescription)")
        }
        return try parse(text, name: path, columns: columns)
    }

    /// Parses CSV or NDJSON text; errors name the line.
    public static func parse(_ text: String, name: String = "data", columns: Columns) throws(OccupantError)
        -> LabelledTable
    {
        let first = text.first(where: { !$0.isWhitespace })
        let records = first == "{" ? try ndjsonRecords(text, name: name) : try csvRecords(text, name: name)
        return try build(records.header, records.rows, name: name, columns: columns)
    }

    /// Header names and rows of raw fields (nil = absent), each row as wide as the header.
    typealias Records = (header: [String], rows: [(line: Int, fields: [Field?])])

    enum Field: Sendable {
        case text(String)
        case number(Double)
        case bool(Bool)
    }

    static func csvRecords(_ text: String, name: String) throws(OccupantError) -> Records {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .makeIterator()
        var headerLine: Substring?
        while let (_, line) = lines.next() {
            if !line.trimmingCharacters(in: .whitespaces).isEmpty {
                headerLine = line
                break
            }
        }
        guard let headerLine else { throw OccupantError(.data, "\(name): empty, expected a header row") }
        var header = splitCSV(headerLine)
        if header.first == "" { header.removeFirst() } // an unnamed index column named ""
        var rows: [(Int, [Field?])] = []
        while let (index, line) = lines.next() {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            var fields = splitCSV(line)
            if fields.count == header.count + 1 { fields.removeFirst() } // R's write.csv row id
            guard fields.count == header.count else {
                throw OccupantError(
                    .data, "\(name):\(index + 1): \(fields.count) fields, the header has \(header.count)")
            }
            rows.append((index + 1, fields.map { $0.isEmpty ? nil : Field.text($0) }))
        }
        return (header, rows)
    }

    /// Splits one CSV line; double quotes group and `""` is a literal quote. Fields are trimmed.
    static func splitCSV(_ line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = line.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" {
                            current.append("\"")
                        } else {
                            quoted = false
                            pending = next
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            } else {
                current.append(c)
            }
        }
        fields.append(current.trimmingCharacters(in: .whitespaces))
        return fields
    }

    static func ndjsonRecords(_ text: String, name: String) throws(OccupantError) -> Records {
        var header: [String] = []
        var seen = Set<String>()
        var objects: [(Int, [String: Field])] = []
        let decoder = JSONDecoder()
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let object: [String: Scalar]
            do {
                object = try decoder.decode([String: Scalar].self, from: Data(line.utf8))
            } catch {
                throw OccupantError(.data, "\(name):\(index + 1): not a JSON object")
            }
            var row: [String: Field] = [:]
            for key in object.keys.sorted() {
                if seen.insert(key).inserted { header.append(key) }
                if let field = object[key]?.field { row[key] = field }
            }
            objects.append((index + 1, row))
        }
        return (header, objects.map { line, row in (line, header.map { row[$0] }) })
    }

    /// One NDJSON value: a scalar becomes a field; null, arrays and objects are absent.
    struct Scalar: Decodable {
        var field: Field?
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                field = nil
            } else if let b = try? c.decode(Bool.self) {
                field = .bool(b)
            } else if let n = try? c.decode(Double.self) {
                field = .number(n)
            } else if let s = try? c.decode(String.self) {
                field = .text(s)
            } else {
                field = nil
            }
        }
    }

    static func build(
        _ header: [String], _ rows: [(line: Int, fields: [Field?])], name: String, columns: Columns
    ) throws(OccupantError) -> LabelledTable {
        guard let timeIndex = header.firstIndex(of: columns.time) else {
            throw OccupantError(
                .data, "\(name): no time column '\(columns.time)' (columns: \(header.joined(separator: ", ")))")
        }
        var labelIndex: Int?
        if let label = columns.label {
            guard let i = header.firstIndex(of: label) else {
                throw OccupantError(
                    .data, "\(name): no label column '\(label)' (columns: \(header.joined(separator: ", ")))")
            }
            labelIndex = i
        }
        let channelNames = columns.channels ?? header.filter { $0 != columns.time && $0 != columns.label }
        var channelIndices: [Int] = []
        for channel in channelNames {
            guard let i = header.firstIndex(of: channel) else {
                throw OccupantError(
                    .data, "\(name): no channel column '\(channel)' (columns: \(header.joined(separator: ", ")))")
            }
            guard i != timeIndex, i != labelIndex else {
                throw OccupantError(.usage, "'\(channel)' is the time or label column, not a channel")
            }
            channelIndices.append(i)
        }
        guard !channelIndices.isEmpty else { throw OccupantError(.data, "\(name): no channel columns") }
        // A channel is numeric when every present value is a number.
        var categorical = Set<String>()
        for (k, i) in channelIndices.enumerated() {
            let numeric = rows.allSatisfy { row in
                switch row.fields[i] {
                case nil, .number?: return true
                case .bool?: return false
                case .text(let s)?: return Double(s) != nil || s.lowercased() == "nan"
                }
            }
            if !numeric { categorical.insert(channelNames[k]) }
        }
        var times: [Instant] = []
        var labels: [UInt8?] = []
        var values: [[ChannelValue?]] = []
        times.reserveCapacity(rows.count)
        labels.reserveCapacity(rows.count)
        values.reserveCapacity(rows.count)
        for row in rows {
            guard let time = parseTime(row.fields[timeIndex]) else {
                throw OccupantError(
                    .data, "\(name):\(row.line): \(columns.time) is not an ISO-8601 time or Unix seconds")
            }
            times.append(time)
            if let labelIndex {
                guard let label = try parseLabel(row.fields[labelIndex]) else {
                    throw OccupantError(
                        .data, "\(name):\(row.line): \(columns.label ?? "") is not 0/1, true/false or a count")
                }
                labels.append(label.value)
            } else {
                labels.append(nil)
            }
            values.append(
                channelIndices.enumerated().map { k, i in
                    value(row.fields[i], categorical: categorical.contains(channelNames[k]))
                })
        }
        var table = LabelledTable(
            channels: channelNames, categoricalChannels: categorical, times: times, labels: labels, values: values)
        if zip(times, times.dropFirst()).contains(where: { $0 > $1 }) {
            let order = times.indices.sorted { times[$0] < times[$1] || (times[$0] == times[$1] && $0 < $1) }
            table.times = order.map { times[$0] }
            table.labels = order.map { labels[$0] }
            table.values = order.map { values[$0] }
        }
        return table
    }

    static func parseTime(_ field: Field?) -> Instant? {
        switch field {
        case .number(let n)?: return n.isFinite ? Instant(seconds: n) : nil
        case .text(let s)?:
            if let n = Double(s), n.isFinite { return Instant(seconds: n) }
            return Instant(iso8601: s)
        default: return nil
        }
    }

    /// `.some(nil)` = unlabelled; nil = unreadable.
    static func parseLabel(_ field: Field?) throws(OccupantError) -> (value: UInt8?, Void)? {
        switch field {
        case nil: return (nil, ())
        case .bool(let b)?: return (b ? 1 : 0, ())
        case .number(let n)?: return n.isNaN ? (nil, ()) : (n > 0 ? 1 : 0, ())
        case .text(let s)?:
            switch s.lowercased() {
            case "true", "yes", "occupied": return (1, ())
            case "false", "no", "vacant": return (0, ())
            case "nan", "": return (nil, ())
            default:
                guard let n = Double(s), !n.isNaN else { return nil }
                return (n > 0 ? 1 : 0, ())
            }
        }
    }

    static func value(_ field: Field?, categorical: Bool) -> ChannelValue? {
        switch field {
        case nil: return nil
        case .number(let n)?: return categorical ? .category(formatNumber(n)) : (n.isFinite ? .number(n) : nil)
        case .bool(let b)?: return .category(b ? "true" : "false")
        case .text(let s)?:
            if categorical { return .category(s) }
            guard let n = Double(s), n.isFinite else { return nil }
            return .number(n)
        }
    }
}
