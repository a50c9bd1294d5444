import OccupantCore
import OccupantTesting
import Testing

@testable import MQTT

#if canImport(Glibc)
    import Glibc
#endif

/// libmosquitto 2.0's own loop waits in select(), which cannot watch a descriptor numbered 1024 or more: its network
/// thread ended silently and the client never saw a CONNACK (a full test run met it once the process held ~1,000
/// descriptors; a training host with a thousand HTTP connections would meet it on a broker reconnect). The client's
/// loop polls instead.
@Suite(.serialized) struct HighDescriptorTests {
    /// Raises the soft descriptor limit to allow `count` (false when the hard limit is lower).
    static func allowDescriptors(_ count: UInt) -> Bool {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return false }
        if limit.rlim_cur >= count { return true }
        guard limit.rlim_max >= count else { return false }
        limit.rlim_cur = count
        return setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0
    }

    @Test(.enabled(if: allowDescriptors(2048), "the hard descriptor limit is below 2,048"))
    func aClientWhoseSocketIsNumberedPast1023ConnectsAndRoundTrips() async throws {
        let broker = try await MosquittoBroker()
        defer { broker.stop() }
        // Fill the descriptor table up to 1,100, so the client's socket is numbered past 1023.
        var held: [Int32] = []
        defer { for fd in held { close(fd) } }
        while held.last.map({ $0 < 1100 }) ?? true {
            let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw HarnessError("open /dev/null: errno \(errno)") }
            held.append(fd)
        }
        let client = try MosquittoClient(options: MQTTOptions(port: broker.port, clientID: "high-descriptor"))
        let received = Locked<[String]>([])
        let task = Task {
            for await event in client.events {
                if case .message(let m) = event { received.withLock { $0.append(m.text) } }
            }
        }
        defer {
            task.cancel()
            client.stop()
        }
        try client.start()
        try await waitUntil(timeout: 10, "CONNACK") { client.isConnected ? true : nil }
        #expect(client.socketDescriptor >= 1024, "the test meant a socket past 1023, got \(client.socketDescriptor)")
        try client.subscribe("high/echo", qos: 1)
        try await waitUntil(timeout: 10, "our own message back") {
            if received.withLock({ $0.contains("ping") }) { return true }
            try? client.publish(MQTTMessage(topic: "high/echo", text: "ping", qos: 1))
            return nil
        }
    }
}
