import AsyncHTTPClient
import Foundation
import Logging
import MQTT
import NIOCore
import OccupantCore
import ServiceLifecycle

/// Delivers the outbox's entries (`Outbox`): at once when this process adds one or the broker comes back, when the
/// next waiting entry falls due (a failed one's retry, a dead holder's lease), and — on a store other processes write
/// too — every `interval` seconds for entries they add and leave (they died, or their delivery failed). A lone SQLite
/// process (`interval` nil) does not poll: only it writes the outbox, and it wakes its own drainer. An MQTT entry
/// counts as delivered when the broker acknowledges it (QoS 1 `PUBACK`), a webhook entry when the hook answers 2xx; a
/// failed one is tried again after a back-off (1 s doubling to 30 s), by whichever process claims it first.
struct OutboxDrainer: Service {
    let outbox: any Outbox
    let mqtt: ServerMQTT
    let logger: Logger
    let holder: String
    let wakes: AsyncStream<Void>
    let waker: AsyncStream<Void>.Continuation
    /// Seconds between looks for entries nobody woke this process for (nil: none, only this process writes).
    let interval: Double?
    /// Seconds a claim holds an entry (a process that dies holding one leaves it to another after this).
    static let lease = 60.0
    /// Seconds to wait for the broker's acknowledgement or the webhook's answer.
    static let timeout = 10.0

    func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                let (ticks, tick) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
                group.addTask {
                    for await _ in wakes { tick.yield() }
                    tick.finish()
                }
                tick.yield()
                var timer: Task<Void, Never>?
                for await _ in ticks {
                    if Task.isShuttingDownGracefully || Task.isCancelled { break }
                    timer?.cancel()
                    // A store that cannot be read is looked at again in 5 s, not at once.
                    let drained = await drain()
                    if let wait = drained ? await nextWake() : 5 {
                        timer = Task {
                            try? await Task.sleep(for: .seconds(wait))
                            if !Task.isCancelled { tick.yield() }
                        }
                    }
                }
                timer?.cancel()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            waker.finish()
        }
    }

    /// Delivers what is due, a few entries at a time, until nothing is; false when the outbox could not be read.
    @discardableResult
    func drain() async -> Bool {
        while !Task.isCancelled {
            let batch: [OutboxEntry]
            do {
                batch = try await outbox.claim(holder: holder, lease: Self.lease, limit: 16)
            } catch {
                logger.error("outbox: cannot claim entries: \(error)")
                return false
            }
            if batch.isEmpty { return true }
            for entry in batch {
                do {
                    try await deliver(entry)
                    try await outbox.delivered(entry, holder: holder)
                } catch let refused as Refused {
                    // The webhook refused the message itself (4xx): sending it again would not help.
                    logger.error("outbox: \(entry.target) refused a message: \(refused.text); dropped")
                    try? await outbox.delivered(entry, holder: holder)
                } catch {
                    let retry = OutboxDrainerBackoff.seconds(attempts: entry.attempts)
                    logger.warning(
                        "outbox: \(entry.channel.rawValue) \(entry.target): \(error); trying again in \(Int(retry)) s (attempt \(entry.attempts))"
                    )
                    try? await outbox.failed(entry, holder: holder, retryIn: retry, error: "\(error)")
                }
            }
        }
        return true
    }

    /// Seconds until the drainer looks again unwoken: when the next waiting entry falls due, at most `interval`;
    /// nil: nothing waits and nothing polls (until woken). A store error is looked at again after 5 s.
    func nextWake() async -> Double? {
        do {
            return Self.wake(due: try await outbox.nextDue(), interval: interval)
        } catch {
            logger.error("outbox: cannot read when the next entry is due: \(error)")
            return min(interval ?? 5, 5)
        }
    }

    static func wake(due: Double?, interval: Double?) -> Double? {
        // A floor, so an entry due now (another process's, just added) is not spun on.
        let due = due.map { max($0, 0.1) }
        guard let interval else { return due }
        return min(due ?? interval, interval)
    }

    struct Refused: Error {
        let text: String
    }

    func deliver(_ entry: OutboxEntry) async throws {
        switch entry.channel {
        case .mqtt:
            try await mqtt.deliver(
                MQTTMessage(topic: entry.target, text: entry.payload, qos: 1, retain: entry.retain),
                timeout: Self.timeout)
        case .webhook:
            var request = HTTPClientRequest(url: entry.target)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: entry.payload))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(Self.timeout)))
            let code = Int(response.status.code)
            if (400..<500).contains(code) && code != 408 && code != 429 { throw Refused(text: "HTTP \(code)") }
            if code >= 300 { throw OccupantError(.io, "alert webhook answered \(code)") }
        }
    }
}

extension OutboxDrainer {
    /// The registry's announcer and the drainer for this store (nil: a store without an outbox); the broker's
    /// reconnects make failed MQTT entries due at once.
    static func wire(config: ServerConfig, store: any ServerStore, mqtt: ServerMQTT, logger: Logger) -> (
        announcer: any FleetAnnouncer, drainer: OutboxDrainer
    )? {
        let outbox: any Outbox
        let interval: Double?
        if let pg = store as? PostgresStore {
            outbox = PostgresOutbox(store: pg)
            interval = Self.sharedInterval
        } else if let sqlite = store as? SQLiteStore {
            // One process per state directory (`StateDirectoryLock`): nothing else adds entries.
            outbox = SQLiteOutbox(store: sqlite)
            interval = nil
        } else {
            return nil
        }
        let (wakes, waker) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let announcer = OutboxAnnouncer(
            outbox: outbox, topics: mqtt.topics, broker: config.broker != nil, webhook: config.alerts.webhook,
            logger: logger, wake: { waker.yield() })
        mqtt.onConnect.withLock {
            $0 = {
                Task {
                    try? await outbox.retryNow(channel: .mqtt)
                    waker.yield()
                }
            }
        }
        let drainer = OutboxDrainer(
            outbox: outbox, mqtt: mqtt, logger: logger, holder: InProcessJobQueue.processHolder(), wakes: wakes,
            waker: waker, interval: interval)
        return (announcer, drainer)
    }

    /// Seconds between looks for other processes' entries on a shared store (each process wakes its own drainer for
    /// what it adds, so this only catches what a dead or failing process left).
    static let sharedInterval = 10.0
}

/// The retry back-off of failed outbox entries.
enum OutboxDrainerBackoff {
    /// 1 s after the first failure, doubling up to 30 s.
    static func seconds(attempts: Int) -> Double { min(30, Double(1 << min(max(attempts - 1, 0), 5))) }
}
