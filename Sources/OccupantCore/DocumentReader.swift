/// Reads a YAML document strictly: unknown keys, wrong types and out-of-range values are collected as issues,
/// each with its key path and line, so a user sees every problem in one run.
public final class DocumentReader {
    public let source: String
    public let code: OccupantError.Code
    public private(set) var issues: [DocumentIssue] = []

    /// Parses `text`; a syntax error becomes the only issue and `root` is nil.
    public init(text: String, source: String, code: OccupantError.Code) {
        self.source = source
        self.code = code
        do throws(YAMLError) {
            if let node = try YAMLComposer.compose(text) {
                root = Field(reader: nil, path: "", node: node)
            } else {
                issues.append(DocumentIssue(path: "", line: nil, message: "the document is empty"))
            }
        } catch {
            issues.append(DocumentIssue(path: "", line: error.line, message: "not valid YAML: \(error.message)"))
        }
        root?.reader = self
    }

    /// The document's top node, or nil if it did not parse.
    public private(set) var root: Field?

    public func report(_ path: String, _ node: YAMLNode?, _ message: String) {
        issues.append(DocumentIssue(path: path, line: node?.mark.line, message: message))
    }

    /// Throws every collected issue, if any.
    public func finish() throws(DocumentErrors) {
        if !issues.isEmpty { throw DocumentErrors(code: code, source: source, issues: issues) }
    }
}

/// Reads a YAML document's text; a missing or unreadable file is one issue naming the file and what it is.
public func readDocumentText(path: String, code: OccupantError.Code, what: String) throws(DocumentErrors) -> String {
    do throws(OccupantError) {
        return try LocalFileSystem().readText(path)
    } catch {
        throw DocumentErrors(
            code: code, source: path,
            issues: [DocumentIssue(path: "", line: nil, message: "cannot read the \(what): \(error.fileReason)")])
    }
}

/// A node at a key path, with typed accessors that report (not throw) what is wrong.
public struct Field {
    fileprivate(set) weak var reader: DocumentReader?
    public let path: String
    public let node: YAMLNode

    fileprivate init(reader: DocumentReader?, path: String, node: YAMLNode) {
        self.reader = reader
        self.path = path
        self.node = node
    }

    public var line: Int? { node.mark.line }

    public func report(_ message: String) {
        reader?.report(path, node, message)
    }

    private func child(_ key: String, _ node: YAMLNode) -> Field {
        Field(reader: reader, path: path.isEmpty ? key : "\(path).\(key)", node: node)
    }

    /// A mapping whose keys must all be in `allowed`; unknown keys are reported by name.
    public func mapping(allowed: [String]) -> FieldMap? {
        guard case .mapping(let mapping) = node else {
            report("expected a mapping of keys (\(allowed.prefix(4).joined(separator: ", "))…), got \(kind)")
            return nil
        }
        var fields: [String: Field] = [:]
        var order: [String] = []
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.scalar?.string else {
                report("a key is not a plain string")
                continue
            }
            let field = child(key, valueNode)
            if !allowed.contains(key) {
                field.report("unknown key '\(key)'" + suggestion(key, allowed))
                continue
            }
            if fields[key] != nil {
                field.report("duplicate key '\(key)'")
                continue
            }
            fields[key] = field
            order.append(key)
        }
        return FieldMap(owner: self, fields: fields, order: order)
    }

    /// A mapping with free-form keys (e.g. enum mappings), in document order.
    public func entries() -> [(key: String, field: Field)]? {
        guard case .mapping(let mapping) = node else {
            report("expected a mapping, got \(kind)")
            return nil
        }
        var out: [(String, Field)] = []
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.scalar?.string else {
                report("a key is not a plain string")
                continue
            }
            out.append((key, child(key, valueNode)))
        }
        return out
    }

    public func list() -> [Field]? {
        guard case .sequence(let sequence) = node else {
            report("expected a list, got \(kind)")
            return nil
        }
        return sequence.enumerated().map { index, node in
            Field(reader: reader, path: "\(path)[\(index)]", node: node)
        }
    }

    public func string() -> String? {
        guard let scalar = node.scalar else {
            report("expected text, got \(kind)")
            return nil
        }
        return scalar.string
    }

    /// A number: decimal, `0x` hex, `0b` binary, or a float.
    public func double() -> Double? {
        guard let text = node.scalar?.string else {
            report("expected a number, got \(kind)")
            return nil
        }
        if let value = parseNumber(text) { return value }
        report("expected a number, got '\(text)'")
        return nil
    }

    public func double(in range: ClosedRange<Double>) -> Double? {
        guard let value = double() else { return nil }
        guard range.contains(value) else {
            report(
                "\(formatNumber(value)) is out of range \(formatNumber(range.lowerBound))…\(formatNumber(range.upperBound))"
            )
            return nil
        }
        return value
    }

    public func int(in range: ClosedRange<Int>) -> Int? {
        guard let value = double() else { return nil }
        guard value == value.rounded(), let int = Int(exactly: value) else {
            report("expected a whole number, got \(formatNumber(value))")
            return nil
        }
        guard range.contains(int) else {
            // Said in the base it was written in: `address: 0x94` is reported as 0x94, not 148.
            if let text = node.scalar?.string.trimmingSpaces, text.lowercased().hasPrefix("0x") {
                report("\(text) is out of range \(hexLiteral(range.lowerBound))…\(hexLiteral(range.upperBound))")
            } else {
                report("\(int) is out of range \(range.lowerBound)…\(range.upperBound)")
            }
            return nil
        }
        return int
    }

    /// `0x03`: at least two hex digits.
    private func hexLiteral(_ value: Int) -> String {
        let digits = String(value, radix: 16)
        return "0x" + (digits.count < 2 ? "0" + digits : digits)
    }

    public func bool() -> Bool? {
        guard let text = node.scalar?.string else {
            report("expected true or false, got \(kind)")
            return nil
        }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            report("expected true or false, got '\(text)'")
            return nil
        }
    }

    /// A duration: `250ms`, `15s`, `10m`, `1h`, `1d`, or a plain number of seconds.
    public func duration() -> Double? {
        guard let text = node.scalar?.string else {
            report("expected a duration such as 15s, got \(kind)")
            return nil
        }
        if let seconds = parseDuration(text) { return seconds }
        report("expected a duration such as 250ms, 15s, 10m or 1h, got '\(text)'")
        return nil
    }

    /// One of `choices`.
    public func choice(_ choices: [String]) -> String? {
        guard let text = string() else { return nil }
        guard choices.contains(text) else {
            report("'\(text)' is not one of \(choices.joined(separator: ", "))")
            return nil
        }
        return text
    }

    /// A list of byte values (0…255), e.g. `[0x24, 0x00]`.
    public func bytes() -> [UInt8]? {
        guard let items = list() else { return nil }
        var out: [UInt8] = []
        for item in items {
            guard let value = item.int(in: 0...255) else { return nil }
            out.append(UInt8(value))
        }
        return out
    }

    private var kind: String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }
}

/// The keys of one mapping; `required` reports a missing key, `optional` does not.
public struct FieldMap {
    public let owner: Field
    public let fields: [String: Field]
    public let order: [String]

    public subscript(key: String) -> Field? { fields[key] }

    public func required(_ key: String) -> Field? {
        if let field = fields[key] { return field }
        owner.reader?.report(
            owner.path.isEmpty ? key : "\(owner.path).\(key)", owner.node, "missing required key '\(key)'")
        return nil
    }

    public func optional(_ key: String) -> Field? { fields[key] }
}

/// Parses `250ms`, `15s`, `10m`, `1h`, `1d` or a plain number of seconds.
public func parseDuration(_ text: String) -> Double? {
    let trimmed = text.trimmingSpaces
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
    for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
        let number = String(trimmed.dropLast(suffix.count))
        if let value = Double(number), value >= 0, value.isFinite { return value * scale }
    }
    if let value = Double(trimmed), value >= 0, value.isFinite { return value }
    return nil
}

/// Parses decimal, `0x` hex, `0b` binary and floating-point numbers.
public func parseNumber(_ text: String) -> Double? {
    let t = text.trimmingSpaces.replacingUnderscores
    let negative = t.hasPrefix("-")
    let body = negative ? String(t.dropFirst()) : t
    if body.hasPrefix("0x") || body.hasPrefix("0X"), let v = UInt64(body.dropFirst(2), radix: 16) {
        return negative ? -Double(v) : Double(v)
    }
    if body.hasPrefix("0b") || body.hasPrefix("0B"), let v = UInt64(body.dropFirst(2), radix: 2) {
        return negative ? -Double(v) : Double(v)
    }
    if let v = Double(t), v.isFinite { return v }
    return nil
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }

    var replacingUnderscores: String { String(self.filter { $0 != "_" }) }
}

private func suggestion(_ key: String, _ allowed: [String]) -> String {
    let lower = key.lowercased()
    if let match = allowed.first(where: { $0.lowercased() == lower || editDistance($0.lowercased(), lower) <= 2 }) {
        return " (did you mean '\(match)'?)"
    }
    return ""
}

private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
