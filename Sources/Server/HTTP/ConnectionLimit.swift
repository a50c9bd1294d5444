import Foundation
import HummingbirdCore
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How many HTTP connections the server keeps open: below the process's file limit, so that a crowd of idle sockets
/// cannot take the descriptors SQLite, the artifacts and MQTT need (issue 11: 1,010 idle sockets stopped a server with
/// the default limit of 1024).
enum ConnectionLimit {
    /// Descriptors kept for everything that is not an HTTP connection.
    static let reserve = 64

    /// The soft `RLIMIT_NOFILE` of this process (nil when it cannot be read or is unlimited).
    static func fileLimit() -> Int? {
        var limit = rlimit()
        #if canImport(Glibc)
            let rc = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        #else
            let rc = getrlimit(RLIMIT_NOFILE, &limit)
        #endif
        // RLIM_INFINITY is all ones: above Int.max.
        guard rc == 0, limit.rlim_cur < rlim_t(Int.max) else { return nil }
        return Int(limit.rlim_cur)
    }

    /// libmosquitto waits on its socket with `pselect`, which cannot watch a descriptor above FD_SETSIZE (1024): with
    /// MQTT on, HTTP connections stay at three quarters of that so the broker socket, which takes the lowest free
    /// descriptor when it reconnects, always gets one select can watch.
    static let withMQTT = 768

    /// The default: three quarters of the file limit, leaving at least `reserve` descriptors (at least 16); with MQTT
    /// on, at most `withMQTT`.
    static func derived(fileLimit: Int?, mqtt: Bool) -> Int {
        let byFiles = fileLimit.map { max(16, min($0 * 3 / 4, $0 - reserve)) } ?? 16_384
        return mqtt ? min(byFiles, withMQTT) : byFiles
    }

    /// `configured` if it fits under the file limit (and under `withMQTT` when MQTT is on), else the largest value
    /// that does, with a warning naming why.
    static func resolve(configured: Int?, fileLimit: Int?, mqtt: Bool, logger: Logger) -> Int {
        guard let configured else { return derived(fileLimit: fileLimit, mqtt: mqtt) }
        var limit = configured
        if let fileLimit, limit > fileLimit - reserve {
            limit = max(16, fileLimit - reserve)
            logger.warning(
                "http.maxConnections \(configured) is not below the file limit \(fileLimit) (LimitNOFILE); using \(limit)"
            )
        }
        if mqtt, limit > withMQTT {
            logger.warning(
                "http.maxConnections \(limit) would let the MQTT socket get a descriptor above 1023, which libmosquitto cannot watch; using \(withMQTT)"
            )
            limit = withMQTT
        }
        return limit
    }
}

/// Hummingbird's accept-side gate: once `maximum` connections are open the server stops accepting (new connections
/// wait in the listen backlog) until one closes; reaching the limit is logged, at most once a minute.
struct LoggedConnectionLimit: AvailableConnectionsDelegate {
    let maximum: Int
    let logger: Logger
    var open = 0
    /// When the limit was last logged, and how many times it was reached since.
    var lastLogged: ContinuousClock.Instant?
    var reachedSinceLog = 0

    init(maximum: Int, logger: Logger) {
        self.maximum = maximum
        self.logger = logger
    }

    mutating func connectionOpened() {
        open += 1
        guard open >= maximum else { return }
        reachedSinceLog += 1
        let now = ContinuousClock.now
        if let last = lastLogged, now - last < .seconds(60) { return }
        let since = reachedSinceLog > 1 ? " (reached \(reachedSinceLog) times since the last message)" : ""
        logger.warning(
            "connection limit reached: \(open) HTTP connections open (http.maxConnections \(maximum)); new connections wait until one closes\(since)",
            metadata: ["http.connections": "\(open)"])
        lastLogged = now
        reachedSinceLog = 0
    }

    mutating func connectionClosed() { open -= 1 }

    func isAcceptingNewConnections() -> Bool { open < maximum }
}
