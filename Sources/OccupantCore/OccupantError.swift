/// An error the world caused: a bad file, a bad value, a device or broker that did not answer.
///
/// `code` is stable (scripts and tests match on it); `message` is one line naming the thing that failed.
public struct OccupantError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let configuration = Code(rawValue: "configuration")
        public static let profile = Code(rawValue: "profile")
        public static let io = Code(rawValue: "io")
        public static let sensor = Code(rawValue: "sensor")
        public static let mqtt = Code(rawValue: "mqtt")
        public static let model = Code(rawValue: "model")
        public static let data = Code(rawValue: "data")
        public static let usage = Code(rawValue: "usage")
    }

    public var code: Code
    public var message: String
    public var cause: String?
    /// The system's error number when a system call failed (`ENOENT`, `EACCES`, `EIO`…), so callers need not match text.
    public var errno: Int32?

    public init(_ code: Code, _ message: String, cause: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
        self.errno = errno
    }

    public var description: String {
        if let cause { return "\(message): \(cause)" }
        return message
    }
}

/// Every problem found in one document (a profile or a configuration file), each naming its key path.
public struct DocumentErrors: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: OccupantError.Code
    public var source: String
    public var issues: [DocumentIssue]

    public init(code: OccupantError.Code, source: String, issues: [DocumentIssue]) {
        self.code = code
        self.source = source
        self.issues = issues
    }

    /// One line per issue, each prefixed with the file (and line where known).
    public var description: String {
        issues.map { issue in
            var location = source
            if let line = issue.line { location += ":\(line)" }
            return "\(location): \(issue.path.isEmpty ? "" : issue.path + ": ")\(issue.message)"
        }.joined(separator: "\n")
    }
}

/// One problem in a document: the dotted key path, the line (when the parser gives it) and what is wrong.
public struct DocumentIssue: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String

    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        (line.map { "line \($0): " } ?? "") + (path.isEmpty ? "" : path + ": ") + message
    }
}
