import CMosquitto
import OccupantCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An MQTT client over libmosquitto, with the network loop on a thread of its own.
///
/// The loop waits in `poll()` on the client's socket and an eventfd that `publish`, `subscribe` and `stop` write to,
/// then lets libmosquitto read, write and keep the connection alive (`mosquitto_loop_read`/`_write`/`_misc`). It
/// replaces `mosquitto_loop_start`: libmosquitto 2.0's own loop waits in `select()`, which cannot watch a socket
/// numbered past 1023 — a training host holding a thousand HTTP connections would reconnect to its broker on such a
/// socket, and that loop ends silently (`MOSQ_ERR_INVAL`) — and it wakes through a socket pair on every publish.
///
/// Callbacks arrive on the loop thread; each one is a capture-free closure that finds this object through `Unmanaged`
/// user data and yields an `MQTTEvent` into `events`. The loop reconnects with capped exponential backoff; callers
/// publish only while connected and keep their own bounded queue otherwise (the library's offline queue has no bound).
///
/// Received messages are never dropped: `events` buffers without bound, and with `MQTTOptions.holdUntilHandled` the
/// network thread waits in the message callback until the consumer confirms each message with `messageHandled()`.
/// libmosquitto 2.0 sends the PUBACK of a QoS 1 message just before that callback (eclipse-mosquitto issue #2884;
/// its development branch calls the callback first), so at most the one message being handled is acknowledged and
/// not yet stored; the broker keeps — and queues for a persistent session — everything after it.
public final class MosquittoClient: Sendable {
    public let options: MQTTOptions
    public let events: AsyncStream<MQTTEvent>

    // The handle is used from any thread: libmosquitto locks internally once `mosquitto_threaded_set` is on.
    private let handle: Handle
    /// Written to wake the loop thread (a publish to send, a stop); read by the loop.
    private let wake: Int32
    /// Signalled when the loop thread has ended.
    private let loopEnded = ThreadCondition()
    private let continuation: AsyncStream<MQTTEvent>.Continuation
    private let state = Mutex(State())
    private let handOff = HandOff()
    /// Whether each PUBACK is yielded as `.delivered` (see `reportDeliveries`).
    private let deliveryReports = Atomic<Bool>(true)

    private struct State {
        var started = false
        var connected = false
        var loopRunning = false
        /// Whether the broker answered the current connection attempt (CONNACK, accepted or not): a socket that fails
        /// before that is a failed attempt, retried quietly, not a lost connection.
        var answered = false
        var dropped = 0
    }

    /// An opaque C pointer, safe to share: libmosquitto locks internally (`mosquitto_threaded_set`).
    private struct Handle: @unchecked Sendable { let pointer: OpaquePointer }

    private static let libraryInit: Void = {
        mosquitto_lib_init()
    }()

    public init(options: MQTTOptions) throws(OccupantError) {
        _ = MosquittoClient.libraryInit
        self.options = options
        (events, continuation) = AsyncStream.makeStream(of: MQTTEvent.self, bufferingPolicy: .unbounded)
        let wake = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wake >= 0 else {
            throw OccupantError(.mqtt, "cannot create an MQTT client: eventfd failed (errno \(errno))")
        }
        guard let pointer = mosquitto_new(options.clientID, options.cleanSession, nil) else {
            close(wake)
            throw OccupantError(
                .mqtt, "cannot create an MQTT client (out of memory or invalid client id '\(options.clientID)')")
        }
        self.wake = wake
        handle = Handle(pointer: pointer)
        mosquitto_user_data_set(pointer, Unmanaged.passUnretained(self).toOpaque())
        try configure()
    }

    deinit {
        // A started client is kept alive by its loop thread until `stop()`: here the loop has ended.
        mosquitto_destroy(handle.pointer)
        close(wake)
        continuation.finish()
    }

    private func configure() throws(OccupantError) {
        let m = handle.pointer
        _ = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311)
        // Our loop thread, not libmosquitto's: calls from other threads queue their packets for it.
        try check(mosquitto_threaded_set(m, true), "setting up the network loop")
        if let username = options.username {
            try check(mosquitto_username_pw_set(m, username, options.password), "setting the username")
        }
        if let tls = options.tls {
            try check(
                mosquitto_tls_set(m, tls.caFile, nil, tls.certFile, tls.keyFile, nil),
                "setting up TLS (CA \(tls.caFile))")
            // Verify the broker's certificate; TLS 1.2 or newer (1.0 and 1.1 are refused).
            try check(mosquitto_tls_opts_set(m, 1, "tlsv1.2", nil), "setting the TLS version (1.2 or newer)")
            if tls.insecure { _ = mosquitto_tls_insecure_set(m, true) }
        }
        if let will = options.will {
            let rc = will.payload.withUnsafeBytes { bytes in
                mosquitto_will_set(m, will.topic, Int32(bytes.count), bytes.baseAddress, will.qos, will.retain)
            }
            try check(rc, "setting the last will on \(will.topic)")
        }
        mosquitto_connect_callback_set(m) { _, user, rc in
            guard let user else { return }
            Unmanaged<MosquittoClient>.fromOpaque(user).takeUnretainedValue().didConnect(rc)
        }
        mosquitto_disconnect_callback_set(m) { _, user, rc in
            guard let user else { return }
            Unmanaged<MosquittoClient>.fromOpaque(user).takeUnretainedValue().didDisconnect(rc)
        }
        mosquitto_message_callback_set(m) { _, user, message in
            guard let user, let message else { return }
            let m = message.pointee
            let topic = String(cString: m.topic)
            var payload: [UInt8] = []
            if let bytes = m.payload, m.payloadlen > 0 {
                payload = Array(UnsafeRawBufferPointer(start: bytes, count: Int(m.payloadlen)))
            }
            Unmanaged<MosquittoClient>.fromOpaque(user).takeUnretainedValue()
                .didReceive(MQTTMessage(topic: topic, payload: payload, qos: m.qos, retain: m.retain))
        }
        mosquitto_publish_callback_set(m) { _, user, mid in
            guard let user else { return }
            let client = Unmanaged<MosquittoClient>.fromOpaque(user).takeUnretainedValue()
            if client.deliveryReports.load(ordering: .relaxed) { client.continuation.yield(.delivered(mid)) }
        }
    }

    private func didConnect(_ rc: Int32) {
        if rc == 0 {
            state.withLock {
                $0.connected = true
                $0.answered = true
            }
            continuation.yield(.connected)
        } else {
            state.withLock { $0.answered = true }
            continuation.yield(.refused(String(cString: mosquitto_connack_string(rc))))
        }
    }

    /// On the network thread: hands the message over and, with `holdUntilHandled`, waits until it is handled (or the
    /// client stops), which holds back its PUBACK and every later message.
    private func didReceive(_ message: MQTTMessage) {
        let hold = options.holdUntilHandled
        if hold { handOff.begin() }
        switch continuation.yield(.message(message)) {
        case .enqueued:
            if hold { handOff.waitUntilHandled() }
        case .dropped, .terminated:
            if hold { handOff.handled() }
            state.withLock { $0.dropped += 1 }
        @unknown default:
            state.withLock { $0.dropped += 1 }
        }
    }

    /// Confirms the oldest message taken from `events` as handled (stored): with `holdUntilHandled`, libmosquitto
    /// then acknowledges it and reads the next one. Without, it does nothing.
    public func messageHandled() {
        if options.holdUntilHandled { handOff.handled() }
    }

    /// Whether every PUBACK is reported as `.delivered` in `events` (the default). A publisher that does not wait for
    /// acknowledgements turns them off: each one would wake the consumer of `events` for nothing (twice a cycle for
    /// a gateway at 10 Hz). Turn them on before publishing a message whose acknowledgement is awaited.
    public func reportDeliveries(_ on: Bool) {
        deliveryReports.store(on, ordering: .relaxed)
    }

    /// Messages received but never handed to `events` (the stream had ended): zero unless the client was stopped
    /// while the broker was still delivering.
    public var droppedMessages: Int { state.withLock { $0.dropped } }

    private func didDisconnect(_ rc: Int32) {
        let answered = state.withLock { s in
            defer {
                s.connected = false
                s.answered = false
            }
            return s.answered
        }
        // A connection the broker never answered is a failed attempt (refused, reset, timed out): retried quietly.
        guard answered || rc == 0 else { return }
        continuation.yield(
            .disconnected(
                rc == 0 ? "disconnected by request" : "connection lost (\(String(cString: mosquitto_strerror(rc))))"))
    }

    /// True between CONNACK and the next disconnect.
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// The connection's socket (-1 when there is none), for tests.
    var socketDescriptor: Int32 { mosquitto_socket(handle.pointer) }

    /// Starts connecting in the background and keeps trying until the broker answers; reconnects after a
    /// connection is lost, with the capped exponential backoff of `reconnectMin`…`reconnectMax` seconds.
    public func start() throws(OccupantError) {
        let alreadyStarted = state.withLock { s in
            defer { s.started = true }
            return s.started
        }
        guard !alreadyStarted else { return }
        handOff.reset()
        let rc = mosquitto_connect_async(handle.pointer, options.host, Int32(options.port), Int32(options.keepalive))
        guard rc == MOSQ_ERR_SUCCESS.rawValue || Self.retryable(rc) else {
            state.withLock { $0.started = false }
            throw OccupantError(
                .mqtt, "cannot connect to \(options.endpoint): \(String(cString: mosquitto_strerror(rc)))")
        }
        state.withLock { $0.loopRunning = true }
        // The loop thread keeps the client alive until `stop()` ends it.
        detachThread { self.runLoop() }
    }

    /// Refused, unreachable, not resolvable (yet), or a TLS handshake that failed (an unknown CA, a broker
    /// mid-restart): tried again later; the gateway reports an unreachable broker and keeps deciding.
    private static func retryable(_ rc: Int32) -> Bool {
        switch rc {
        case MOSQ_ERR_ERRNO.rawValue, MOSQ_ERR_NO_CONN.rawValue, MOSQ_ERR_EAI.rawValue, MOSQ_ERR_TLS.rawValue,
            MOSQ_ERR_TLS_HANDSHAKE.rawValue, MOSQ_ERR_CONN_LOST.rawValue:
            return true
        default:
            return false
        }
    }

    /// The network loop, on its own thread, until `stop()` (or deinit) and the DISCONNECT is out.
    private func runLoop() {
        let m = handle.pointer
        let (minDelay, maxDelay) = (
            Double(max(1, options.reconnectMin)), Double(max(options.reconnectMin, options.reconnectMax, 1))
        )
        var delay = minDelay
        var stopDeadline: Double?
        defer {
            state.withLock { $0.loopRunning = false }
            loopEnded.lock()
            loopEnded.broadcast()
            loopEnded.unlock()
        }
        while true {
            let running = state.withLock { $0.started }
            if !running {
                // Stopping: give the DISCONNECT queued by `stop()` up to a second to go out, then end.
                let now = monotonicSeconds()
                if stopDeadline == nil { stopDeadline = now + 1 }
                if mosquitto_socket(m) < 0 || now >= stopDeadline! || !mosquitto_want_write(m) { return }
            }
            let socket = mosquitto_socket(m)
            if socket < 0 {
                // Not connected: wait out the backoff (a stop wakes us), then try again.
                // Each attempt, failed at once or later, doubles the next wait; a CONNACK resets it.
                if !running { return }
                wait(socket: -1, wantWrite: false, seconds: delay)
                guard state.withLock({ $0.started }) else { return }
                _ = mosquitto_reconnect_async(m)
                delay = min(delay * 2, maxDelay)
                continue
            }
            var rc = MOSQ_ERR_SUCCESS.rawValue
            if wait(socket: socket, wantWrite: mosquitto_want_write(m), seconds: 1) { rc = mosquitto_loop_read(m, 1) }
            if rc == MOSQ_ERR_SUCCESS.rawValue && mosquitto_socket(m) >= 0 && mosquitto_want_write(m) {
                rc = mosquitto_loop_write(m, 1)
            }
            if rc == MOSQ_ERR_SUCCESS.rawValue && mosquitto_socket(m) >= 0 { rc = mosquitto_loop_misc(m) }
            if state.withLock({ $0.connected }) { delay = minDelay }
        }
    }

    /// Waits until `socket` has something to read (or room to write, when `wantWrite`), the eventfd is written, or
    /// `seconds` pass; true when the socket is readable (or failed: the read then reports it).
    @discardableResult
    private func wait(socket: Int32, wantWrite: Bool, seconds: Double) -> Bool {
        // Two pollfds on the stack: this runs for every publish and every acknowledgement.
        var fds = (
            pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
            pollfd(fd: socket, events: Int16(POLLIN) | (wantWrite ? Int16(POLLOUT) : 0), revents: 0)
        )
        let count = socket >= 0 ? 2 : 1
        let rc = withUnsafeMutableBytes(of: &fds) { bytes in
            poll(bytes.baseAddress!.assumingMemoryBound(to: pollfd.self), nfds_t(count), Int32(seconds * 1000))
        }
        if rc > 0 && fds.0.revents != 0 {
            var value: UInt64 = 0
            _ = read(wake, &value, 8)
        }
        return rc > 0 && count == 2 && fds.1.revents & Int16(POLLIN | POLLERR | POLLHUP) != 0
    }

    /// Wakes the loop thread (a packet queued, a stop).
    private func poke() {
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    /// Ends the loop thread and waits until it has.
    private func endLoop() {
        state.withLock { $0.started = false }
        poke()
        loopEnded.lock()
        while state.withLock({ $0.loopRunning }) { loopEnded.wait() }
        loopEnded.unlock()
    }

    /// Hands one message to the library. Returns the message id; throws when not connected or the library refuses.
    @discardableResult
    public func publish(_ message: MQTTMessage) throws(OccupantError) -> Int32 {
        guard isConnected else { throw OccupantError(.mqtt, "not connected to \(options.endpoint)") }
        var mid: Int32 = 0
        let rc = message.payload.withUnsafeBytes { bytes in
            mosquitto_publish(
                handle.pointer, &mid, message.topic, Int32(bytes.count), bytes.baseAddress, message.qos, message.retain)
        }
        try check(rc, "publishing to \(message.topic)")
        poke()
        return mid
    }

    public func subscribe(_ topic: String, qos: Int32 = 1) throws(OccupantError) {
        try check(mosquitto_subscribe(handle.pointer, nil, topic, qos), "subscribing to \(topic)")
        poke()
    }

    /// A clean disconnect (the broker does not send the will), then stops the network thread.
    public func stop() {
        let started = state.withLock { $0.started }
        guard started else { return }
        mosquitto_disconnect(handle.pointer)
        // A message callback waiting for its hand-off must return, or the network thread never ends. The message
        // is still in `events`: the consumer drains what is buffered before the stream ends.
        handOff.release()
        endLoop()
        state.withLock { $0.connected = false }
        continuation.finish()
    }

    private func check(_ rc: Int32, _ what: String) throws(OccupantError) {
        guard rc != MOSQ_ERR_SUCCESS.rawValue else { return }
        throw OccupantError(
            .mqtt, "MQTT \(options.endpoint): \(what) failed: \(String(cString: mosquitto_strerror(rc)))")
    }
}

/// The network thread's wait for the consumer: how many messages are out in `events` and not yet handled.
private final class HandOff: @unchecked Sendable {
    // @unchecked: every field is read and written with `condition` locked.
    private let condition = ThreadCondition()
    private var outstanding = 0
    private var released = false

    func begin() {
        condition.lock()
        outstanding += 1
        condition.unlock()
    }

    func waitUntilHandled() {
        condition.lock()
        while outstanding > 0 && !released { condition.wait() }
        condition.unlock()
    }

    func handled() {
        condition.lock()
        outstanding = max(0, outstanding - 1)
        condition.broadcast()
        condition.unlock()
    }

    /// Stops every wait, now and later (the client is stopping).
    func release() {
        condition.lock()
        released = true
        condition.broadcast()
        condition.unlock()
    }

    func reset() {
        condition.lock()
        released = false
        outstanding = 0
        condition.unlock()
    }
}
