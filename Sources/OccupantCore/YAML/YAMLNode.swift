/// One node of a composed YAML document: a scalar's text as written (no type resolution — the readers decide what a
/// scalar means), a mapping's pairs in document order, or a sequence. Aliases are resolved to the anchored node.
public enum YAMLNode: Sendable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(Sequence)

    /// A position in the document; `line` and `column` start at 1.
    public struct Mark: Sendable, Equatable {
        public let line: Int
        public let column: Int

        public init(line: Int, column: Int) {
            self.line = line
            self.column = column
        }
    }

    public struct Scalar: Sendable {
        public enum Style: Sendable, Equatable {
            case plain, singleQuoted, doubleQuoted, literal, folded
        }

        /// The text after unquoting and folding, exactly as libyaml scanned it.
        public let string: String
        public let style: Style
        public let mark: Mark

        public init(string: String, style: Style, mark: Mark) {
            self.string = string
            self.style = style
            self.mark = mark
        }

        /// True for `'…'` and `"…"`: the author said "this is text", e.g. `id: "007"`.
        public var isQuoted: Bool { style == .singleQuoted || style == .doubleQuoted }
    }

    /// A mapping's key/value pairs in document order (duplicate keys are kept; the readers report them).
    public struct Mapping: RandomAccessCollection, Sendable {
        public let pairs: [(key: YAMLNode, value: YAMLNode)]
        public let mark: Mark

        public init(pairs: [(key: YAMLNode, value: YAMLNode)], mark: Mark) {
            self.pairs = pairs
            self.mark = mark
        }

        public var startIndex: Int { pairs.startIndex }
        public var endIndex: Int { pairs.endIndex }
        public subscript(position: Int) -> (key: YAMLNode, value: YAMLNode) { pairs[position] }
    }

    public struct Sequence: RandomAccessCollection, Sendable {
        public let items: [YAMLNode]
        public let mark: Mark

        public init(items: [YAMLNode], mark: Mark) {
            self.items = items
            self.mark = mark
        }

        public var startIndex: Int { items.startIndex }
        public var endIndex: Int { items.endIndex }
        public subscript(position: Int) -> YAMLNode { items[position] }
    }

    /// Where the node starts.
    public var mark: Mark {
        switch self {
        case .scalar(let scalar): return scalar.mark
        case .mapping(let mapping): return mapping.mark
        case .sequence(let sequence): return sequence.mark
        }
    }

    public var scalar: Scalar? {
        if case .scalar(let scalar) = self { return scalar }
        return nil
    }
}
