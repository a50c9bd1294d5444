import AsyncHTTPClient
import FleetProtocol
import Foundation
import Logging
import MQTT
import NIOCore
import NIOHTTP1
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// Alerts with a lifecycle and `GET /metrics`, over the real routes on a loopback port, a real SQLite file and a
/// manual clock.
@Suite(.serialized) struct WatchTests {
    static let start = 1_767_600_000.0

    func send(
        _ method: HTTPMethod, _ url: String, token: String?, body: String? = nil
    ) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 24)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// Prometheus text → `name{labels}` → value; fails the test on a line that is not a comment or a sample, or a
    /// sample whose family has no `# TYPE`.
    func parse(_ text: String) throws -> [String: Double] {
        var types: [String: String] = [:]
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                try #require(parts.count == 4, "\(line)")
                types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("# HELP ") { continue }
            let space = try #require(line.lastIndex(of: " "), "\(line)")
            let key = Self.sortedLabels(String(line[..<space]))
            let value = try #require(Double(line[line.index(after: space)...]), "\(line)")
            let name = String(key.prefix { $0 != "{" })
            let family = ["_bucket", "_sum", "_count"].reduce(name) { n, suffix in
                types[n] == nil && n.hasSuffix(suffix) ? String(n.dropLast(suffix.count)) : n
            }
            try #require(types[family] != nil, "no # TYPE for \(name)")
            samples[key] = value
        }
        return samples
    }

    /// `name{b="2",a="1"}` → `name{a="1",b="2"}`.
    static func sortedLabels(_ key: String) -> String {
        guard let open = key.firstIndex(of: "{"), key.hasSuffix("}") else { return key }
        let inner = key[key.index(after: open)..<key.index(before: key.endIndex)]
        let labels = inner.components(separatedBy: "\",").map { $0.hasSuffix("\"") ? $0 : $0 + "\"" }
        return key[..<open] + "{" + labels.sorted().joined(separator: ",") + "}"
    }

    func rows(before now: Double) -> [TelemetryRow] {
        simulatedDays(0..<1, gateway: "gw-a", step: 600).rows.filter { $0.at < now }
    }

    @Test func metricsAreParseableAndFollowUploads() async throws {
        let clock = ManualClock(Instant(seconds: Self.start))
        let rig = try RouteRig(
            "watch-metrics", clock: clock, extraYAML: "alerts: { silentAfter: 30m }\nmetrics: { token: scrape }")
        try await rig.live { base in
            #expect(try await send(.GET, base + "/metrics", token: nil).status == 401)
            #expect(try await send(.GET, base + "/metrics", token: "wrong").status == 401)
            #expect(try await send(.GET, base + "/metrics", token: "token-a").status == 403)
            #expect(try await send(.GET, base + "/metrics", token: "admin-token").status == 200)
            let before = try parse(try await send(.GET, base + "/metrics", token: "scrape").body)
            for family in [
                "occupant_intake_rows", "occupant_labelled_rows", #"occupant_alerts_open{kind="silent"}"#,
                #"occupant_gateways{state="never"}"#, #"occupant_promotions{promoted="true",scope="office"}"#,
            ] {
                #expect(before[family] != nil, "\(family)")
            }
            #expect(before["occupant_intake_rows"] == 0)
            #expect(before[#"occupant_gateways{state="never"}"#] == 4)

            let upload = rows(before: Self.start)
            try #require(!upload.isEmpty)
            let answer = try await send(
                .POST, base + API.gatewayTelemetry("gw-a"), token: "token-a", body: ndjson(upload))
            #expect(answer.status == 200, "\(answer.body)")
            let after = try parse(try await send(.GET, base + "/metrics", token: "scrape").body)
            #expect(after["occupant_intake_rows"] == Double(upload.count))
            #expect(after[#"occupant_gateways{state="reporting"}"#] == 1)
            #expect(after[#"occupant_gateways{state="never"}"#] == 3)
            let telemetry = after.filter {
                $0.key.hasPrefix("occupant_http_requests_total{") && $0.key.contains("telemetry")
            }
            #expect(telemetry.count == 1 && telemetry.first?.key.contains(#"status="200""#) == true, "\(telemetry)")
            #expect(telemetry.first?.value == 1)
            #expect(
                after.contains { $0.key.contains("/metrics") && $0.key.contains(#"status="401""#) && $0.value == 2 })

            // A retrain job with no labels trains nothing: counted as skipped, with its duration.
            _ = try await rig.registry.retrain(scope: "office", trigger: "test")
            let jobs = try parse(try await send(.GET, base + "/metrics", token: "scrape").body)
            #expect(jobs[#"occupant_retrain_jobs_total{outcome="skipped",scope="office"}"#] == 1)
            #expect(jobs[#"occupant_retrain_duration_seconds_count{scope="office"}"#] == 1)
            #expect(jobs[#"occupant_retrain_duration_seconds_bucket{le="+Inf",scope="office"}"#] == 1)
        }
    }

    @Test func silentGatewaysRaiseOnceClearOnceAndCanBeAcknowledged() async throws {
        let clock = ManualClock(Instant(seconds: Self.start))
        let rig = try RouteRig("watch-silent", clock: clock, extraYAML: "alerts: { silentAfter: 30m }")
        let announcer = rig.announcer
        try await rig.live { base in
            let upload = rows(before: Self.start)
            #expect(
                try await send(.POST, base + API.gatewayTelemetry("gw-a"), token: "token-a", body: ndjson(upload))
                    .status == 200)
            clock.advance(20 * 60)
            try await rig.registry.checkSilence()
            #expect(announcer.state.withLock { $0.alerts }.isEmpty)

            clock.advance(15 * 60)
            try await rig.registry.checkSilence()
            try await rig.registry.checkSilence()
            let raised = announcer.state.withLock { $0.alerts }
            #expect(raised.count == 4, "\(raised.map(\.message))")
            #expect(Set(raised.compactMap(\.gateway)) == ["gw-a", "gw-b", "küche", "room 1"])
            #expect(raised.allSatisfy { $0.kind == "silent" && $0.state == "open" })
            let a = try #require(raised.first { $0.gateway == "gw-a" })
            #expect(a.numbers["silentSeconds"] == 35 * 60 && a.numbers["silentAfterSeconds"] == 30 * 60)
            #expect(a.raisedAt == clock.now().iso8601)

            // The API: admin only; open ones; ack; 404 and 400.
            #expect(try await send(.GET, base + API.alerts(open: true), token: nil).status == 401)
            #expect(try await send(.GET, base + API.alerts(open: true), token: "token-a").status == 403)
            #expect(try await send(.POST, base + API.alertAck(a.id), token: "token-a").status == 403)
            #expect(try await send(.POST, base + API.alertAck(9999), token: "admin-token").status == 404)
            #expect(try await send(.POST, base + "/v1/alerts/abc/ack", token: "admin-token").status == 400)
            #expect(try await send(.GET, base + "/v1/alerts?open=maybe", token: "admin-token").status == 400)
            try await RegistryClient.with(baseURL: base, token: "admin-token") { client in
                #expect(try await client.alerts(open: true).alerts.count == 4)
                let acked = try await client.acknowledgeAlert(a.id, by: "ops")
                #expect(acked.acknowledgedBy == "ops" && acked.acknowledgedAt == clock.now().iso8601 && acked.isOpen)
                // The first acknowledgement stands.
                #expect(try await client.acknowledgeAlert(a.id, by: "someone else").acknowledgedBy == "ops")
                let error = await #expect(throws: RegistryClientError.self) {
                    try await client.acknowledgeAlert(9999, by: "ops")
                }
                #expect(error?.kind == .refused(status: 404))
            }

            // gw-a is heard from again: its alert is cleared, once; the others stay open.
            clock.advance(60)
            let more = simulatedDays(0..<1, gateway: "gw-a", step: 600).rows.filter {
                $0.at >= Self.start && $0.at < clock.now().seconds
            }
            let again = try await send(
                .POST, base + API.gatewayTelemetry("gw-a"), token: "token-a",
                body: ndjson(more.isEmpty ? [upload.last!] : more))
            #expect(again.status == 200)
            try await rig.registry.checkSilence()
            try await rig.registry.checkSilence()
            let all = announcer.state.withLock { $0.alerts }
            #expect(all.count == 5)
            let cleared = try #require(all.last)
            #expect(cleared.id == a.id && cleared.state == "cleared" && cleared.clearedAt == clock.now().iso8601)
            try await RegistryClient.with(baseURL: base, token: "admin-token") { client in
                #expect(try await client.alerts(open: true).alerts.map(\.gateway).contains("gw-a") == false)
                let listing = try await client.alerts()
                #expect(listing.alerts.count == 4)
                #expect(listing.alerts.first { $0.id == a.id }?.acknowledgedBy == "ops")
            }
            let metrics = try parse(try await send(.GET, base + "/metrics", token: "admin-token").body)
            #expect(metrics[#"occupant_alerts_open{kind="silent"}"#] == 3)

            // Silent again later: a new alert, not the old one reopened; raised by the scheduler's check.
            clock.advance(31 * 60)
            await rig.registry.checkTriggers()
            let last = try #require(announcer.state.withLock { $0.alerts }.last)
            #expect(last.gateway == "gw-a" && last.state == "open" && last.id != a.id)
        }
    }

    /// The real process with the real scheduler and a real mosquitto: silent gateways raise one alert each on
    /// `occupant/alerts`; gw-a's clears once it uploads; `/metrics` counts them.
    @Test func aRunningServerRaisesAndClearsSilentAlertsOverMQTT() async throws {
        let h = try await ServerHarness(
            name: "watch-process", extra: "alerts: { silentAfter: 3s }\nmetrics: { token: scrape }")
        let probe = try await MQTTProbe(port: h.broker.port, subscriptions: ["occupant/alerts"])
        try await h.start()
        let decode = { (m: MQTTMessage) in try? FleetJSON.decode(AlertDocument.self, from: Array(m.payload)) }
        try await waitUntil(timeout: 60, "two silent alerts") {
            Set(probe.messages(on: "occupant/alerts").compactMap(decode).compactMap(\.gateway)) == ["gw-a", "gw-b"]
                ? true : nil
        }
        // gw-a uploads (again and again, so a slow scheduler still finds it fresh) until its alert is cleared.
        let sample = try #require(simulatedDays(0..<1, gateway: "gw-a", step: 3600).rows.first)
        let cleared = try await waitUntil(timeout: 60, "gw-a's alert cleared") { () async throws -> AlertDocument? in
            let row = TelemetryRow(gateway: "gw-a", at: Date().timeIntervalSince1970, readings: sample.readings)
            let r = try await h.request("POST", "/v1/gateways/gw-a/telemetry", token: "token-a", body: ndjson([row]))
            #expect(r.status == 200)
            return probe.messages(on: "occupant/alerts").compactMap(decode).first {
                $0.gateway == "gw-a" && $0.state == "cleared"
            }
        }
        let all = probe.messages(on: "occupant/alerts").compactMap(decode)
        // Raised once, cleared once: one open message per gateway before gw-a's clear (gw-b stays silent).
        #expect(all.filter { $0.gateway == "gw-b" }.map(\.state) == ["open"])
        #expect(all.filter { $0.id == cleared.id }.map(\.state) == ["open", "cleared"])
        let (status, listing) = try await h.json("GET", "/v1/alerts?open=true")
        #expect(status == 200)
        let open = try #require(listing["alerts"] as? [[String: Any]])
        #expect(open.compactMap { $0["gateway"] as? String }.contains("gw-b"))
        let metrics = try await h.request("GET", "/metrics", token: "scrape")
        #expect(metrics.status == 200)
        let figures = try parse(String(decoding: metrics.body, as: UTF8.self))
        #expect((figures[#"occupant_alerts_open{kind="silent"}"#] ?? 0) >= 1)
        #expect((figures["occupant_intake_rows"] ?? 0) >= 1)
    }

    /// A gateway taken out of the configuration (or `silentAfter` taken out) leaves no alert open forever.
    @Test func silentAlertsOfGatewaysNoLongerWatchedAreCleared() async throws {
        let clock = ManualClock(Instant(seconds: Self.start))
        let rig = try RouteRig("watch-unwatched", clock: clock, extraYAML: "alerts: { silentAfter: 30m }")
        clock.advance(31 * 60)
        try await rig.registry.checkSilence()
        #expect(try await rig.store.alertDocuments(open: true).count == 4)
        var config = rig.config
        config.gateways.removeAll { $0.id == "gw-b" }
        let announcer = RecordingAnnouncer()
        let restarted = ModelRegistry(
            config: config, store: rig.store, artifacts: rig.registry.artifacts, signing: nil, announcer: announcer,
            logger: Logger(label: "test"), clock: clock)
        try await restarted.checkSilence()
        #expect(
            try await rig.store.alertDocuments(open: true).compactMap(\.gateway).sorted() == [
                "gw-a", "küche", "room 1",
            ])
        #expect(announcer.state.withLock { $0.alerts }.map(\.state) == ["cleared"])
        config.alerts.silentAfter = nil
        try await ModelRegistry(
            config: config, store: rig.store, artifacts: rig.registry.artifacts, signing: nil, announcer: announcer,
            logger: Logger(label: "test"), clock: clock
        ).checkSilence()
        #expect(try await rig.store.alertDocuments(open: true).isEmpty)
        #expect(announcer.state.withLock { $0.alerts }.count == 4)
    }

    /// A v2 database with the old alert lines: the newest per scope stays open, the older count as cleared, and
    /// every message is kept.
    @Test func theV2AlertTableIsMigrated() async throws {
        let dir = try temporaryDirectory("watch-migrate")
        let path = dir.appendingPathComponent("server.sqlite").path
        let sql = """
            CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
            INSERT INTO grdb_migrations VALUES ('v1'), ('v2: disjoint label spans, channel kinds');
            CREATE TABLE alerts (id INTEGER PRIMARY KEY, scope TEXT NOT NULL, at REAL NOT NULL, message TEXT NOT NULL);
            CREATE TABLE batches (gateway TEXT NOT NULL, batch TEXT NOT NULL, rows INTEGER NOT NULL, received REAL NOT NULL,
                PRIMARY KEY (gateway, batch)) WITHOUT ROWID;
            CREATE TABLE gateway_status (gateway TEXT PRIMARY KEY, active TEXT, sha256 TEXT, refused TEXT, at REAL NOT NULL);
            CREATE TABLE rollouts (scope TEXT PRIMARY KEY, version INTEGER NOT NULL, previous INTEGER, wave TEXT NOT NULL,
                widened INTEGER NOT NULL);
            INSERT INTO alerts (scope, at, message) VALUES ('office', 100, 'm@1 old'), ('office', 200, 'm@2 newer'),
                ('lab', 150, 'n@1');
            INSERT INTO batches VALUES ('gw-a', 'b1', 3, 500), ('gw-a', 'b2', 3, 700);
            INSERT INTO gateway_status VALUES ('gw-b', NULL, NULL, NULL, 600);
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [path, sql]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)

        let store = try SQLiteStore(path: path)
        let all = try await store.alertDocuments(open: false)
        #expect(all.map(\.message) == ["m@1 old", "m@2 newer", "n@1"])
        #expect(try await store.alertDocuments(open: true).map(\.message) == ["m@2 newer", "n@1"])
        #expect(all[0].clearedAt == Instant(seconds: 100).iso8601 && all[0].kind == "accuracy")
        #expect(try await store.alerts(scope: "office").map(\.at) == [100, 200])
        #expect(try await store.gatewaysLastSeen() == ["gw-a": 700, "gw-b": 600])
        // The open alert is the one a new raise finds: no second open alert for office.
        #expect(
            try await store.raiseAlert(
                kind: "accuracy", subject: "office", scope: "office", gateway: nil, numbers: [:], message: "x", at: 300)
                == nil)
        #expect(try await store.clearAlert(kind: "accuracy", subject: "office", at: 300)?.message == "m@2 newer")
    }
}
