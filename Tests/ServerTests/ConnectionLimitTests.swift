import Foundation
import Logging
import Testing

@testable import Server

/// `http.maxConnections`: below the file limit, and below FD_SETSIZE while MQTT (libmosquitto's pselect) is on.
@Suite struct ConnectionLimitTests {
    @Test(
        arguments: [
            // configured, file limit, MQTT on → limit
            (nil, 1024, true, 768), (nil, 1024, false, 768), (nil, 8192, true, 768), (nil, 8192, false, 6144),
            (nil, 100, false, 36), (nil, nil, false, 16_384), (500, 8192, true, 500), (5000, 1024, false, 960),
            (2000, 8192, true, 768), (2000, 8192, false, 2000),
        ] as [(Int?, Int?, Bool, Int)])
    func resolved(configured: Int?, fileLimit: Int?, mqtt: Bool, expected: Int) {
        let limit = ConnectionLimit.resolve(
            configured: configured, fileLimit: fileLimit, mqtt: mqtt, logger: Logger(label: "test"))
        #expect(limit == expected)
    }

    @Test func theProcessFileLimitIsRead() {
        #expect((ConnectionLimit.fileLimit() ?? 0) > 0)
    }

    @Test func reachingTheLimitStopsAcceptingAndIsLoggedOnceAMinute() {
        let log = CapturedLog()
        var limit = LoggedConnectionLimit(maximum: 3, logger: Logger(label: "test") { _ in log })
        for _ in 0..<3 { limit.connectionOpened() }
        #expect(!limit.isAcceptingNewConnections())
        #expect(
            log.lines == [
                "connection limit reached: 3 HTTP connections open (http.maxConnections 3); new connections wait until one closes"
            ])
        limit.connectionClosed()
        #expect(limit.isAcceptingNewConnections())
        limit.connectionOpened()
        #expect(!limit.isAcceptingNewConnections())
        #expect(log.lines.count == 1)
    }
}

/// Warnings and above, kept in memory.
final class CapturedLog: LogHandler, @unchecked Sendable {
    // @unchecked: `stored` is only touched under `lock`; the other properties are set before the logger is shared.
    private let lock = NSLock()
    private var stored: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.withLock { stored.append(event.message.description) }
    }

    var lines: [String] { lock.withLock { stored } }
}
