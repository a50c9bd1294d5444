import Foundation
import Logging
import OccupantCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Wakes an idle process for the fleet's jobs: `LISTEN occupant_jobs` on a connection of its own (outside the pool),
/// so a retrain command given to another process reaches this one at once; and a look every `jobLease` seconds for
/// jobs whose holders died (their leases expire without a notification). While the connection is down it looks every
/// 5 seconds, and reconnects.
struct JobListener: Service {
    let registry: ModelRegistry
    let settings: ServerConfig.Postgres
    let logger: Logger
    /// Seconds between looks while the `LISTEN` connection is down.
    static let fallbackPoll: Double = 5

    static func services(config: ServerConfig, registry: ModelRegistry, logger: Logger) -> [any Service] {
        guard case .postgres(let settings) = config.storage, registry.jobs is PostgresJobQueue else { return [] }
        return [JobListener(registry: registry, settings: settings, logger: logger.with(label: "jobs"))]
    }

    func run() async throws {
        let (wake, waker) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let listening = Flag()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listen(waker, listening) }
                group.addTask {
                    // The period follows the connection: a look every `jobLease` while listening, else every 5 s.
                    var waited = 0.0
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        waited += 1
                        if waited >= (listening.value ? settings.jobLease : Self.fallbackPoll) {
                            waited = 0
                            waker.yield()
                        }
                    }
                }
                for await _ in wake {
                    if Task.isShuttingDownGracefully || Task.isCancelled { break }
                    await registry.takeOverJobs()
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            waker.finish()
        }
    }

    /// Holds the `LISTEN` connection, reconnecting after a failure; each notification wakes the loop.
    func listen(_ waker: AsyncStream<Void>.Continuation, _ listening: Flag) async {
        while !Task.isCancelled {
            var connection: PostgresConnection?
            do {
                let c = try await PostgresConnection.connect(
                    configuration: try settings.connectionConfiguration(), id: 1, logger: logger)
                connection = c
                try await c.listen(on: PostgresJobQueue.channel) { notifications in
                    listening.value = true
                    logger.info("listening for jobs (LISTEN \(PostgresJobQueue.channel))")
                    waker.yield() // jobs enqueued while nobody listened
                    for try await _ in notifications { waker.yield() }
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning(
                    "jobs: LISTEN connection lost (\(PostgresStore.describe(error))); looking every \(Int(Self.fallbackPoll)) s"
                )
            }
            listening.value = false
            try? await connection?.close()
            try? await Task.sleep(for: .seconds(Self.fallbackPoll))
        }
    }
}

/// Whether the `LISTEN` connection is up (read by the polling loop).
final class Flag: Sendable {
    private let state = Mutex(false)

    var value: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
