import FleetProtocol
import Foundation
import MQTT
import OccupantTesting
import Testing

@testable import Gateway

/// Shadow scoring on the gateway against a real mosquitto and a real HTTP training host on loopback: the shadow is
/// fetched from `…/shadow`, verified like any bundle into its own slot, scored beside the active model with its own
/// feature schema, never published as the room's occupancy, and reported in each monitor window. A shadow that
/// fails verification is refused and the active model is untouched.
@Suite(.serialized) struct ShadowDeliveryTests {
    /// A bundle with another feature schema than the active one (other windows, other transforms) and another kind
    /// of model (logistic regression beside the active trees).
    static func otherSchemaBundle(in dir: URL, signer: String, version: Int = 7) async throws -> [UInt8] {
        let model = dir.appendingPathComponent("shadow.logistic.json").path
        try
            #"{"coefficients":[0.12,0.08,-0.05,0.4,0.3],"intercept":-2.5,"features":["sound_max_30s","sound_mean_10s","temperature_mean_300s","hvac_heating","tod_cos"]}"#
            .write(toFile: model, atomically: true, encoding: .utf8)
        let features = dir.appendingPathComponent("shadow-features.yaml").path
        try """
        features:
          - { name: sound_max_30s, transform: max, channel: sound, window: 30 }
          - { name: sound_mean_10s, transform: mean, channel: sound, window: 10 }
          - { name: temperature_mean_300s, transform: mean, channel: temperature, window: 300 }
          - { name: hvac_heating, transform: oneHot, channel: hvac, category: heating }
          - { name: tod_cos, transform: timeOfDayCos }
        profiles: []
        """.write(toFile: features, atomically: true, encoding: .utf8)
        let path = dir.appendingPathComponent("shadow-v\(version).occmodel").path
        let result = try await ChildProcess.run([
            "model", "import", "--logistic", model, "--features", features,
            "--signing-key", signer, "--model-id", "shadow-d4", "--model-version", String(version), "--out", path,
        ])
        try #require(result.status == 0, "\(result.stderr)")
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test func aShadowIsVerifiedScoredBesideTheActiveModelAndReportedButNeverPublished() async throws {
        let rig = try await DeliveryRig(id: "shadow", pollInterval: "300ms", topLevel: "monitor: { window: 2m }")
        defer { rig.kill() }
        let active = try rig.bundle("v1")
        rig.host.serve(active)
        try await rig.probe.waitFor("occupant/shadow/model/status", timeout: 20, "v1 active") {
            jsonObject($0)?["active"] as? String == "bench-d6-100@1"
        }
        let shadow = try await Self.otherSchemaBundle(
            in: rig.dir, signer: rig.dir.appendingPathComponent("signer.key").path)
        let shadowSHA = TestTrainingHost.sha256(shadow)
        rig.host.serveShadow(shadow)

        let status = try await rig.probe.waitFor("occupant/shadow/model/status", timeout: 20, "the shadow held") {
            jsonObject($0)?["shadow"] as? String == "shadow-d4@7"
        }
        #expect(jsonObject(status)?["shadowSha256"] as? String == shadowSHA)
        #expect(jsonObject(status)?["active"] as? String == "bench-d6-100@1")
        // Its own slot: the active pointer still names v1.
        #expect(FileManager.default.fileExists(atPath: "\(rig.state)/models/shadow/shadow-d4-v7.occmodel"))
        #expect(rig.runtime.store.activeFile == "bench-d6-100-v1.occmodel")

        // A monitor window scored in shadow from its start to its end.
        let index = rig.probe.messages.count
        let window = try await rig.probe.waitFor(
            "occupant/shadow/monitor", timeout: 30, after: index, "a shadow window"
        ) {
            guard let d = jsonObject($0), let s = d["shadow"] as? [String: Any],
                let samples = (d["window"] as? [String: Any])?["samples"] as? Int
            else { return false }
            return (s["scored"] as? Int ?? 0) + (s["stale"] as? Int ?? 0) == samples
        }
        let document = try FleetJSON.decode(MonitorDocument.self, from: window.payload)
        let section = try #require(document.shadow)
        #expect(section.model == "shadow-d4@7" && section.version == 7 && section.sha256 == shadowSHA)
        #expect(document.decidedBy == "model:bench-d6-100@1")
        #expect(section.compared > 0 && section.compared <= document.window.samples)
        let agreement = try #require(section.agreement)
        #expect((0...1).contains(agreement))
        let expected = try #require(section.expectedAccuracy)
        #expect((0.5...1).contains(expected))
        #expect(section.meanProbability.map { (0...1).contains($0) } == true)
        // The runs cover the window's samples, in order, and their pairs say where the two models agreed.
        #expect(section.complete)
        #expect(section.runs.map(\.n).reduce(0, +) == document.window.samples)
        #expect(zip(section.runs, section.runs.dropFirst()).allSatisfy { $0.to < $1.from })
        let agreedRuns = section.runs.filter { $0.active != nil && $0.active == $0.shadow }.map(\.n).reduce(0, +)
        #expect(abs(Double(agreedRuns) / Double(section.compared) - agreement) < 1e-9)
        // The room's occupancy is only ever the active model's.
        let published = rig.probe.messages.filter { $0.topic == "occupant/shadow/occupancy" }
        #expect(!published.isEmpty)
        #expect(published.allSatisfy { !(($0.text).contains("shadow-d4")) })

        // An older version of the same model in its place: compared in shadow too (never published, so no "newer
        // than" check), and the slot holds only it.
        let older = try await Self.otherSchemaBundle(
            in: rig.dir, signer: rig.dir.appendingPathComponent("signer.key").path, version: 5)
        rig.host.serveShadow(older)
        try await rig.probe.waitFor("occupant/shadow/model/status", timeout: 20, "v5 in shadow") {
            jsonObject($0)?["shadow"] as? String == "shadow-d4@5"
        }
        let slot = try FileManager.default.contentsOfDirectory(atPath: "\(rig.state)/models/shadow").sorted()
        #expect(slot == ["active", "shadow-d4-v5.occmodel"])

        // The server unassigns it (204): scoring stops, the slot is emptied, the status says so.
        rig.host.serveShadow(nil)
        let before = rig.probe.messages.count
        let cleared = try await rig.probe.waitFor(
            "occupant/shadow/model/status", timeout: 20, after: before, "the shadow gone"
        ) {
            jsonObject($0)?["shadow"] == nil && jsonObject($0)?["active"] as? String == "bench-d6-100@1"
        }
        #expect(jsonObject(cleared)?["shadowSha256"] == nil)
        #expect(!FileManager.default.fileExists(atPath: "\(rig.state)/models/shadow/shadow-d4-v5.occmodel"))
        let after = rig.probe.messages.count
        // The first window closed after the switch-off has no shadow section (one may close in between).
        _ = try await rig.probe.waitFor("occupant/shadow/monitor", timeout: 30, after: after, "a window without") {
            jsonObject($0)?["shadow"] == nil
        }
        try await rig.stop()
    }

    @Test func aShadowThatFailsVerificationIsRefusedAndTheActiveModelIsUntouched() async throws {
        let rig = try await DeliveryRig(id: "badshadow", pollInterval: "300ms", topLevel: "monitor: { window: 2m }")
        defer { rig.kill() }
        rig.host.serve(try rig.bundle("v1"))
        try await rig.probe.waitFor("occupant/badshadow/model/status", timeout: 20, "v1 active") {
            jsonObject($0)?["active"] as? String == "bench-d6-100@1"
        }
        // Signed by a key this gateway does not trust.
        let foreign = try rig.bundle("v3-foreign")
        let foreignSHA = TestTrainingHost.sha256(foreign)
        rig.host.serveShadow(foreign)
        let refused = try await rig.probe.waitFor("occupant/badshadow/model/status", timeout: 20, "refused") {
            ((jsonObject($0)?["refused"] as? [String: Any])?["sha256"] as? String) == foreignSHA
        }
        let refusal = try #require(jsonObject(refused)?["refused"] as? [String: Any])
        #expect((refusal["reason"] as? String)?.hasPrefix("shadow: untrustedKey: ") == true)
        #expect(jsonObject(refused)?["active"] as? String == "bench-d6-100@1")
        #expect(jsonObject(refused)?["shadow"] == nil)
        // Nothing in either slot changed: v1 is active, the shadow slot is empty, the loop decides with v1.
        #expect(rig.runtime.store.activeFile == "bench-d6-100-v1.occmodel")
        #expect(rig.runtime.store.shadowStore.activeFile == nil)
        let index = rig.probe.messages.count
        try await rig.probe.waitFor("occupant/badshadow/occupancy", timeout: 20, after: index, "still v1") {
            jsonObject($0)?["decidedBy"] as? String == "model:bench-d6-100@1"
        }
        // Remembered: later polls present its hash and get 304, it is downloaded once.
        _ = try await waitUntil(timeout: 10, "more shadow polls") {
            rig.host.shadowRequests.filter { $0 == 304 }.count >= 2 ? true : nil
        }
        #expect(rig.host.shadowRequests.filter { $0 == 200 }.count == 1)
        // Its monitor windows carry no shadow section.
        let windows = rig.probe.messages.filter { $0.topic == "occupant/badshadow/monitor" }
        #expect(windows.allSatisfy { jsonObject($0)?["shadow"] == nil })
        try await rig.stop()
    }

    /// After a restart the shadow slot's bundle is scored again if it still passes every check; one that no longer
    /// does (here: signed by a key no longer trusted) is dropped from the slot, and neither touches the active model.
    @Test func aRestartScoresTheSlotsShadowAgainOnlyIfItStillPasses() async throws {
        let dir = try temporaryDirectory("shadow-restart")
        let bundles = try await DeliveryRig.makeBundles(in: dir)
        func runtime(shadow: [UInt8], version: Int) throws -> GatewayRuntime {
            let state = dir.appendingPathComponent("state-\(version)").path
            let store = ModelStore(stateDirectory: state)
            try store.install(try #require(bundles["v1"]), modelID: "bench-d6-100", version: 1)
            try store.shadowStore.install(shadow, modelID: "bench-d6-100", version: version)
            var config = try GatewayConfig.parse(
                yaml: """
                    gatewayId: restart
                    simulate: { scenario: day, speed: 60 }
                    stateDirectory: \(state)
                    trustedKeys: [\(dir.appendingPathComponent("signer.pub").path)]
                    """)
            config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
            return try GatewayRuntime(config: config, logger: testLogger())
        }
        let kept = try runtime(shadow: try #require(bundles["v2"]), version: 2)
        #expect(kept.modelStatus.current.shadow?.name == "bench-d6-100@2")
        #expect(kept.modelStatus.current.active?.name == "bench-d6-100@1")

        let dropped = try runtime(shadow: try #require(bundles["v3-foreign"]), version: 3)
        #expect(dropped.modelStatus.current.shadow == nil)
        #expect(dropped.modelStatus.current.active?.name == "bench-d6-100@1")
        #expect(dropped.store.shadowStore.activeFile == nil)
        #expect(dropped.store.activeFile == "bench-d6-100-v1.occmodel")
    }
}
