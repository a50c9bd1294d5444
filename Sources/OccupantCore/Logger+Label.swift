import Logging

extension Logger {
    /// A logger with the same level and a new label (one per subsystem: `mqtt`, `model`, `http`…).
    public func with(label: String) -> Logger {
        var copy = Logger(label: label)
        copy.logLevel = logLevel
        return copy
    }
}
