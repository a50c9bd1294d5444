import Foundation
import MQTT
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// Announcements and alerts go through the store's outbox: sent once, by whichever process claims them, and sent
/// again until the broker acknowledges them — across a broker outage, and across the death of the process that made
/// them.
@Suite(.serialized) struct OutboxTests {
    static func upload(_ h: ServerHarness) async throws {
        let (rows, labels) = simulatedDays(0..<3, gateway: "gw-a")
        let (status, _) = try await h.json(
            "POST", "/v1/gateways/gw-a/telemetry", token: "token-a", body: ndjson(rows), headers: [("Batch-ID", "b-1")])
        #expect(status == 200)
        #expect(try await h.json("POST", "/v1/labels", token: "token-a", body: labelsJSON(labels)).0 == 200)
    }

    /// A query's output through the `sqlite3` tool (read-only, beside the running server).
    static func sqlite(_ database: String, _ sql: String) async throws -> String {
        let child = try ChildProcess(["-readonly", database, sql], executable: try locateExecutable("sqlite3"))
        _ = try await child.wait(timeout: 30)
        return child.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// After a barrier message through the broker: each topic's messages, non-empty ones.
    static func settled(_ probe: MQTTProbe, port: Int, _ topics: [String]) async throws -> [String: [MQTTMessage]] {
        let barrier = "occupant/test/barrier-\(UUID().uuidString.prefix(6))"
        let listener = try await MQTTProbe(port: port, subscriptions: [barrier])
        try probe.client.subscribe(barrier, qos: 1)
        try await Task.sleep(for: .milliseconds(100)) // SUBACK is not awaited (as in MQTTProbe)
        try listener.publish(MQTTMessage(topic: barrier, text: "x"))
        try await probe.waitFor(barrier, timeout: 30)
        return Dictionary(
            uniqueKeysWithValues: topics.map { t in (t, probe.messages(on: t).filter { !$0.payload.isEmpty }) })
    }

    /// One process on SQLite: the broker is down while a model is promoted and a rollout aborted; the announcements
    /// and the alert wait in the outbox and are sent, once each, when it is back.
    @Test func announcementsAndAlertsMadeWhileTheBrokerIsDownAreSentWhenItIsBack() async throws {
        let h = try await ServerHarness(name: "outbox-sqlite")
        try await h.start()
        try await Self.upload(h)
        h.broker.stop()
        let (status, outcome) = try await h.json("POST", "/v1/scopes/office/retrain")
        #expect(status == 200 && outcome["promoted"] as? Bool == true, "\(outcome)")
        #expect(try await h.request("POST", "/v1/scopes/office/rollout/abort", token: "admin-token").status == 200)
        let database = h.dir.path + "/state/server.sqlite"
        try await waitUntil(timeout: 30, "three messages failed once") {
            let n = try? await Self.sqlite(
                database, "SELECT count(*) FROM outbox WHERE error IS NOT NULL")
            return n == "3" ? true : nil
        }
        try await h.broker.start()
        let probe = try await MQTTProbe(
            port: h.broker.port, subscriptions: ["occupant/+/model/available", "occupant/alerts"])
        for g in ["gw-a", "gw-b"] {
            let m = try await probe.waitFor("occupant/\(g)/model/available", timeout: 90)
            #expect(jsonObject(m)?["version"] as? Int == 1)
        }
        let alert = try await probe.waitFor("occupant/alerts", timeout: 30)
        #expect(alert.text.contains("rollout aborted"), "\(alert.text)")
        let topics = ["occupant/gw-a/model/available", "occupant/gw-b/model/available", "occupant/alerts"]
        for (topic, messages) in try await Self.settled(probe, port: h.broker.port, topics) {
            #expect(messages.count == 1, "\(topic): \(messages.map(\.text))")
        }
    }

    /// Two processes on PostgreSQL: the job's holder promotes while the broker is down, then dies; the broker comes
    /// back and the other process sends the announcements — once each.
    @Test func anAnnouncementLeftByADeadProcessIsSentByAnotherOnceTheBrokerIsBack() async throws {
        let (pg, database) = try await PostgresServer.sharedDatabase()
        let storage = JobQueueProcessTests.storage(pg, database)
        let a = try await ServerHarness(name: "outbox-pg-a", extra: storage)
        let b = try await ServerHarness(name: "outbox-pg-b", extra: storage)
        b.broker.stop()
        try String(contentsOfFile: b.configPath, encoding: .utf8)
            .replacingOccurrences(of: "port: \(b.broker.port),", with: "port: \(a.broker.port),")
            .write(toFile: b.configPath, atomically: true, encoding: .utf8)
        try await a.start()
        try await b.start()
        try await Self.upload(a)
        a.broker.stop()
        let (status, outcome) = try await a.json("POST", "/v1/scopes/office/retrain")
        #expect(status == 200 && outcome["promoted"] as? Bool == true, "\(outcome)")
        try await waitUntil(timeout: 30, "both announcements failed once") {
            let n = try? await pg.psql(
                "SELECT count(*) FROM outbox WHERE error IS NOT NULL", database: database)
            return n == "2" ? true : nil
        }
        // The process that promoted (the job's holder) dies; the other is left to send what it made.
        let holder = try await pg.psql("SELECT holder FROM jobs", database: database)
            .split(separator: "/").dropFirst().first.flatMap { Int32($0) }
        let killed = try #require([a, b].first { $0.process?.pid == holder })
        killed.process?.signal(SIGKILL)
        _ = try await killed.process?.wait(timeout: 10)
        try await a.broker.start()
        let probe = try await MQTTProbe(port: a.broker.port, subscriptions: ["occupant/+/model/available"])
        for g in ["gw-a", "gw-b"] {
            let m = try await probe.waitFor("occupant/\(g)/model/available", timeout: 90)
            #expect(jsonObject(m)?["version"] as? Int == 1)
        }
        let topics = ["occupant/gw-a/model/available", "occupant/gw-b/model/available"]
        for (topic, messages) in try await Self.settled(probe, port: a.broker.port, topics) {
            #expect(messages.count == 1, "\(topic): \(messages.map(\.text))")
        }
        #expect(
            try await pg.psql("SELECT count(*) FROM outbox WHERE sent IS NOT NULL", database: database) == "2")
        // Sent by the survivor (the dead process's holder name is never written by a delivery).
        let survivor = try #require([a, b].first { $0 !== killed }?.process?.pid)
        #expect(
            try await pg.psql(
                "SELECT string_agg(DISTINCT split_part(holder, '/', 2), ',') FROM outbox", database: database)
                == "\(survivor)")
    }
}
