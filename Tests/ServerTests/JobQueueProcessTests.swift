import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// Several `occupant server run` processes on one PostgreSQL database: retraining is one job per scope, whichever
/// process is asked, and a job whose process dies is finished by another.
@Suite(.serialized) struct JobQueueProcessTests {
    static func storage(_ pg: PostgresServer, _ database: String, lease: String = "30s") -> String {
        "storage: { postgres: { url: 'postgres://postgres@127.0.0.1:\(pg.port)/\(database)', tls: disable, jobLease: \(lease) } }"
    }

    static func upload(_ h: ServerHarness, days: Range<Int>) async throws {
        let (rows, labels) = simulatedDays(days, gateway: "gw-a")
        let (status, _) = try await h.json(
            "POST", "/v1/gateways/gw-a/telemetry", token: "token-a", body: ndjson(rows), headers: [("Batch-ID", "b-1")])
        #expect(status == 200)
        #expect(try await h.json("POST", "/v1/labels", token: "token-a", body: labelsJSON(labels)).0 == 200)
    }

    @Test func twoProcessesGivenTheSameRetrainAtOnceMakeOneJobAndOneVersion() async throws {
        let (pg, database) = try await PostgresServer.sharedDatabase()
        let a = try await ServerHarness(name: "jobs-a", extra: Self.storage(pg, database))
        let b = try await ServerHarness(name: "jobs-b", extra: Self.storage(pg, database))
        try await a.start()
        try await b.start()
        try await Self.upload(a, days: 0..<3)
        async let fromA = a.json("POST", "/v1/scopes/office/retrain")
        async let fromB = b.json("POST", "/v1/scopes/office/retrain")
        let (ra, rb) = try await (fromA, fromB)
        #expect(ra.0 == 200 && rb.0 == 200, "\(ra.1) \(rb.1)")
        // Both answers are the one job's outcome: the same version.
        #expect(ra.1["version"] as? Int == 1 && rb.1["version"] as? Int == 1, "\(ra.1) \(rb.1)")
        #expect(try await pg.psql("SELECT count(*) FROM jobs", database: database) == "1")
        #expect(try await pg.psql("SELECT count(*) FROM models", database: database) == "1")
        #expect(try await pg.psql("SELECT state || ' ' || attempts FROM jobs", database: database) == "done 1")
    }

    @Test func aProcessKilledMidJobLosesItAndAnotherFinishesIt() async throws {
        let (pg, database) = try await PostgresServer.sharedDatabase()
        // Both train slowly (many trials), so the holder is killed while training; the other takes the job over once
        // the lease is over. Either may claim the command's job (the other is woken by its NOTIFY): the holder is
        // the one killed.
        let slow = "newLabelledRows: 0, trials: 200, checkInterval: 1s"
        let a = try await ServerHarness(
            name: "jobs-kill-a", extra: Self.storage(pg, database, lease: "2s"), retrain: slow)
        let b = try await ServerHarness(
            name: "jobs-kill-b", extra: Self.storage(pg, database, lease: "2s"), retrain: slow)
        try await a.start()
        try await b.start()
        try await Self.upload(a, days: 0..<3)
        let command = Task { _ = try? await a.request("POST", "/v1/scopes/office/retrain", token: "admin-token") }
        let holder = try await waitUntil(timeout: 60, "a process holds the job") {
            try await pg.psql("SELECT holder FROM jobs WHERE state = 'running'", database: database)
                .split(separator: "/").dropFirst().first.flatMap { Int32($0) }
        }
        let (killed, survivor) = holder == a.process?.pid ? (a, b) : (b, a)
        #expect(killed.process?.pid == holder)
        killed.process?.signal(SIGKILL)
        _ = try await killed.process?.wait(timeout: 10)
        if killed === a { _ = await command.value }
        try await waitUntil(timeout: 180, "the other process finishes the job") {
            (try? await pg.psql("SELECT state FROM jobs", database: database)) == "done" ? true : nil
        }
        #expect(try await pg.psql("SELECT attempts FROM jobs", database: database) == "2")
        #expect(try await pg.psql("SELECT count(*) FROM models", database: database) == "1")
        let (_, registry) = try await survivor.json("GET", "/v1/models?scope=office")
        #expect((registry["models"] as? [[String: Any]])?.count == 1)
        _ = await command.value
    }

    @Test func aJobEnqueuedElsewhereWakesAnIdleProcessAtOnce() async throws {
        let (pg, database) = try await PostgresServer.sharedDatabase()
        // Without the notification this process would look for jobs only hourly (its lease and its triggers).
        let b = try await ServerHarness(
            name: "jobs-notify", extra: Self.storage(pg, database, lease: "1h"),
            retrain: "newLabelledRows: 0, trials: 4, checkInterval: 1h")
        try await b.start()
        try await Self.upload(b, days: 0..<3)
        try await waitUntil(timeout: 30, "the server listens for jobs") {
            let n = try? await pg.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%'", database: database)
            return n == "1" ? true : nil
        }
        // Another process's enqueue (a retrain command it was given) — that process does not claim it.
        var settings = ServerConfig.Postgres()
        settings.port = pg.port
        settings.user = pg.user
        settings.database = database
        settings.tls = .disable
        let other = try PostgresStore(settings)
        defer { other.close() }
        let (_, created) = try await PostgresJobQueue(store: other, holder: "elsewhere").enqueue(
            kind: "retrain", scope: "office", payload: "command")
        #expect(created)
        try await waitUntil(timeout: 60, "the idle process runs the job") {
            (try? await pg.psql("SELECT state FROM jobs", database: database)) == "done" ? true : nil
        }
        #expect(try await pg.psql("SELECT count(*) FROM models", database: database) == "1")
        #expect(try await pg.psql("SELECT holder <> 'elsewhere' FROM jobs", database: database) == "t")
        // Stopping closes the listening connection too: the process exits.
        b.process?.signal(SIGTERM)
        #expect(try await b.process?.wait(timeout: 30) == 0)
    }
}
