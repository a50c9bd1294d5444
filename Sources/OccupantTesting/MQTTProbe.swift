import Foundation
import MQTT
import Synchronization

/// A subscriber for tests: a real MQTT client that records every message it receives.
public final class MQTTProbe: Sendable {
    public let client: MosquittoClient
    private let received = Locked<[MQTTMessage]>([])
    /// Every connection event (connected, refused, disconnected) in order, for the error when no CONNACK comes.
    private let connectionEvents = Locked<[String]>([])
    private let task: Task<Void, Never>

    public init(
        port: Int, subscriptions: [String], clientID: String = "probe-\(UUID().uuidString.prefix(8))",
        username: String? = nil, password: String? = nil
    ) async throws {
        let client = try MosquittoClient(
            options: MQTTOptions(
                host: "127.0.0.1", port: port, clientID: clientID, username: username, password: password,
                reconnectMin: 1, reconnectMax: 1))
        self.client = client
        let received = self.received
        let connectionEvents = self.connectionEvents
        task = Task {
            for await event in client.events {
                switch event {
                case .connected:
                    for topic in subscriptions { try? client.subscribe(topic, qos: 1) }
                    connectionEvents.withLock { $0.append("connected") }
                case .refused(let why):
                    connectionEvents.withLock { $0.append("refused: \(why)") }
                case .disconnected(let why):
                    connectionEvents.withLock { $0.append("disconnected: \(why)") }
                case .message(let m):
                    received.withLock { $0.append(m) }
                case .delivered: break
                }
            }
        }
        try client.start()
        do {
            _ = try await waitUntil(timeout: 30, "probe connected") {
                connectionEvents.withLock { $0.contains("connected") } ? true : nil
            }
        } catch {
            client.stop()
            task.cancel()
            let events = connectionEvents.withLock { $0 }
            throw HarnessError(
                "MQTT probe \(clientID) got no CONNACK from 127.0.0.1:\(port) in 30 s; events: "
                    + (events.isEmpty ? "none" : events.joined(separator: "; ")))
        }
        // Give the broker a moment to register the subscriptions (SUBACK is not awaited).
        try await Task.sleep(for: .milliseconds(200))
    }

    deinit {
        client.stop()
        task.cancel()
    }

    public var messages: [MQTTMessage] { received.withLock { $0 } }

    public func messages(on topic: String) -> [MQTTMessage] { messages.filter { $0.topic == topic } }

    public func clear() { received.withLock { $0.removeAll() } }

    /// Waits until a message on `topic` satisfies `predicate`; returns it.
    @discardableResult
    public func waitFor(
        _ topic: String, timeout: Double = 20, after index: Int = 0, _ what: String = "",
        where predicate: @escaping (MQTTMessage) -> Bool = { _ in true }
    ) async throws -> MQTTMessage {
        try await waitUntil(timeout: timeout, "a message on \(topic) \(what)") {
            let all = self.messages
            return all.dropFirst(min(index, all.count)).first { $0.topic == topic && predicate($0) }
        }
    }

    public func publish(_ message: MQTTMessage) throws {
        try client.publish(message)
    }
}

/// Polls `condition` every 20 ms until it returns a value or `timeout` seconds pass; never blocks a thread.
@discardableResult
public func waitUntil<T>(timeout: Double, _ what: String, _ condition: () -> T?) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let value = condition() { return value }
        try await Task.sleep(for: .milliseconds(20))
    }
    // Once more at the deadline: a wake-up that came late must not turn a condition that holds into a failure.
    if let value = condition() { return value }
    throw HarnessError("timed out after \(timeout) s waiting for \(what)")
}

/// The same for conditions that must await (an HTTP request, say); polls every 100 ms.
@discardableResult
public func waitUntil<T>(timeout: Double, _ what: String, _ condition: () async throws -> T?) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let value = try? await condition() { return value }
        try await Task.sleep(for: .milliseconds(100))
    }
    if let value = try? await condition() { return value }
    throw HarnessError("timed out after \(timeout) s waiting for \(what)")
}

/// Decodes a JSON payload into a dictionary.
public func jsonObject(_ message: MQTTMessage) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(message.payload))) as? [String: Any]
}

/// A value behind a lock, shareable by reference.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    public init(_ value: Value) { mutex = Mutex(value) }
    public func withLock<R>(_ body: (inout sending Value) throws -> sending R) rethrows -> R {
        try mutex.withLock(body)
    }
}
