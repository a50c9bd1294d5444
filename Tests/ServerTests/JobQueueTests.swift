import FleetProtocol
import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// The PostgreSQL job queue as several processes see it: each a store with its own pool and a holder of its own.
@Suite struct JobQueueTests {
    static func queues(_ count: Int, lease: Double = 30) async throws -> (
        server: PostgresServer, database: String, stores: [PostgresStore], queues: [PostgresJobQueue]
    ) {
        let (server, database, stores) = try await PostgresStoreTests.stores(count)
        let queues = stores.enumerated().map { PostgresJobQueue(store: $1, lease: lease, holder: "process-\($0)") }
        return (server, database, stores, queues)
    }

    static func model(version: Int) -> ModelRecord {
        ModelRecord(
            scope: "office", version: version, modelID: "occupancy-office", sha256: String(repeating: "ab", count: 32),
            size: 1, created: 1, dataFrom: 0, dataTo: 1, labelledRowsSeen: 1, report: "{}")
    }

    @Test func theSameCommandInTwoProcessesAtOnceIsOneJobTakenByOne() async throws {
        let (_, _, stores, queues) = try await Self.queues(4)
        defer { for store in stores { store.close() } }
        let enqueued = try await withThrowingTaskGroup(of: (id: Int64, created: Bool).self) { group in
            for q in queues {
                group.addTask { try await q.enqueue(kind: "retrain", scope: "office", payload: "command") }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(enqueued.map(\.id)).count == 1)
        #expect(enqueued.filter(\.created).count == 1)
        let claims = try await withThrowingTaskGroup(of: (Int, ClaimedJob?).self) { group in
            for (i, q) in queues.enumerated() {
                group.addTask { (i, try await q.claim(kind: "retrain", scope: "office")) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let held = claims.compactMap { i, job in job.map { (i, $0) } }
        #expect(held.count == 1)
        // Another scope is a job of its own; an ended job lets the next command make a new one.
        #expect(try await queues[0].enqueue(kind: "retrain", scope: "lab", payload: "command").created)
        let (i, job) = try #require(held.first)
        #expect(try await queues[(i + 1) % queues.count].finish(job, failed: false, result: "{}") == false)
        #expect(try await queues[i].finish(job, failed: false, result: "{}"))
        #expect(try await queues[1].enqueue(kind: "retrain", scope: "office", payload: "command").created)
    }

    @Test func aJobWhoseLeaseExpiredIsTakenOverAndTheOldHolderCannotRecord() async throws {
        let (server, database, stores, queues) = try await Self.queues(2, lease: 1)
        defer { for store in stores { store.close() } }
        let (a, b) = (queues[0], queues[1])
        _ = try await a.enqueue(kind: "retrain", scope: "office", payload: "command")
        let first = try #require(try await a.claim(kind: "retrain", scope: nil))
        #expect(try await b.claim(kind: "retrain", scope: nil) == nil) // held
        // `a` stops renewing (its process died): once the lease is over, `b` takes the job.
        var taken: ClaimedJob?
        for _ in 0..<100 where taken == nil {
            taken = try await b.claim(kind: "retrain", scope: nil)
            if taken == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let second = try #require(taken)
        #expect(second.id == first.id && second.attempts == 2 && second.recordedVersion == nil)
        #expect(try await !a.renew(first))
        // The old holder's model is refused; the new holder's is recorded and noted on the job.
        await #expect(throws: OccupantError.self) {
            try await JobFence.$current.withValue((first, a.holder)) {
                try await stores[0].addModel(Self.model(version: 1))
            }
        }
        #expect(try await server.psql("SELECT count(*) FROM models", database: database) == "0")
        try await JobFence.$current.withValue((second, b.holder)) {
            try await stores[1].addModel(Self.model(version: 1))
        }
        #expect(try await server.psql("SELECT recorded_version FROM jobs", database: database) == "1")
        #expect(try await !a.finish(first, failed: true, result: "late"))
        #expect(try await b.finish(second, failed: false, result: "{}"))
        #expect(try await b.status(id: second.id)?.state == "done")
    }

    @Test func aRolloutWaveThatPassedIsWidenedAndAnnouncedOnceAcrossProcesses() async throws {
        let (_, _, stores) = try await PostgresStoreTests.stores(4)
        defer { for store in stores { store.close() } }
        let dir = try temporaryDirectory("events-once")
        var config = try ServerConfig.parse(
            yaml: """
                gateways:
                  - { id: gw-a, scope: office, token: token-a }
                  - { id: gw-b, scope: office, token: token-b }
                  - { id: gw-c, scope: office, token: token-c }
                promotion: { waves: [{ gateways: [gw-a] }], probation: 1h }
                """)
        config.stateDirectory = dir.path
        let clock = ManualClock()
        let announcers = stores.map { _ in RecordingAnnouncer() }
        let registries = try zip(stores, announcers).map { store, announcer in
            ModelRegistry(
                config: config, store: store, artifacts: try ArtifactStore(root: dir.path + "/artifacts"),
                signing: nil, announcer: announcer, logger: Logger(label: "test"), clock: clock)
        }
        for version in 1...2 {
            try await stores[0].addModel(
                ModelRecord(
                    scope: "office", version: version, modelID: "occupancy-office", sha256: "sha-v\(version)",
                    size: 10, created: clock.now().seconds, dataFrom: 0, dataTo: 1, labelledRowsSeen: 0, report: "{}"))
        }
        try await stores[0].setAlias(scope: "office", alias: "champion", version: 1)
        let v2 = try #require(try await stores[0].model(scope: "office", version: 2))
        try await registries[0].promote(scope: "office", record: v2, previous: 1)
        try await registries[0].gatewayReported(
            GatewayStatus(gateway: "gw-a", active: "occupancy-office@2", sha256: "sha-v2", refused: nil, at: 0),
            rolledBack: nil, passedProbation: false)
        clock.advance(3_601)
        // Every process's periodic check sees wave 1 pass at the same moment.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for r in registries { group.addTask { try await r.advanceRollout(scope: "office") } }
            try await group.waitForAll()
        }
        let told = announcers.flatMap(\.available).filter { $0.1 == 2 }.map(\.0)
        #expect(told.sorted() == ["gw-a", "gw-b", "gw-c"], "\(told)")
        #expect(try await stores[1].rollout(scope: "office")?.reached == 1)
    }
}
