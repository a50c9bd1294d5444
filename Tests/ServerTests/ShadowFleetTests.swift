import Foundation
import MQTT
import OccupantCore
import OccupantTesting
import Server
import Testing

/// Shadow scoring end to end with real processes: a mosquitto, `occupant server run` (SQLite, HTTP) and two
/// simulated `occupant gateway run` that publish their ground truth. The server trains a champion and a challenger
/// on a third gateway's data; with `promotion.shadow` the challenger goes into shadow on the first wave instead of
/// being promoted; both gateways score it beside the champion and report it per monitor window; the server joins
/// their labels and shows agreement and the realised accuracy of both models, and promotes the challenger only
/// once each gateway has the labelled shadow rows the rule asks for.
@Suite(.serialized) struct ShadowFleetTests {
    func gatewayConfig(_ h: ServerHarness, id: String, token: String) throws -> String {
        let path = h.dir.appendingPathComponent("\(id).yaml").path
        try """
        gatewayId: \(id)
        simulate: { scenario: day, speed: 1200, labels: true, labelEvery: 30m }
        broker: { port: \(h.broker.port) }
        telemetry: { interval: 10m }
        monitor: { window: 20m }
        stateDirectory: \(h.dir.path)/\(id)
        trustedKeys: [\(h.dir.path)/signer.pub]
        server: { url: "\(h.base)", token: \(token), pollInterval: 1s, uploadInterval: 1s }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aChallengerInShadowOnTwoGatewaysIsPromotedOnTheirLabelledLiveData() async throws {
        let rows = 400
        let h = try await ServerHarness(
            name: "shadow-fleet",
            extra:
                "promotion: { margin: -1, firstWave: { gateways: [gw-a, gw-b] }, shadow: { rows: \(rows), margin: -1 } }",
            gateways: "  - { id: gw-t, scope: office, token: token-t }")
        try await h.start()

        // Training data from gw-t: v1 becomes the champion; v2 passes the holdout rule and goes into shadow.
        // (The gateways' profile has no humidity channel: a model reading it would be refused.)
        let (days, labels) = simulatedDays(0..<3, gateway: "gw-t")
        let telemetry = days.map { row in
            var row = row
            row.readings["humidity"] = nil
            return row
        }
        #expect(
            try await h.request("POST", "/v1/gateways/gw-t/telemetry", token: "token-t", body: ndjson(telemetry))
                .status == 200)
        #expect(try await h.request("POST", "/v1/labels", token: "admin-token", body: labelsJSON(labels)).status == 200)
        let (_, first) = try await h.json("POST", "/v1/scopes/office/retrain")
        try #require(first["promoted"] as? Bool == true, "\(first)")
        let (_, second) = try await h.json("POST", "/v1/scopes/office/retrain")
        try #require(second["version"] as? Int == 2 && second["promoted"] as? Bool == false, "\(second)")
        #expect((second["reason"] as? String)?.contains("in shadow, awaiting its evidence") == true)
        let (_, waiting) = try await h.json("GET", "/v1/scopes/office/shadow")
        #expect(waiting["version"] as? Int == 2 && waiting["awaitingEvidence"] as? Int == 2)

        let probe = try await MQTTProbe(port: h.broker.port, subscriptions: ["occupant/+/model/status"])
        let a = try ChildProcess(["gateway", "run", "--config", try gatewayConfig(h, id: "gw-a", token: "token-a")])
        let b = try ChildProcess(["gateway", "run", "--config", try gatewayConfig(h, id: "gw-b", token: "token-b")])
        defer {
            for p in [a, b] { p.signal(SIGKILL) }
        }
        // Each runs the champion and holds the challenger in shadow.
        for (g, process) in [("gw-a", a), ("gw-b", b)] {
            let held = try? await probe.waitFor("occupant/\(g)/model/status", timeout: 60, "\(g): v1, v2 in shadow") {
                jsonObject($0)?["active"] as? String == "occupancy-office@1"
                    && jsonObject($0)?["shadow"] as? String == "occupancy-office@2"
            }
            try #require(held != nil, "\(process.stderr.suffix(3000)) \(probe.messages.map(\.text).suffix(5))")
        }

        // The server shows, per gateway, agreement and the realised accuracy of both models on its labelled samples.
        let evidence = try await waitUntil(timeout: 120, "labelled shadow evidence from both gateways") {
            () -> [String: [String: Any]]? in
            let (_, listing) = try await h.json("GET", "/v1/scopes/office/shadow")
            var out: [String: [String: Any]] = [:]
            for g in listing["gateways"] as? [[String: Any]] ?? [] {
                guard let id = g["gateway"] as? String, id != "gw-t" else { continue }
                let pairs = (g["evidence"] as? [[String: Any]] ?? []).filter {
                    $0["active"] as? String == "model:occupancy-office@1"
                        && $0["shadow"] as? String == "occupancy-office@2"
                }
                if let e = pairs.first, (e["labelled"] as? Int ?? 0) > 0 { out[id] = e }
            }
            return out.count == 2 ? out : nil
        }
        for (g, e) in evidence {
            #expect((e["agreement"] as? Double).map { (0...1).contains($0) } == true, "\(g): \(e)")
            #expect((e["activeAccuracy"] as? Double).map { (0...1).contains($0) } == true, "\(g): \(e)")
            #expect((e["shadowAccuracy"] as? Double).map { (0...1).contains($0) } == true, "\(g): \(e)")
            #expect((e["compared"] as? Int ?? 0) >= (e["labelled"] as? Int ?? 0), "\(g): \(e)")
        }

        // Promoted once both have the rows the rule asks for, with the numbers in the reason.
        let promotion = try await waitUntil(timeout: 180, "v2 promoted on shadow evidence") { () -> [String: Any]? in
            let (_, registry) = try await h.json("GET", "/v1/models?scope=office")
            return (registry["promotions"] as? [[String: Any]] ?? []).first {
                $0["challenger"] as? Int == 2 && ($0["reason"] as? String ?? "").hasPrefix("shadow evidence")
            }
        }
        #expect(promotion["promoted"] as? Bool == true)
        let reason = promotion["reason"] as? String ?? ""
        for g in ["gw-a", "gw-b"] {
            let pattern = "\(g): challenger [0-9.]+, champion [0-9.]+ on ([0-9]+) labelled shadow rows"
            let match = try #require(reason.firstMatch(of: try Regex(pattern)), "\(reason)")
            let n = Int(match.output[1].substring ?? "") ?? 0
            #expect(n >= rows, "\(reason)")
        }
        #expect(!reason.contains("gw-t"))
        let (_, registry) = try await h.json("GET", "/v1/models?scope=office")
        let shadowMetrics = (registry["metrics"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "shadow" }
        #expect(Set(shadowMetrics.compactMap { $0["version"] as? Int }) == [1, 2])

        // The first wave switches to v2 and stops scoring it in shadow.
        for g in ["gw-a", "gw-b"] {
            try await probe.waitFor("occupant/\(g)/model/status", timeout: 60, "\(g): v2 active, no shadow") {
                jsonObject($0)?["active"] as? String == "occupancy-office@2" && jsonObject($0)?["shadow"] == nil
            }
        }

        // The operator's command: the old champion in shadow on gw-a only, pushed at once; shown; then cleared.
        let cli = ["--url", h.base]
        let env = ["OCCUPANT_ADMIN_TOKEN": "admin-token"]
        let index = probe.messages.count // before the command: the push can beat its exit
        let assign = try await ChildProcess.run(
            ["server", "shadow", "office", "1", "--gateway", "gw-a"] + cli, environment: env)
        #expect(assign.status == 0, "\(assign.stderr)")
        let row = assign.stdout.split(separator: "\n").first { $0.hasPrefix("gw-a ") }.map(String.init) ?? ""
        #expect(row.contains(" occupancy-office@1 (own) "), "\(assign.stdout)")
        let assigned = try await probe.waitFor(
            "occupant/gw-a/model/status", timeout: 30, after: index, "gw-a: v1 in shadow"
        ) {
            jsonObject($0)?["active"] as? String == "occupancy-office@2"
                && jsonObject($0)?["shadow"] as? String == "occupancy-office@1"
        }
        let shown = try await ChildProcess.run(["server", "shadow", "office"] + cli, environment: env)
        #expect(shown.stdout.hasPrefix("scope office: shadow none\n"), "\(shown.stdout)")
        #expect(shown.stdout.contains("model:occupancy-office@1"), "\(shown.stdout)")
        let unknown = try await ChildProcess.run(["server", "shadow", "office", "9"] + cli, environment: env)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("scope office has no version 9 (versions: v1, v2)"), "\(unknown.stderr)")
        let afterAssigned = probe.messages.firstIndex { $0 == assigned }.map { $0 + 1 } ?? probe.messages.count
        let clear = try await ChildProcess.run(
            ["server", "shadow", "office", "--clear", "--gateway", "gw-a"] + cli, environment: env)
        #expect(clear.status == 0, "\(clear.stderr)")
        try await probe.waitFor("occupant/gw-a/model/status", timeout: 30, after: afterAssigned, "gw-a: no shadow") {
            jsonObject($0)?["active"] as? String == "occupancy-office@2" && jsonObject($0)?["shadow"] == nil
        }
    }
}
