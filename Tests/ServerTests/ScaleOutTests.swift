import Foundation
import MQTT
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// Issue 15 §6: three `occupant server run` processes on one PostgreSQL and one mosquitto, twenty simulated gateways
/// speaking the fleet protocol (HTTP batches with batch ids to any process, MQTT telemetry and labels through the
/// shared subscription, HTTP polls, each listening on its `model/available` topic). The process holding a retraining
/// job is killed with SIGKILL; another finishes it: one new version, one promotion, one announcement per gateway, and
/// nothing acknowledged before the kill is missing after.
@Suite(.serialized) struct ScaleOutTests {
    /// A simulated gateway: its id, token, and an MQTT client of its own (publishes, and hears its announcements).
    struct Gateway {
        let id: String
        let token: String
        let mqtt: MQTTProbe
    }

    static let ids = ["gw-a", "gw-b"] + (3...20).map { String(format: "g%02d", $0) }
    static func token(_ id: String) -> String { id.hasPrefix("gw-") ? "token-\(id.dropFirst(3))" : "token-\(id)" }

    /// The three processes: one broker (the first harness's), one database, each its own state directory and port.
    static func processes(
        _ pg: PostgresServer, _ database: String, name: String, retrain: String, extra: String = ""
    ) async throws -> [ServerHarness] {
        let storage =
            "storage: { postgres: { url: 'postgres://postgres@127.0.0.1:\(pg.port)/\(database)', tls: disable, jobLease: 2s } }"
        let more = ids.dropFirst(2).map { "  - { id: \($0), scope: office, token: \(token($0)) }" }
            .joined(separator: "\n")
        var servers: [ServerHarness] = []
        for i in 0..<3 {
            let h = try await ServerHarness(
                name: "\(name)-\(i)", extra: storage + "\n" + extra, gateways: more, retrain: retrain)
            if let first = servers.first {
                h.broker.stop()
                try String(contentsOfFile: h.configPath, encoding: .utf8)
                    .replacingOccurrences(of: "port: \(h.broker.port),", with: "port: \(first.broker.port),")
                    .write(toFile: h.configPath, atomically: true, encoding: .utf8)
            }
            servers.append(h)
        }
        for h in servers { try await h.start() }
        return servers
    }

    /// A counter from a process's `GET /metrics`, summed over the series whose line contains every one of `parts`.
    static func metric(_ h: ServerHarness, _ name: String, _ parts: [String]) async throws -> Int {
        let text = String(decoding: try await h.request("GET", "/metrics", token: "admin-token").body, as: UTF8.self)
        return text.split(separator: "\n").filter { line in
            line.hasPrefix(name + "{") && parts.allSatisfy { line.contains($0) }
        }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0) { $0 + Int($1) }
    }

    @Test func threeProcessesTwentyGatewaysAndAKillDuringRetrain() async throws {
        let (pg, database) = try await PostgresServer.sharedDatabase()
        let servers = try await Self.processes(
            pg, database, name: "scale", retrain: "newLabelledRows: 0, trials: 200, checkInterval: 1s")
        let brokerPort = servers[0].broker.port
        var gateways: [Gateway] = []
        for id in Self.ids {
            gateways.append(
                Gateway(
                    id: id, token: Self.token(id),
                    mqtt: try await MQTTProbe(
                        port: brokerPort, subscriptions: ["occupant/\(id)/model/available"], clientID: "sim-\(id)")))
        }

        // Intake through all three: HTTP batches spread over the processes (as a load balancer would), MQTT
        // telemetry and labels through the shared subscription, polls answered 204 (no model yet).
        let acknowledged = Locked<[String: Int]>([:]) // "gateway/batch" → rows, for each 200 answer
        var mqttTelemetry = 0
        var mqttLabels = 0
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, g) in gateways.enumerated() {
                let (rows, _) =
                    g.id == "gw-a"
                    ? simulatedDays(0..<3, gateway: g.id)
                    : simulatedDays(0..<1, gateway: g.id, seed: UInt64(i), step: 300)
                let size = g.id == "gw-a" ? 1000 : 96
                group.addTask {
                    for (n, start) in stride(from: 0, to: rows.count, by: size).enumerated() {
                        let batch = Array(rows[start..<min(start + size, rows.count)])
                        let h = servers[(i + n) % 3]
                        let (status, _) = try await h.json(
                            "POST", "/v1/gateways/\(g.id)/telemetry", token: g.token, body: ndjson(batch),
                            headers: [("Batch-ID", "\(g.id)-\(n)")])
                        #expect(status == 200)
                        if status == 200 { acknowledged.withLock { $0["\(g.id)/\(g.id)-\(n)"] = batch.count } }
                    }
                    let poll = try await servers[i % 3].request("GET", "/v1/gateways/\(g.id)/model", token: g.token)
                    #expect(poll.status == 204)
                }
            }
            try await group.waitForAll()
        }
        for (i, g) in gateways.enumerated() {
            let days = g.id == "gw-a" ? 0..<3 : 0..<1
            let (_, labels) =
                g.id == "gw-a"
                ? simulatedDays(days, gateway: g.id) : simulatedDays(days, gateway: g.id, seed: UInt64(i), step: 300)
            for start in stride(from: 0, to: labels.count, by: 10) {
                let chunk = Array(labels[start..<min(start + 10, labels.count)])
                try g.mqtt.publish(MQTTMessage(topic: "occupant/\(g.id)/labels", text: labelsJSON(chunk)))
                mqttLabels += 1
            }
            // Live rows over MQTT, after the uploaded ones (distinct instants: every row is a new one).
            let (live, _) = simulatedDays(days.upperBound..<(days.upperBound + 1), gateway: g.id, step: 600)
            for row in live.prefix(5) {
                let line = ndjson([row]).trimmingCharacters(in: .newlines)
                try g.mqtt.publish(MQTTMessage(topic: "occupant/\(g.id)/telemetry", text: line))
                mqttTelemetry += 1
            }
        }
        // Every MQTT message is stored, by one process or another — and each process took a share.
        let shares = try await waitUntil(timeout: 60, "the MQTT messages are stored") {
            () async throws -> [(telemetry: Int, labels: Int)]? in
            var shares: [(Int, Int)] = []
            for h in servers {
                shares.append(
                    (
                        try await Self.metric(h, "occupant_mqtt_messages_total", ["telemetry", "stored"]),
                        try await Self.metric(h, "occupant_mqtt_messages_total", ["labels", "stored"])
                    ))
            }
            let done =
                shares.map(\.0).reduce(0, +) == mqttTelemetry && shares.map(\.1).reduce(0, +) == mqttLabels
            return done ? shares : nil
        }
        for (h, share) in zip(servers, shares) {
            let uploads = try await Self.metric(
                h, "occupant_http_requests_total", ["POST", "telemetry", "status=\"200\""])
            #expect(uploads > 0 && share.telemetry + share.labels > 0, "\(h.port): \(uploads) uploads, \(share)")
        }
        let acked = acknowledged.withLock { $0 }
        let ackedRows = acked.values.reduce(0, +)

        // A retrain command; whichever process claims the job (an idle one may, woken by NOTIFY) is killed.
        let command = Task { () -> String in
            guard let (status, body) = try? await servers[0].json("POST", "/v1/scopes/office/retrain") else {
                return "no answer"
            }
            return "\(status) \(body)"
        }
        let holder = try await waitUntil(timeout: 120, "a process holds the job") { () async throws -> Int32? in
            let job = try await pg.psql("SELECT state || ' ' || coalesce(holder, '') FROM jobs", database: database)
            if job.hasPrefix("done") || job.hasPrefix("failed") {
                Issue.record("the job ended before a kill: \(job); the command's answer: \(await command.value)")
                return -1
            }
            return job.hasPrefix("running") ? job.split(separator: "/").dropFirst().first.flatMap { Int32($0) } : nil
        }
        let killed = try #require(servers.first { $0.process?.pid == holder })
        killed.process?.signal(SIGKILL)
        _ = try await killed.process?.wait(timeout: 10)
        let survivors = servers.filter { $0 !== killed }
        try await waitUntil(timeout: 240, "another process finishes the job") {
            (try? await pg.psql("SELECT state FROM jobs", database: database)) == "done" ? true : nil
        }
        _ = await command.value

        // One job taken over, one version, one promotion, one rollout.
        #expect(try await pg.psql("SELECT attempts FROM jobs", database: database) == "2")
        #expect(try await pg.psql("SELECT count(*) FROM models", database: database) == "1")
        #expect(
            try await pg.psql(
                "SELECT count(*) || ' ' || count(*) FILTER (WHERE promoted) FROM promotions", database: database)
                == "1 1")
        #expect(try await pg.psql("SELECT count(*) FROM rollouts", database: database) == "1")
        // Each gateway hears of v1, and polls for it through a surviving process.
        for (i, g) in gateways.enumerated() {
            let message = try await g.mqtt.waitFor("occupant/\(g.id)/model/available", timeout: 60)
            #expect(jsonObject(message)?["version"] as? Int == 1)
            let poll = try await survivors[i % 2].request("GET", "/v1/gateways/\(g.id)/model", token: g.token)
            #expect(poll.status == 200)
        }
        // A round trip through the broker from every gateway's client once all were announced: a second announcement
        // sent before it (by the taker-over, or by the process that did not hold the job) would be here.
        for g in gateways {
            try g.mqtt.publish(MQTTMessage(topic: "occupant/\(g.id)/model/available", text: "", retain: true))
        }
        for g in gateways {
            try await g.mqtt.waitFor("occupant/\(g.id)/model/available", timeout: 30) { $0.payload.isEmpty }
        }
        for g in gateways {
            let announcements = g.mqtt.messages(on: "occupant/\(g.id)/model/available").filter { !$0.payload.isEmpty }
            #expect(announcements.count == 1, "\(g.id): \(announcements.map(\.text))")
        }

        // One outbox entry per gateway, delivered (the store's side of "one announcement").
        #expect(
            try await pg.psql(
                "SELECT count(*) || ' ' || count(DISTINCT target) || ' ' || count(sent) FROM outbox WHERE target LIKE '%/model/available'",
                database: database) == "20 20 20")

        // Every batch acknowledged before the kill is stored, whole; and every MQTT row.
        #expect(try await pg.psql("SELECT count(*) FROM batches", database: database) == "\(acked.count)")
        let stored = try await pg.psql(
            "SELECT string_agg(gateway || '/' || batch || '=' || rows, ',') FROM batches", database: database)
        let batches = Dictionary(
            uniqueKeysWithValues: stored.split(separator: ",").map { entry in
                let parts = entry.split(separator: "=")
                return (String(parts[0]), Int(parts[1]) ?? -1)
            })
        #expect(batches == acked)
        #expect(
            try await pg.psql("SELECT count(*) FROM telemetry", database: database) == "\(ackedRows + mqttTelemetry)")
        let (_, stats) = try await survivors[0].json("GET", "/v1/stats")
        #expect(stats["telemetryRows"] as? Int == ackedRows + mqttTelemetry)
    }
}
