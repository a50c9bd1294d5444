/// A request on the gateway's control socket (one line each way).
public enum ControlCommand: String, Sendable, CaseIterable {
    /// Switch the running loop to the store's active bundle.
    case activate
    /// What decides now.
    case status
}

/// The daemon's answer to a `ControlCommand`, as one line: `ok <model>`, `refused <reason>`, `status <who>` or
/// `error <message>`.
public enum ControlReply: Sendable, Equatable {
    case activated(String)
    case refused(String)
    case status(String)
    case error(String)

    public var line: String {
        switch self {
        case .activated(let model): return "ok \(model)"
        case .refused(let reason): return "refused \(reason)"
        case .status(let decidedBy): return "status \(decidedBy)"
        case .error(let message): return "error \(message)"
        }
    }

    public init(line: String) {
        let (word, rest) =
            line.firstIndex(of: " ").map { (line[..<$0], String(line[line.index(after: $0)...])) }
            ?? (Substring(line), "")
        switch word {
        case "ok": self = .activated(rest)
        case "refused": self = .refused(rest)
        case "status": self = .status(rest)
        case "error": self = .error(rest)
        default: self = .error("unexpected reply '\(line)'")
        }
    }
}
