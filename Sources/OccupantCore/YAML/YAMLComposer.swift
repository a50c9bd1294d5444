import CYAML

/// What is wrong with a YAML text, on one line: `message` is libyaml's "context problem" (or the composer's own), `line`
/// starts at 1.
public struct YAMLError: Error, Equatable, CustomStringConvertible {
    public let line: Int?
    public let message: String

    public init(line: Int?, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String {
        line.map { "line \($0): not valid YAML: \(message)" } ?? "not valid YAML: \(message)"
    }
}

/// Composes one YAML document into `YAMLNode`s with the system libyaml's event parser. Anchors and aliases are
/// resolved; an undefined alias, a second document, or nesting deeper than `maximumDepth` is an error.
public enum YAMLComposer {
    /// Deeper than any document we read; keeps a hostile `[[[[…` from growing the stacks without bound.
    public static let maximumDepth = 256

    /// The document's root node, or nil when the stream holds no document (empty, or comments only) or the document
    /// is empty (`---` alone).
    public static func compose(_ text: String) throws(YAMLError) -> YAMLNode? {
        try compose(bytes: Array(text.utf8))
    }

    /// As `compose(_:)`, from bytes that should be UTF-8 (libyaml reports the first invalid byte and its line).
    public static func compose(bytes: [UInt8]) throws(YAMLError) -> YAMLNode? {
        if bytes.isEmpty { return nil }
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer {
            parser.deallocate()
            event.deallocate()
        }
        // libyaml keeps a pointer to the parser inside itself (its read handler's data): it must not move, hence the
        // allocation above rather than a local.
        guard yaml_parser_initialize(parser) == 1 else { throw YAMLError(line: nil, message: "out of memory") }
        defer { yaml_parser_delete(parser) }
        let result = bytes.withUnsafeBufferPointer { buffer -> Result<YAMLNode?, YAMLError> in
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
            var composer = Composer(bytes: buffer)
            do throws(YAMLError) {
                return .success(try composer.run(parser, event))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// The composer's state: the open collections (innermost last) and the anchors seen so far.
private struct Composer {
    enum Frame {
        case sequence(items: [YAMLNode], mark: YAMLNode.Mark, anchor: String?)
        case mapping(pairs: [(key: YAMLNode, value: YAMLNode)], key: YAMLNode?, mark: YAMLNode.Mark, anchor: String?)
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var stack: [Frame] = []
    var anchors: [String: YAMLNode] = [:]
    var root: YAMLNode?
    var documents = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func run(
        _ parser: UnsafeMutablePointer<yaml_parser_t>, _ event: UnsafeMutablePointer<yaml_event_t>
    ) throws(YAMLError) -> YAMLNode? {
        while true {
            guard yaml_parser_parse(parser, event) == 1 else { throw error(parser.pointee) }
            let type = event.pointee.type
            do throws(YAMLError) {
                try handle(event.pointee)
            } catch {
                yaml_event_delete(event)
                throw error
            }
            yaml_event_delete(event)
            if type == YAML_STREAM_END_EVENT { break }
        }
        // `---` alone, or `--- # nothing`: libyaml gives an empty plain scalar.
        if let scalar = root?.scalar, scalar.style == .plain, scalar.string.isEmpty { return nil }
        return root
    }

    private mutating func handle(_ event: yaml_event_t) throws(YAMLError) {
        let mark = YAMLNode.Mark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                throw YAMLError(
                    line: mark.line, message: "expected a single document, found a second one (a '---' line)")
            }
        case YAML_ALIAS_EVENT:
            let name = string(event.data.alias.anchor) ?? ""
            guard let node = anchors[name] else {
                throw YAMLError(line: mark.line, message: "the alias '*\(name)' names no anchor defined before it")
            }
            try add(node)
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            let text = data.value.map {
                String(decoding: UnsafeBufferPointer(start: $0, count: data.length), as: UTF8.self)
            }
            let node = YAMLNode.scalar(.init(string: text ?? "", style: style(data.style), mark: mark))
            if let anchor = string(data.anchor) { anchors[anchor] = node }
            try add(node)
        case YAML_SEQUENCE_START_EVENT:
            try push(.sequence(items: [], mark: mark, anchor: string(event.data.sequence_start.anchor)), at: mark)
        case YAML_MAPPING_START_EVENT:
            try push(
                .mapping(pairs: [], key: nil, mark: mark, anchor: string(event.data.mapping_start.anchor)), at: mark)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return }
            let node: YAMLNode
            let anchor: String?
            switch frame {
            case .sequence(let items, let start, let name):
                node = .sequence(.init(items: items, mark: start))
                anchor = name
            case .mapping(let pairs, _, let start, let name):
                node = .mapping(.init(pairs: pairs, mark: start))
                anchor = name
            }
            if let anchor { anchors[anchor] = node }
            try add(node)
        default:
            break // stream start/end, document end, no-op
        }
    }

    private mutating func push(_ frame: Frame, at mark: YAMLNode.Mark) throws(YAMLError) {
        guard stack.count < YAMLComposer.maximumDepth else {
            throw YAMLError(line: mark.line, message: "nested deeper than \(YAMLComposer.maximumDepth) levels")
        }
        stack.append(frame)
    }

    /// Puts a finished node into the innermost open collection (as a key or a value), or makes it the root.
    private mutating func add(_ node: YAMLNode) throws(YAMLError) {
        guard let top = stack.popLast() else {
            root = node
            return
        }
        switch top {
        case .sequence(var items, let mark, let anchor):
            items.append(node)
            stack.append(.sequence(items: items, mark: mark, anchor: anchor))
        case .mapping(var pairs, let key, let mark, let anchor):
            if let key {
                pairs.append((key: key, value: node))
                stack.append(.mapping(pairs: pairs, key: nil, mark: mark, anchor: anchor))
            } else {
                stack.append(.mapping(pairs: pairs, key: node, mark: mark, anchor: anchor))
            }
        }
    }

    private func style(_ style: yaml_scalar_style_t) -> YAMLNode.Scalar.Style {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: return .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: return .literal
        case YAML_FOLDED_SCALAR_STYLE: return .folded
        default: return .plain
        }
    }

    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    /// libyaml's error as one line: scanner and parser errors carry "context problem" and a 0-based mark; reader
    /// errors (bad UTF-8, control characters) carry a byte offset, turned into a line here.
    private func error(_ parser: yaml_parser_t) -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            return YAMLError(line: nil, message: "out of memory")
        case YAML_READER_ERROR:
            let offset = min(Int(parser.problem_offset), bytes.count)
            let line = 1 + bytes[..<offset].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            let value = parser.problem_value >= 0 ? " (byte \(hexByte(parser.problem_value)))" : ""
            return YAMLError(line: line, message: problem + value)
        default:
            let context = parser.context.map { String(cString: $0) }
            let text = [context, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            return YAMLError(line: Int(parser.problem_mark.line) + 1, message: text)
        }
    }

    private func hexByte(_ value: Int32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + (digits.count < 2 ? "0" + digits : digits)
    }
}
