import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

extension OutboxTests {
    /// The drainer of `store`'s outbox as the server wires it (no broker; a webhook on a closed port).
    static func drainer(_ store: any ServerStore) throws -> OutboxDrainer {
        var config = try ServerConfig.parse(
            yaml: "gateways: [{ id: gw-a, scope: office, token: t }]\nalerts: { webhook: http://127.0.0.1:9/hook }")
        config.broker = nil
        let mqtt = try ServerMQTT(config: config, store: store, logger: Logger(label: "test"))
        return try #require(OutboxDrainer.wire(config: config, store: store, mqtt: mqtt, logger: Logger(label: "test")))
            .drainer
    }

    /// A lone SQLite process does not poll its outbox: it looks when it adds an entry (it wakes its own drainer) and
    /// when a waiting entry falls due (a retry, a lease running out), and otherwise sleeps until woken. PostgreSQL,
    /// where other processes add entries too, still looks every `sharedInterval` seconds.
    @Test func aLoneSQLiteDrainerSleepsUntilWokenOrAnEntryFallsDue() async throws {
        let dir = try temporaryDirectory("outbox-wake")
        let drainer = try Self.drainer(try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path))
        let outbox = drainer.outbox
        #expect(drainer.interval == nil)
        // Nothing waits: no look until woken.
        #expect(try await outbox.nextDue() == nil)
        #expect(await drainer.nextWake() == nil)
        let hook = "http://127.0.0.1:9/hook"
        try await outbox.add(channel: .webhook, target: hook, payload: #"{"n":1}"#, retain: false)
        #expect(try await outbox.nextDue() == 0)
        let claimed = try await outbox.claim(holder: "h", lease: 60, limit: 16)
        #expect(claimed.count == 1)
        // Held (its holder may die): due when the lease runs out.
        let held = try #require(await drainer.nextWake())
        #expect(held > 50 && held <= 60, "\(held)")
        // Failed: due at its retry; a newer entry for the target waits behind it, so it is not due before.
        try await outbox.failed(claimed[0], holder: "h", retryIn: 30, error: "HTTP 500")
        try await outbox.add(channel: .webhook, target: hook, payload: #"{"n":2}"#, retain: false)
        let retry = try #require(await drainer.nextWake())
        #expect(retry > 20 && retry <= 30, "\(retry)")
        // Another target's entry is due now.
        try await outbox.add(channel: .mqtt, target: "occupant/alerts", payload: "{}", retain: false)
        #expect(try #require(await drainer.nextWake()) < 1)
    }

    @Test func aPostgresDrainerStillLooksForOtherProcessesEntries() async throws {
        let store = try await StoreUnderTest.postgresStore()
        defer { store.close() }
        let drainer = try Self.drainer(store)
        #expect(drainer.interval == OutboxDrainer.sharedInterval)
        #expect(await drainer.nextWake() == OutboxDrainer.sharedInterval)
        try await drainer.outbox.add(channel: .webhook, target: "http://127.0.0.1:9/hook", payload: "{}", retain: false)
        let claimed = try await drainer.outbox.claim(holder: "h", lease: 60, limit: 16)
        try await drainer.outbox.failed(try #require(claimed.first), holder: "h", retryIn: 3, error: "HTTP 500")
        let retry = try #require(await drainer.nextWake())
        #expect(retry > 1 && retry <= 3, "\(retry)")
    }

    @Test func theNextLookIsTheFirstDueEntryAtMostTheInterval() {
        #expect(OutboxDrainer.wake(due: nil, interval: nil) == nil)
        #expect(OutboxDrainer.wake(due: 4, interval: nil) == 4)
        #expect(OutboxDrainer.wake(due: 0, interval: nil) == 0.1)
        #expect(OutboxDrainer.wake(due: nil, interval: 10) == 10)
        #expect(OutboxDrainer.wake(due: 40, interval: 10) == 10)
        #expect(OutboxDrainer.wake(due: 3, interval: 10) == 3)
    }
}
