import CMosquitto
import OccupantCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An MQTT client over libmosquitto's threaded loop.
///
/// Callbacks arrive on libmosquitto's own thread; each one is a capture-free closure that finds this object through
/// `Unmanaged` user data and yields an `MQTTEvent` into `events`. The library reconnects by itself with capped
/// exponential backoff; callers publish only while connected and keep their own bounded queue otherwise (the library's
/// offline queue has no bound).
///
/// Received messages are never dropped: `events` buffers without bound, and with `MQTTOptions.holdUntilHandled` the
/// network thread waits in the message callback until the consumer confirms each message with `messageHandled()`.
/// libmosquitto 2.0 sends the PUBACK of a QoS 1 message just before that callback (eclipse-mosquitto issue #2884;
/// its development branch calls the callback first), so at most the one message being handled is acknowledged and
/// not yet stored; the broker keeps — and queues for a persistent session — everything after it.
public final class MosquittoClient: Sendable {
    public let options: MQTTOptions
    public let events: AsyncStream<MQTTEvent>

    // The handle is used from any thread: libmosquitto's calls are thread-safe with the threaded loop.
    private let handle: Handle
    private let continuation: AsyncStream<MQTTEvent>.Continuation
    private let state = Mutex(State())
    private let handOff = HandOff()
    /// Whether each PUBACK is yielded as `.delivered` (see `reportDeliveries`).
    private let deliveryReports = Atomic<Bool>(true)

    private struct State {
        var started = false
        var connected = false
        var loopRunning = false
        var dropped = 0
    }

    /// An opaque C pointer, safe to share: libmosquitto locks internally when its threaded loop is running.
    private struct Handle: @unchecked Sendable { let pointer: OpaquePointer }

    private static let libraryInit: Void = {
        mosquitto_lib_init()
    }()

    public init(options: MQTTOptions) throws(OccupantError) {
        _ = MosquittoClient.libraryInit
        self.options = options
        (events, continuation) = AsyncStream.makeStream(of: MQTTEvent.self, bufferingPolicy: .unbounded)
        guard let pointer = mosquitto_new(options.clientID, options.cleanSession, nil) else {
            throw OccupantError(
                .mqtt, "cannot create an MQTT client (out of memory or invalid client id '\(options.clientID)')")
        }
        handle = Handle(pointer: pointer)
        mosquitto_user_data_set(pointer, Unmanaged.passUnretained(self).toOpaque())
        try configure()
    }

    deinit {
        handOff.release()
        mosquitto_loop_stop(handle.pointer, true)
        mosquitto_destroy(handle.pointer)
        continuation.finish()
    }

    private func configure() throws(OccupantError) {
        let m = handle.pointer
        _ = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311)
        mosquitto_reconnect_delay_set(m, UInt32(options.reconnectMin), UInt32(options.reconnectMax), true)
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
            state.withLock { $0.connected = true }
            continuation.yield(.connected)
        } else {
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
        state.withLock { $0.connected = false }
        continuation.yield(
            .disconnected(
                rc == 0 ? "disconnected by request" : "connection lost (\(String(cString: mosquitto_strerror(rc))))"))
    }

    /// True between CONNACK and the next disconnect.
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// Starts connecting in the background and keeps trying until the broker answers.
    ///
    /// libmosquitto's own loop reconnects after a connection it once had is lost, but when the very first connect
    /// fails at once (connection refused) it never tries again: that first attempt is retried here, with the same
    /// capped exponential backoff.
    public func start() throws(OccupantError) {
        let alreadyStarted = state.withLock { s in
            defer { s.started = true }
            return s.started
        }
        guard !alreadyStarted else { return }
        handOff.reset()
        if try connectOnce() { return }
        let (minDelay, maxDelay) = (
            Double(max(1, options.reconnectMin)), Double(max(options.reconnectMin, options.reconnectMax))
        )
        Task.detached { [weak self] in
            var delay = minDelay
            while true {
                try? await Task.sleep(for: .seconds(delay))
                guard let self, self.state.withLock({ $0.started }) else { return }
                if (try? self.connectOnce()) == true { return }
                delay = min(delay * 2, maxDelay)
            }
        }
    }

    /// One connection attempt; true once the network thread is running (and will handle reconnects itself).
    private func connectOnce() throws(OccupantError) -> Bool {
        let rc = mosquitto_connect_async(handle.pointer, options.host, Int32(options.port), Int32(options.keepalive))
        switch rc {
        case MOSQ_ERR_SUCCESS.rawValue:
            try check(mosquitto_loop_start(handle.pointer), "starting the network thread")
            state.withLock { $0.loopRunning = true }
            return true
        case MOSQ_ERR_ERRNO.rawValue, MOSQ_ERR_NO_CONN.rawValue, MOSQ_ERR_EAI.rawValue, MOSQ_ERR_TLS.rawValue,
            MOSQ_ERR_TLS_HANDSHAKE.rawValue:
            // Refused, unreachable, not resolvable (yet), or a TLS handshake that failed (an unknown CA, a broker
            // mid-restart): try again later; the gateway reports an unreachable broker and keeps deciding.
            return false
        default:
            throw OccupantError(
                .mqtt, "cannot connect to \(options.endpoint): \(String(cString: mosquitto_strerror(rc)))")
        }
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
        return mid
    }

    public func subscribe(_ topic: String, qos: Int32 = 1) throws(OccupantError) {
        try check(mosquitto_subscribe(handle.pointer, nil, topic, qos), "subscribing to \(topic)")
    }

    /// A clean disconnect (the broker does not send the will), then stops the network thread.
    public func stop() {
        let (started, loopRunning) = state.withLock { ($0.started, $0.loopRunning) }
        guard started else { return }
        mosquitto_disconnect(handle.pointer)
        // A message callback waiting for its hand-off must return, or the network thread never ends. The message
        // is still in `events`: the consumer drains what is buffered before the stream ends.
        handOff.release()
        if loopRunning { mosquitto_loop_stop(handle.pointer, false) }
        state.withLock {
            $0.started = false
            $0.connected = false
            $0.loopRunning = false
        }
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
