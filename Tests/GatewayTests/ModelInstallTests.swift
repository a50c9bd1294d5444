import Foundation
import MQTT
import OccupantTesting
import Testing

/// The field technician's path end to end: a model trained by xgboost in Python (the committed fixture), imported
/// and signed, installed with `occupant model install` on a running simulated gateway, which switches without a
/// restart; bad bundles are refused while the running model keeps deciding.
@Suite(.serialized) struct ModelInstallTests {
    let fixtures = packageRootPath("Tests/Fixtures/models")

    func occupant(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ChildProcess.run(arguments)
    }

    @Test func installSwitchesTheRunningGatewayAndBadBundlesAreRefused() async throws {
        let dir = try temporaryDirectory("model-install")
        let key = dir.appendingPathComponent("signer").path
        let other = dir.appendingPathComponent("other").path
        #expect(try await occupant(["keys", "generate", "--out", key]).status == 0)
        #expect(try await occupant(["keys", "generate", "--out", other]).status == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: key + ".key")[.posixPermissions] as? Int
        #expect(mode == 0o600)

        func importModel(version: Int, signer: String, out: String) async throws {
            let result = try await occupant([
                "model", "import", "--xgboost", "\(fixtures)/bench-d6-100.model.json",
                "--features", "\(fixtures)/bench-features.yaml", "--signing-key", signer + ".key",
                "--inputs", "\(fixtures)/bench-d6-100.input.csv", "--expected", "\(fixtures)/bench-d6-100.expected.csv",
                "--model-version", String(version), "--out", out,
            ])
            #expect(result.status == 0, "\(result.stderr)")
        }
        let v1 = dir.appendingPathComponent("v1.occmodel").path
        let v2 = dir.appendingPathComponent("v2.occmodel").path
        let foreign = dir.appendingPathComponent("foreign.occmodel").path
        try await importModel(version: 1, signer: key, out: v1)
        try await importModel(version: 2, signer: key, out: v2)
        try await importModel(version: 3, signer: other, out: foreign)

        let broker = try await MosquittoBroker()
        let state = dir.appendingPathComponent("state").path
        let config = dir.appendingPathComponent("gateway.yaml").path
        try """
        gatewayId: field
        simulate: { scenario: day, speed: 60 }
        broker: { port: \(broker.port) }
        stateDirectory: \(state)
        trustedKeys: [\(key).pub]
        decision: { heartbeat: 5s }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let gateway = try ChildProcess(["gateway", "run", "--config", config])
        defer { gateway.signal(SIGKILL) }
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/field/occupancy"])
        try await probe.waitFor("occupant/field/occupancy", timeout: 20, "the rule") {
            jsonObject($0)?["decidedBy"] as? String == "rule:sound>10"
        }

        // Install: verified, stored, and the running gateway switches without a restart.
        let install = try await occupant(["model", "install", v1, "--config", config])
        #expect(install.status == 0, "\(install.stderr)")
        #expect(install.stdout.contains("active now: model:bench-d6-100@1"))
        let decided = try await probe.waitFor("occupant/field/occupancy", timeout: 20, "the model") {
            jsonObject($0)?["decidedBy"] as? String == "model:bench-d6-100@1"
        }
        let object = try #require(jsonObject(decided))
        let probability = try #require(object["probability"] as? Double)
        #expect(probability >= 0 && probability <= 1)
        #expect((object["inputs"] as? [String: Double])?["tod_sin"] != nil)

        // Refusals, each with its own exit status; the running model keeps deciding.
        let foreignResult = try await occupant(["model", "install", foreign, "--config", config])
        #expect(foreignResult.status == 18) // untrusted key
        #expect(foreignResult.stderr.hasPrefix("refused (untrustedKey):"))
        let again = try await occupant(["model", "install", v1, "--config", config])
        #expect(again.status == 23) // not newer than the active version
        var corrupt = try [UInt8](Data(contentsOf: URL(fileURLWithPath: v2)))
        corrupt[corrupt.count / 2] ^= 0x40
        let corruptPath = dir.appendingPathComponent("corrupt.occmodel").path
        try Data(corrupt).write(to: URL(fileURLWithPath: corruptPath))
        let corruptResult = try await occupant(["model", "install", corruptPath, "--config", config])
        #expect(corruptResult.status >= 10 && corruptResult.status <= 24)
        #expect(corruptResult.stderr.split(separator: "\n").count == 1)
        let truncatedPath = dir.appendingPathComponent("truncated.occmodel").path
        try Data(corrupt.prefix(100)).write(to: URL(fileURLWithPath: truncatedPath))
        #expect(try await occupant(["model", "install", truncatedPath, "--config", config]).status == 10)
        let index = probe.messages.count
        try await probe.waitFor("occupant/field/occupancy", timeout: 20, after: index, "still the model") {
            jsonObject($0)?["decidedBy"] as? String == "model:bench-d6-100@1"
        }

        // Upgrade, list, roll back.
        #expect(try await occupant(["model", "install", v2, "--config", config]).status == 0)
        let list = try await occupant(["model", "list", "--config", config])
        #expect(list.stdout.contains("active    bench-d6-100@2"))
        #expect(list.stdout.contains("previous  bench-d6-100@1"))
        let rollback = try await occupant(["model", "rollback", "--config", config])
        #expect(rollback.status == 0, "\(rollback.stderr)")
        try await probe.waitFor("occupant/field/occupancy", timeout: 20, "rolled back") {
            jsonObject($0)?["decidedBy"] as? String == "model:bench-d6-100@1"
        }
        #expect(gateway.isRunning)

        // A restart keeps the active model; a damaged active bundle makes it fall back to the rule and say why.
        gateway.signal(SIGTERM)
        _ = try await gateway.wait(timeout: 15)
        let restarted = try ChildProcess(["gateway", "run", "--config", config])
        defer { restarted.signal(SIGKILL) }
        let after = probe.messages.count
        try await probe.waitFor("occupant/field/occupancy", timeout: 20, after: after, "model after restart") {
            jsonObject($0)?["decidedBy"] as? String == "model:bench-d6-100@1"
        }
        restarted.signal(SIGTERM)
        _ = try await restarted.wait(timeout: 15)
        let active = "\(state)/models/bench-d6-100-v1.occmodel"
        var damaged = try [UInt8](Data(contentsOf: URL(fileURLWithPath: active)))
        damaged[damaged.count - 10] ^= 0x01 // inside the signature
        try Data(damaged).write(to: URL(fileURLWithPath: active))
        let third = try ChildProcess(["gateway", "run", "--config", config])
        defer { third.signal(SIGKILL) }
        let fallbackIndex = probe.messages.count
        let fallback = try await probe.waitFor(
            "occupant/field/occupancy", timeout: 20, after: fallbackIndex, "fallback"
        ) {
            (jsonObject($0)?["decidedBy"] as? String)?.hasPrefix("rule:sound>10 (fallback: badSignature") == true
        }
        #expect(jsonObject(fallback)?["roomOccupancy"] is Bool)
    }

    @Test func predictMatchesTheLibrary() async throws {
        let dir = try temporaryDirectory("model-predict")
        let key = dir.appendingPathComponent("k").path
        _ = try await occupant(["keys", "generate", "--out", key])
        let out = dir.appendingPathComponent("m.occmodel").path
        let imported = try await occupant([
            "model", "import", "--lightgbm", "\(fixtures)/lgb-50-l15-missing.model.txt",
            "--features", (0..<6).map { "f\($0)" }.joined(separator: ","), "--signing-key", key + ".key", "--out", out,
        ])
        #expect(imported.status == 0, "\(imported.stderr)")
        let predicted = try await occupant([
            "model", "predict", "--model", out, "--data", "\(fixtures)/lgb-50-l15-missing.input.csv",
        ])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        let ours = predicted.stdout.split(separator: "\n").dropFirst().compactMap { Double($0) }
        let theirs = try String(contentsOfFile: "\(fixtures)/lgb-50-l15-missing.expected.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst().compactMap { Double($0) }
        #expect(ours.count == theirs.count && !ours.isEmpty)
        #expect(zip(ours, theirs).allSatisfy { abs($0 - $1) <= 1e-6 })
    }

    @Test func verifyRefusesIncompatibleAndExpiredModels() async throws {
        let dir = try temporaryDirectory("model-verify")
        let key = dir.appendingPathComponent("k").path
        _ = try await occupant(["keys", "generate", "--out", key])
        // Raw columns f0…f5: channels the thermostat-mcu profile does not have.
        let raw = dir.appendingPathComponent("raw.occmodel").path
        let imported = try await occupant([
            "model", "import", "--logistic", "\(fixtures)/logreg-6.logistic.json",
            "--features", (0..<6).map { "f\($0)" }.joined(separator: ","), "--signing-key", key + ".key", "--out", raw,
        ])
        #expect(imported.status == 0, "\(imported.stderr)")
        let incompatible = try await occupant([
            "model", "verify", raw, "--trusted-key", key + ".pub", "--profile", "thermostat-mcu",
        ])
        #expect(incompatible.status == 22)
        #expect(incompatible.stderr.contains("reads channel 'f0', which profile thermostat-mcu does not have"))

        let expired = dir.appendingPathComponent("expired.occmodel").path
        let importedExpired = try await occupant([
            "model", "import", "--xgboost", "\(fixtures)/bench-d4-20.model.json", "--features",
            "\(fixtures)/bench-features.yaml",
            "--signing-key", key + ".key", "--expires", "2020-01-01T00:00:00Z", "--out", expired,
        ])
        #expect(importedExpired.status == 0, "\(importedExpired.stderr)")
        let result = try await occupant([
            "model", "verify", expired, "--trusted-key", key + ".pub", "--profile", "thermostat-mcu",
        ])
        #expect(result.status == 20)
        #expect(result.stderr.hasPrefix("refused (expired):"))

        let unsignedKey = try await occupant([
            "model", "verify", expired, "--profile", "thermostat-mcu", "--state-directory", dir.path,
        ])
        #expect(unsignedKey.status == 18) // no trusted keys configured at all

        let wrongFeatures = try await occupant([
            "model", "import", "--xgboost", "\(fixtures)/bench-d4-20.model.json", "--features", "a,b",
            "--signing-key", key + ".key", "--out", dir.appendingPathComponent("x.occmodel").path,
        ])
        #expect(wrongFeatures.status != 0)
        #expect(wrongFeatures.stderr.contains("--features names 2 features, the model reads 5"))
    }
}
