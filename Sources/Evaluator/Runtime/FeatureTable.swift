import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A CSV table of numbers with a header row; an empty field is a missing value (NaN).
public struct FeatureTable: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[Double]]

    public init(columns: [String], rows: [[Double]]) {
        self.columns = columns
        self.rows = rows
    }

    /// Parses comma-separated text; every row must have as many fields as the header. Errors name the line.
    public static func parse(_ text: String, name: String = "table") throws(OccupantError) -> FeatureTable {
        var lines = text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline).makeIterator()
        guard let head = lines.next() else { throw OccupantError(.data, "\(name): empty, expected a header row") }
        let columns = head.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingWhitespace()
        }
        var rows: [[Double]] = []
        var lineNumber = 1
        while let line = lines.next() {
            lineNumber += 1
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == columns.count else {
                throw OccupantError(
                    .data, "\(name):\(lineNumber): \(fields.count) fields, the header has \(columns.count)")
            }
            var row: [Double] = []
            row.reserveCapacity(fields.count)
            for (i, field) in fields.enumerated() {
                let trimmed = field.trimmingWhitespace()
                if trimmed.isEmpty || trimmed.lowercased() == "nan" {
                    row.append(.nan)
                } else if let value = Double(trimmed) {
                    row.append(value)
                } else {
                    throw OccupantError(.data, "\(name):\(lineNumber): \(columns[i]) \"\(trimmed)\" is not a number")
                }
            }
            rows.append(row)
        }
        return FeatureTable(columns: columns, rows: rows)
    }

    /// Reads and parses the file at `path`.
    public static func load(path: String) throws(OccupantError) -> FeatureTable {
        let data = try readModelFile(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw OccupantError(.data, "\(path): not UTF-8 text")
        }
        return try parse(text, name: path)
    }

    /// The values of one column, by name.
    public func column(_ name: String) -> [Double]? {
        columns.firstIndex(of: name).map { i in rows.map { $0[i] } }
    }
}
