import Foundation
import MQTT
import OccupantCore
import OccupantTesting
import Sensors
import Testing

/// The whole loop without a server: record two labelled days from the simulated thermostat, `occupant train` a signed
/// bundle on them, `occupant evaluate` it on a third day against the static rule, and install it on a running
/// gateway, which then decides with it.
@Suite(.serialized) struct TrainedModelTests {
    /// Rows every 10 s: time, sound, temperature, hvac, occupied (ground truth).
    func record(days: ClosedRange<Int>, seed: UInt64) -> String {
        let scenario = OfficeDayScenario(seed: seed)
        var csv = "time,sound,temperature,hvac,occupied\n"
        for second in stride(from: Double(days.lowerBound) * 86_400, to: Double(days.upperBound + 1) * 86_400, by: 10) {
            let at = scenario.start + second
            let state = scenario.state(at: at)
            csv +=
                "\(at.iso8601),\(state.values["sound"]!),\(state.values["temperature"]!),\(state.values["hvac"]!),\(state.occupied == true ? 1 : 0)\n"
        }
        return csv
    }

    @Test func trainedBundleBeatsTheRuleAndRunsOnTheGateway() async throws {
        let dir = try temporaryDirectory("trained")
        let train = dir.appendingPathComponent("train.csv").path
        let test = dir.appendingPathComponent("test.csv").path
        try record(days: 0...1, seed: 5).write(toFile: train, atomically: true, encoding: .utf8)
        try record(days: 2...2, seed: 5).write(toFile: test, atomically: true, encoding: .utf8)
        let key = dir.appendingPathComponent("k").path
        #expect(try await ChildProcess.run(["keys", "generate", "--out", key]).status == 0)
        let model = dir.appendingPathComponent("thermostat.occmodel").path
        let trained = try await ChildProcess.run(
            [
                "train", "--data", train, "--time", "time", "--label", "occupied", "--trials", "6", "--signing-key",
                key + ".key", "--out", model,
            ],
            timeout: 300)
        #expect(trained.status == 0, "\(trained.stderr)\n\(trained.stdout)")

        let evaluated = try await ChildProcess.run([
            "evaluate", "--model", model, "--data", test, "--time", "time", "--label", "occupied", "--json",
        ])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any])
        let accuracy = try #require(report["accuracy"] as? Double)
        let baseline = try #require((report["baseline"] as? [String: Any])?["accuracy"] as? Double)
        #expect(accuracy > baseline, "model \(accuracy) vs the static rule \(baseline) on an unseen day")

        // Install it on a running simulated gateway (thermostat-mcu has sound, temperature and hvac).
        let broker = try await MosquittoBroker()
        let config = dir.appendingPathComponent("gateway.yaml").path
        try """
        gatewayId: trained
        simulate: { scenario: day, speed: 60 }
        broker: { port: \(broker.port) }
        stateDirectory: \(dir.path)/state
        trustedKeys: [\(key).pub]
        decision: { heartbeat: 5s }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let gateway = try ChildProcess(["gateway", "run", "--config", config])
        defer { gateway.signal(SIGKILL) }
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/trained/occupancy"])
        try await probe.waitFor("occupant/trained/occupancy", timeout: 20)
        let install = try await ChildProcess.run(["model", "install", model, "--config", config])
        #expect(install.status == 0, "\(install.stderr)")
        try await probe.waitFor("occupant/trained/occupancy", timeout: 20, "decided by the trained model") {
            (jsonObject($0)?["decidedBy"] as? String)?.hasPrefix("model:") == true
        }
    }
}
