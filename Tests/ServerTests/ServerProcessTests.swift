import AsyncHTTPClient
import Evaluator
import Foundation
import MQTT
import NIOCore
import NIOSSL
import OccupantCore
import OccupantTesting
import Server
import Testing

/// A real `occupant server run` process, a real mosquitto and real HTTP over loopback.
final class ServerHarness: @unchecked Sendable {
    let dir: URL
    let broker: MosquittoBroker
    let port: Int
    let configPath: String
    var process: ChildProcess?
    let http: HTTPClient
    let scheme: String

    /// `tls`: serve HTTPS with `server.crt`/`server.key` made in `dir`, and trust only their CA in the harness's client.
    /// `http` is added to the `http:` mapping (`, idleTimeout: 2s`), `gateways` to the gateway list (YAML lines).
    /// `retrain`: the `retrain:` mapping's contents.
    init(
        name: String, extra: String = "", tls: Bool = false, http httpExtra: String = "", gateways: String = "",
        retrain: String = "newLabelledRows: 0, trials: 4, checkInterval: 1s"
    ) async throws {
        dir = try temporaryDirectory(name)
        scheme = tls ? "https" : "http"
        if tls {
            try makeTestCertificates(dir)
            // The server refuses a private key other users can read (the broker's copy stays 0644).
            try FileManager.default.copyItem(
                at: dir.appendingPathComponent("server.key"), to: dir.appendingPathComponent("https.key"))
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o600], ofItemAtPath: dir.appendingPathComponent("https.key").path)
        }
        broker = try await MosquittoBroker()
        port = try freeLoopbackPort()
        _ = try SigningKeys.save(SigningKeys.generate(), prefix: dir.appendingPathComponent("signer").path)
        configPath = dir.appendingPathComponent("server.yaml").path
        try """
        stateDirectory: \(dir.path)/state
        http: { port: \(port)\(tls ? ", tls: { certFile: \(dir.path)/server.crt, keyFile: \(dir.path)/https.key }" : "")\(httpExtra) }
        broker: { port: \(broker.port), clientId: server-\(name) }
        signingKey: \(dir.path)/signer.key
        adminToken: admin-token
        gateways:
          - { id: gw-a, scope: office, token: token-a }
          - { id: gw-b, scope: office, token: token-b }
        \(gateways)
        retrain: { \(retrain) }
        intake: { maxBodyBytes: 4000000 }
        \(extra)
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        // Last: a client that is not shut down before it goes away stops the process.
        if tls {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .file(dir.appendingPathComponent("ca.crt").path)
            http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: configuration))
        } else {
            http = HTTPClient.shared
        }
    }

    deinit {
        process?.signal(SIGKILL)
        broker.stop()
        if http !== HTTPClient.shared { try? http.syncShutdown() }
    }

    var base: String { "\(scheme)://127.0.0.1:\(port)" }

    /// `fileLimit`: the server runs under `prlimit --nofile=N` (the Debian default is 1024).
    func start(fileLimit: Int? = nil) async throws {
        let arguments = ["server", "run", "--config", configPath]
        let child =
            if let fileLimit {
                try ChildProcess(
                    ["--nofile=\(fileLimit)", try occupantExecutable().path] + arguments,
                    executable: try locateExecutable("prlimit"))
            } else {
                try ChildProcess(arguments)
            }
        process = child
        try await waitUntil(timeout: 30, "the server answers /health (\(child.stderr))") {
            (try? await self.request("GET", "/health"))?.status == 200 ? true : nil
        }
    }

    func request(
        _ method: String, _ path: String, token: String? = nil, body: String? = nil, headers: [(String, String)] = []
    ) async throws -> (status: Int, headers: [(String, String)], body: [UInt8]) {
        var request = HTTPClientRequest(url: base + path)
        request.method = .init(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await http.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), response.headers.map { ($0.name, $0.value) }, Array(bytes.readableBytesView))
    }

    func json(
        _ method: String, _ path: String, token: String? = "admin-token", body: String? = nil,
        headers: [(String, String)] = []
    ) async throws -> (Int, [String: Any]) {
        let r = try await request(method, path, token: token, body: body, headers: headers)
        return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:])
    }

    func stats() async throws -> [String: Int] {
        let (_, doc) = try await json("GET", "/v1/stats")
        return doc.compactMapValues { $0 as? Int }
    }
}

func header(_ headers: [(String, String)], _ name: String) -> String? {
    headers.first { $0.0.lowercased() == name.lowercased() }?.1
}

@Suite(.serialized) struct ServerProcessTests {
    @Test func intakeRegistryDeliveryAndRestart() async throws {
        let h = try await ServerHarness(name: "server-e2e")
        try await h.start()
        let probe = try await MQTTProbe(port: h.broker.port, subscriptions: ["occupant/+/model/available"])

        // Tokens: none → 401, another gateway's → 403, the admin on an unknown gateway → 404.
        #expect(try await h.request("GET", "/v1/gateways/gw-a/model").status == 401)
        #expect(try await h.request("GET", "/v1/gateways/gw-a/model", token: "wrong").status == 401)
        #expect(try await h.request("GET", "/v1/gateways/gw-a/model", token: "token-b").status == 403)
        #expect(try await h.request("POST", "/v1/gateways/gw-a/telemetry", token: "token-b", body: "{}").status == 403)
        #expect(try await h.request("GET", "/v1/gateways/nobody/model", token: "admin-token").status == 404)
        #expect(try await h.request("GET", "/v1/models", token: "token-a").status == 403)
        // Nothing trained yet: 204, keep the rule.
        #expect(try await h.request("GET", "/v1/gateways/gw-a/model", token: "token-a").status == 204)

        // Telemetry: a batch, then the same batch again.
        let (rows, labels) = simulatedDays(0..<3, gateway: "gw-a")
        let body = ndjson(rows)
        let (s1, first) = try await h.json(
            "POST", "/v1/gateways/gw-a/telemetry", token: "token-a", body: body, headers: [("Batch-ID", "b-1")])
        #expect(s1 == 200)
        #expect(first["accepted"] as? Int == rows.count)
        let (s2, again) = try await h.json(
            "POST", "/v1/gateways/gw-a/telemetry", token: "token-a", body: body, headers: [("Batch-ID", "b-1")])
        #expect(s2 == 200 && again["duplicate"] as? Bool == true && again["accepted"] as? Int == 0)

        // Bad input: 4xx with a reason, and nothing stored is touched.
        let before = try await h.stats()
        let bad: [(String, Int, String)] = [
            ("{\"at\":", 400, "line 1: not valid JSON"),
            (#"{"at":"2099-01-01T00:00:00Z","readings":{"sound":1}}"#, 400, "in the future"),
            (#"{"at":"2026-01-05T00:00:00Z","readings":{"sound":"inf"}}"#, 400, "not a finite number"),
            (String(repeating: "x", count: 4_100_000), 413, "larger than 4000000 bytes"),
        ]
        for (text, status, reason) in bad {
            let (code, doc) = try await h.json("POST", "/v1/gateways/gw-a/telemetry", token: "token-a", body: text)
            #expect(code == status, "\(reason)")
            #expect((doc["error"] as? String)?.contains(reason) == true, "\(doc)")
        }
        let (badLabel, _) = try await h.json(
            "POST", "/v1/labels", token: "token-a",
            body: #"[{"gateway":"gw-b","from":1767571200,"to":1767574800,"occupied":true}]"#)
        #expect(badLabel == 403)
        #expect(try await h.stats() == before)

        // Labels over HTTP, one more over MQTT, one telemetry row over MQTT (shared subscription).
        let (ls, _) = try await h.json("POST", "/v1/labels", token: "token-a", body: labelsJSON(labels))
        #expect(ls == 200)
        try probe.publish(
            MQTTMessage(
                topic: "occupant/gw-a/labels",
                text: #"{"from":"2026-01-08T00:00:00Z","to":"2026-01-08T00:10:00Z","occupied":false}"#))
        // A text reading on the number channel `sound` is refused (it would be outside the label: the wait below
        // would never see exactly one more row, since it is published first).
        try probe.publish(
            MQTTMessage(
                topic: "occupant/gw-a/telemetry", text: #"{"at":"2026-01-08T01:00:00Z","readings":{"sound":"loud"}}"#))
        try probe.publish(
            MQTTMessage(
                topic: "occupant/gw-a/telemetry",
                text: #"{"at":"2026-01-08T00:00:05Z","readings":{"sound":3,"temperature":19.5,"hvac":"standby"}}"#))
        _ = try await waitUntil(timeout: 10, "MQTT label and telemetry stored") {
            let s = try? await h.stats()
            // The MQTT label covers the MQTT row; it touches the last (vacant) span and merges with it, so the
            // labelled rows grow by one, not necessarily the spans.
            return s?["labelledRows"] == rows.count + 1 && s?["telemetryRows"] == rows.count + 1 ? true : nil
        }

        // Retrain by command: the first model beats the rule and becomes champion; both gateways get a push.
        let (rs, outcome) = try await h.json("POST", "/v1/scopes/office/retrain")
        #expect(rs == 200)
        #expect(outcome["promoted"] as? Bool == true, "\(outcome)")
        let sha = try #require(outcome["sha256"] as? String)
        let pushed = try await probe.waitFor("occupant/gw-b/model/available", timeout: 10)
        #expect(pushed.text.contains(sha))
        // Retained: a gateway that connects later still hears of it.
        let late = try await MQTTProbe(port: h.broker.port, subscriptions: ["occupant/gw-a/model/available"])
        let retained = try await late.waitFor("occupant/gw-a/model/available", timeout: 10)
        #expect(retained.retain && retained.text.contains(sha))
        #expect(pushed.text.contains("\(h.base)/v1/gateways/gw-b/model"))

        // Download: ETag, 304, ranges that resume to the same bytes.
        let full = try await h.request("GET", "/v1/gateways/gw-a/model", token: "token-a")
        #expect(full.status == 200)
        #expect(header(full.headers, "ETag") == "\"\(sha)\"")
        #expect(sha256Hex(full.body) == sha)
        #expect(header(full.headers, "X-Occupant-Model") == "occupancy-office@1")
        let same = try await h.request(
            "GET", "/v1/gateways/gw-a/model", token: "token-a", headers: [("If-None-Match", "\"\(sha)\"")])
        #expect(same.status == 304 && same.body.isEmpty)
        let half = full.body.count / 2
        let rest = try await h.request(
            "GET", "/v1/gateways/gw-a/model", token: "token-a",
            headers: [("Range", "bytes=\(half)-"), ("If-Range", "\"\(sha)\"")])
        #expect(rest.status == 206)
        #expect(header(rest.headers, "Content-Range") == "bytes \(half)-\(full.body.count - 1)/\(full.body.count)")
        #expect(Array(full.body.prefix(half)) + rest.body == full.body)
        #expect(
            try await h.request(
                "GET", "/v1/gateways/gw-a/model", token: "token-a", headers: [("Range", "bytes=\(full.body.count)-")]
            ).status == 416)

        // A gateway reports its status; the server shows it.
        try probe.publish(
            MQTTMessage(
                topic: "occupant/gw-a/model/status",
                text: #"{"active":"occupancy-office@1","sha256":"\#(sha)","refused":null,"at":"2026-01-08T00:00:00Z"}"#,
                retain: true))
        _ = try await waitUntil(timeout: 10, "gw-a's status is shown") {
            let (_, doc) = try await h.json("GET", "/v1/gateways")
            let gateways = doc["gateways"] as? [[String: Any]] ?? []
            return gateways.first { $0["id"] as? String == "gw-a" }?["active"] as? String == "occupancy-office@1"
                ? true : nil
        }

        // Killed outright and started again: everything acknowledged is still there.
        let acknowledged = try await h.stats()
        h.process?.signal(SIGKILL)
        _ = try await h.process?.wait(timeout: 10)
        try await h.start()
        #expect(try await h.stats() == acknowledged)
        let after = try await h.request(
            "GET", "/v1/gateways/gw-a/model", token: "token-a", headers: [("If-None-Match", "\"\(sha)\"")])
        #expect(after.status == 304)
        let (_, registry) = try await h.json("GET", "/v1/models?scope=office")
        let models = registry["models"] as? [[String: Any]] ?? []
        #expect(models.count == 1)
        #expect((models.first?["aliases"] as? [String]) == ["champion"])
        #expect(((models.first?["report"] as? [String: Any])?["holdout"] as? [String: Any])?["rule"] != nil)
    }

    @Test func badConfigurationIsOneLineNamingTheKey() async throws {
        let dir = try temporaryDirectory("server-config")
        let path = dir.appendingPathComponent("bad.yaml").path
        try "http: { port: seventy }\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await ChildProcess.run(["server", "run", "--config", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("bad.yaml:1: http.port"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}
