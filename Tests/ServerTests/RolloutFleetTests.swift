import Evaluator
import Foundation
import MQTT
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// Safe rollout end to end with real processes: a mosquitto, `occupant server run` and three simulated
/// `occupant gateway run` (gw-a in the first wave, gw-b and gw-c in the last). A deliberately broken version — a
/// constant probability — is rolled back by gw-a's own `stuck` guard, the server aborts the rollout and the other
/// wave never receives it; a good version passes probation in the first wave and then reaches everyone.
@Suite(.serialized) struct RolloutFleetTests {
    /// A logistic model on raw `sound` and `temperature`, trained (it says) on their usual ranges.
    static func bundle(version: Int, coefficients: [Double], intercept: Double) throws -> ModelBundle {
        let model = Model.logistic(try LogisticModel(validatingCoefficients: coefficients, intercept: intercept))
        let names = ["sound", "temperature"]
        let statistics = zip(names, [(0.0, 255.0), (-10.0, 50.0)]).map { name, range in
            BundleManifest.FeatureStatistics(
                name: name, count: 1000, missing: 0, histogram: .init(edges: [range.0, range.1], counts: [1000]))
        }
        let manifest = BundleManifest(
            modelID: "occupancy-office", version: version, created: Instant(seconds: 1_700_000_000),
            features: .raw(columns: names), policy: .init(threshold: 0.5, occupiedAfter: 30, vacantAfter: 600),
            featureStatistics: statistics,
            golden: GoldenVectors.make(
                model: model, rows: (0..<32).map { [Double($0 % 8), 20 + Double($0) * 0.1] }))
        return ModelBundle(manifest: manifest, model: model)
    }

    /// v1 and v3 follow the sound level (occupied above ~30); v2 says 0.5 whatever the room does.
    static func seed(_ h: ServerHarness) async throws -> [Int: String] {
        let (key, keyID) = try SigningKeys.readPrivateKey(path: h.dir.appendingPathComponent("signer.key").path)
        let store = try SQLiteStore(path: h.dir.path + "/state/server.sqlite")
        let artifacts = try ArtifactStore(root: h.dir.path + "/state/artifacts")
        var shas: [Int: String] = [:]
        for (version, bundle) in [
            (1, try bundle(version: 1, coefficients: [0.3, 0.01], intercept: -9)),
            (2, try bundle(version: 2, coefficients: [0, 0], intercept: 0)),
            (3, try bundle(version: 3, coefficients: [0.3, 0.01], intercept: -9.1)),
        ] {
            let bytes = bundle.encode(signingKey: key, keyID: keyID)
            let sha = try artifacts.put(bytes)
            shas[version] = sha
            try await store.addModel(
                ModelRecord(
                    scope: "office", version: version, modelID: "occupancy-office", sha256: sha, size: bytes.count,
                    created: 1_700_000_000, dataFrom: 0, dataTo: 1, labelledRowsSeen: 0, report: "{}"))
        }
        try await store.setAlias(scope: "office", alias: "champion", version: 1)
        return shas
    }

    func gatewayConfig(_ h: ServerHarness, id: String) throws -> String {
        let path = h.dir.appendingPathComponent("\(id).yaml").path
        try """
        gatewayId: \(id)
        simulate: { scenario: day, speed: 600 }
        broker: { port: \(h.broker.port) }
        telemetry: { enabled: false }
        stateDirectory: \(h.dir.path)/\(id)
        trustedKeys: [\(h.dir.path)/signer.pub]
        models: { probation: { duration: 1d, stuckAfter: 20m } }
        server: { url: "\(h.base)", token: token-\(id.dropFirst(3)), pollInterval: 1s, uploadInterval: 1s }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aBrokenVersionStopsAtTheFirstWaveAndAGoodOneReachesEveryone() async throws {
        let h = try await ServerHarness(
            name: "rollout-fleet",
            extra: "promotion: { waves: [{ gateways: [gw-a] }], probation: 3s, abortShare: 0.1 }",
            gateways: "  - { id: gw-c, scope: office, token: token-c }")
        try FileManager.default.createDirectory(
            at: h.dir.appendingPathComponent("state"), withIntermediateDirectories: true)
        let shas = try await Self.seed(h)
        try await h.start()
        let probe = try await MQTTProbe(port: h.broker.port, subscriptions: ["occupant/+/model/status"])
        let gateways = ["gw-a", "gw-b", "gw-c"]
        var processes: [ChildProcess] = []
        defer { for p in processes { p.signal(SIGKILL) } }
        for g in gateways {
            processes.append(try ChildProcess(["gateway", "run", "--config", try gatewayConfig(h, id: g)]))
        }
        func running(_ g: String, _ version: Int, after index: Int = 0, timeout: Double = 60) async throws {
            let seen = try? await probe.waitFor(
                "occupant/\(g)/model/status", timeout: timeout, after: index, "\(g) runs v\(version)"
            ) { jsonObject($0)?["active"] as? String == "occupancy-office@\(version)" }
            let stderr = processes[gateways.firstIndex(of: g)!].stderr.suffix(2000)
            try #require(seen != nil, "\(g) does not run v\(version): \(stderr)")
        }
        for g in gateways { try await running(g, 1) }

        // The broken v2, promoted by an operator: only gw-a gets it, and gw-a's stuck guard takes it back.
        let index = probe.messages.count
        let promote = try await ChildProcess.run(
            ["server", "promote", "office", "2", "--by", "test", "--url", h.base],
            environment: ["OCCUPANT_ADMIN_TOKEN": "admin-token"])
        #expect(promote.status == 0, "\(promote.stderr)")
        #expect(promote.stdout.hasPrefix("office v2 (from v1): running"), "\(promote.stdout)")
        try await running("gw-a", 2, after: index)
        let rolledBack = try await probe.waitFor(
            "occupant/gw-a/model/status", timeout: 60, after: index, "gw-a rolls v2 back"
        ) { (jsonObject($0)?["rolledBack"] as? [String: Any])?["sha256"] as? String == shas[2] }
        let record = try #require(jsonObject(rolledBack)?["rolledBack"] as? [String: Any])
        #expect(record["guard"] as? String == "stuck", "\(record)")
        let aborted = try await waitUntil(timeout: 30, "the rollout aborted") { () -> [String: Any]? in
            let (_, d) = try await h.json("GET", "/v1/scopes/office/rollout")
            return d["state"] as? String == "aborted" ? d : nil
        }
        #expect((aborted["reason"] as? String)?.contains("gw-a rolled back: stuck") == true, "\(aborted)")
        // gw-a is back on v1; gw-b and gw-c never saw v2.
        try await running("gw-a", 1, after: index)
        let v2Elsewhere = probe.messages.dropFirst(index).filter {
            !$0.topic.hasPrefix("occupant/gw-a/") && $0.text.contains("occupancy-office@2")
        }
        #expect(v2Elsewhere.isEmpty, "\(v2Elsewhere.map(\.text))")
        let shown = try await ChildProcess.run(
            ["server", "rollout", "office", "--url", h.base], environment: ["OCCUPANT_ADMIN_TOKEN": "admin-token"])
        #expect(shown.stdout.contains("office v2 (from v1): aborted"), "\(shown.stdout)")
        #expect(shown.stdout.contains("gw-a rolledBack: stuck"), "\(shown.stdout)")
        let (_, alerts) = try await h.json("GET", "/v1/alerts?open=true")
        let kinds = (alerts["alerts"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        #expect(kinds.contains("rollout"), "\(alerts)")

        // The good v3: gw-a runs it through the server's 3 s probation, then the last wave gets it.
        let next = probe.messages.count
        let (status, started) = try await h.json("POST", "/v1/scopes/office/promote", body: #"{"version":3}"#)
        #expect(status == 200 && started["state"] as? String == "running", "\(started)")
        for g in gateways { try await running(g, 3, after: next, timeout: 90) }
        let complete = try await waitUntil(timeout: 30, "the rollout complete") { () -> [String: Any]? in
            let (_, d) = try await h.json("GET", "/v1/scopes/office/rollout")
            return d["state"] as? String == "complete" ? d : nil
        }
        let waves = complete["waves"] as? [[String: Any]] ?? []
        #expect(waves.map { $0["state"] as? String } == ["passed", "passed"], "\(complete)")
    }
}
