import Logging
import Synchronization

/// Logs refused credentials (never the token itself), at most one line per `interval` seconds; the lines in between
/// are counted and the count is reported with the next line.
final class LoginRefusals: Sendable {
    let logger: Logger
    let interval: Duration
    private let state = Mutex<(last: ContinuousClock.Instant?, suppressed: Int)>((nil, 0))

    init(logger: Logger, interval: Duration = .seconds(10)) {
        self.logger = logger
        self.interval = interval
    }

    func refused(_ message: String) {
        let now = ContinuousClock.now
        let suppressed: Int? = state.withLock { s in
            if let last = s.last, now - last < interval {
                s.suppressed += 1
                return nil
            }
            defer { s = (now, 0) }
            return s.suppressed
        }
        guard let suppressed else { return }
        let more = suppressed > 0 ? " (\(suppressed) more refused since the last message)" : ""
        logger.warning("refused: \(message)\(more)")
    }
}
