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
}
