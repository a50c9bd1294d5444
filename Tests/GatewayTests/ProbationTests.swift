import Crypto
import Evaluator
import Features
import Foundation
import Logging
import MQTT
import OccupantCore
import OccupantTesting
import ServiceLifecycle
import Testing

@testable import Gateway

/// Probation on a simulated gateway at 600× against a real broker, with a real model store: a model that becomes
/// active is watched by its guards and rolled back on its own when one trips — `model/status` names the guard, the
/// store keeps the failed bundle out of the active slot, the updater never fetches it again (also after a restart);
/// a good model passes and stays; a probability that is not one never reaches the broker.
@Suite(.serialized) struct ProbationTests {
    // MARK: Bundles

    /// A logistic model on raw `sound` and `temperature`, signed; `ranges` become its training statistics.
    static func bundle(
        _ id: String, version: Int, coefficients: [Double], intercept: Double,
        policy: BundleManifest.DecisionPolicy = .init(threshold: 0.5, occupiedAfter: 0, vacantAfter: 0),
        ranges: [(Double, Double)]? = nil
    ) throws -> ModelBundle {
        let model = Model.logistic(try LogisticModel(validatingCoefficients: coefficients, intercept: intercept))
        let rows: [[Double]] = (0..<32).map { [Double($0 % 8), 20 + Double($0) * 0.1] }
        let names = ["sound", "temperature"]
        let statistics = ranges.map { ranges in
            zip(names, ranges).map { name, range in
                BundleManifest.FeatureStatistics(
                    name: name, count: 1000, missing: 0, histogram: .init(edges: [range.0, range.1], counts: [1000]))
            }
        }
        let manifest = BundleManifest(
            modelID: id, version: version, created: Instant(seconds: 1_700_000_000), features: .raw(columns: names),
            policy: policy, featureStatistics: statistics, golden: GoldenVectors.make(model: model, rows: rows))
        return ModelBundle(manifest: manifest, model: model)
    }

    /// p = 0.5 whatever the inputs.
    static func constant(version: Int = 2) throws -> ModelBundle {
        try bundle("constant", version: version, coefficients: [0, 0], intercept: 0)
    }

    /// Occupied from a sound level of 4, vacant at 3: the quiet room's noise (3 ± 1.2) flips it, no hysteresis.
    static func flapping() throws -> ModelBundle {
        try bundle("flapping", version: 1, coefficients: [20, 0], intercept: -70)
    }

    /// Trained (it says) on sound 100–200 and temperature 60–70 °C: every live sample is outside.
    static func outOfDepth() throws -> ModelBundle {
        try bundle(
            "outofdepth", version: 1, coefficients: [0.3, 0.05], intercept: -12,
            policy: .init(threshold: 0.5, occupiedAfter: 30, vacantAfter: 600), ranges: [(100, 200), (60, 70)])
    }

    /// Follows the sound level calmly (occupied above ~30), with the usual hysteresis.
    static func good(version: Int = 1) throws -> ModelBundle {
        try bundle(
            "good", version: version, coefficients: [0.3, 0.01], intercept: -9,
            policy: .init(threshold: 0.5, occupiedAfter: 30, vacantAfter: 600), ranges: [(0, 255), (-10, 50)])
    }

    // MARK: Rig

    final class Rig: @unchecked Sendable {
        // @unchecked: set up in init; `runtime`/`running` are replaced only from the test's task (restart).
        let id: String
        let dir: URL
        let key = SigningKeys.generate()
        let broker: MosquittoBroker
        let probe: MQTTProbe
        let config: GatewayConfig
        var runtime: GatewayRuntime
        var group: ServiceGroup
        var running: Task<Void, any Error>

        init(_ id: String, probation: String, server: String = "") async throws {
            self.id = id
            dir = try temporaryDirectory("probation-\(id)")
            _ = try SigningKeys.save(key, prefix: dir.appendingPathComponent("signer").path)
            broker = try await MosquittoBroker()
            probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/\(id)/#"])
            var config = try GatewayConfig.parse(
                yaml: """
                    gatewayId: \(id)
                    simulate: { scenario: day, speed: 600 }
                    broker: { port: \(broker.port) }
                    stateDirectory: \(dir.appendingPathComponent("state").path)
                    trustedKeys: [\(dir.appendingPathComponent("signer.pub").path)]
                    decision: { heartbeat: 30s }
                    telemetry: { enabled: false }
                    models: { probation: \(probation) }
                    \(server)
                    """)
            config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
            self.config = config
            (runtime, group, running) = try Rig.start(config)
        }

        static func start(_ config: GatewayConfig) throws -> (GatewayRuntime, ServiceGroup, Task<Void, any Error>) {
            let runtime = try GatewayRuntime(config: config, logger: testLogger())
            let group = ServiceGroup(services: runtime.services, logger: testLogger())
            return (runtime, group, Task { try await group.run() })
        }

        func signed(_ bundle: ModelBundle) -> [UInt8] {
            bundle.encode(signingKey: key, keyID: SigningKeys.keyID(for: key.publicKey))
        }

        /// What `occupant model install` does: store the bundle, and the running gateway switches to it.
        func install(_ bundle: ModelBundle) throws -> String {
            let bytes = signed(bundle)
            try runtime.store.install(bytes, modelID: bundle.manifest.modelID, version: bundle.manifest.version)
            if case .failure(let reason) = runtime.activator.switchToActive(by: "the test") {
                throw OccupantError(.model, "the test bundle was refused: \(reason)")
            }
            return sha256Hex(bytes)
        }

        func restart() async throws {
            await group.triggerGracefulShutdown()
            try await running.value
            (runtime, group, running) = try Rig.start(config)
        }

        func stop() async throws {
            await group.triggerGracefulShutdown()
            try await running.value
        }

        var occupancy: String { "occupant/\(id)/occupancy" }
        var status: String { "occupant/\(id)/model/status" }

        /// The first occupancy message decided by `decider` after `index`.
        @discardableResult
        func decided(by decider: String, after index: Int = 0, _ what: String) async throws -> MQTTMessage {
            try await probe.waitFor(occupancy, timeout: 60, after: index, what) {
                jsonObject($0)?["decidedBy"] as? String == decider
            }
        }

        /// The status naming a rollback of `sha`.
        func rollback(of sha: String, after index: Int = 0) async throws -> ModelStatusDocument.RolledBack {
            let message = try await probe.waitFor(status, timeout: 90, after: index, "a rollback of \(sha.prefix(12))")
            {
                (try? FleetJSON.decode(ModelStatusDocument.self, from: $0.payload))?.rolledBack?.sha256 == sha
            }
            return try #require(try FleetJSON.decode(ModelStatusDocument.self, from: message.payload).rolledBack)
        }

        /// Gateway-clock seconds of a decision's `at`.
        static func at(_ message: MQTTMessage) -> Double? {
            (jsonObject(message)?["at"] as? String).flatMap { Instant(iso8601: $0)?.seconds }
        }
    }

    // MARK: Configuration and defaults

    @Test func theConfigurationReadsModelsProbation() throws {
        #expect(try GatewayConfig.parse(yaml: "{}").probation == ProbationSettings())
        let config = try GatewayConfig.parse(
            yaml: """
                models:
                  probation: { duration: 6h, maxTransitionsPerHour: 8, stuckAfter: 30m, outOfRangeShare: 0.1,
                               depthWindow: 5m, accuracyDrop: 0.2, rollbackAfterProbation: true }
                """)
        #expect(
            config.probation
                == ProbationSettings(
                    duration: 21_600, maxTransitionsPerHour: 8, stuckAfter: 1_800, outOfRangeShare: 0.1,
                    depthWindow: 300, accuracyDrop: 0.2, rollbackAfterProbation: true))
        for (yaml, expected) in [
            (
                "models: { probation: { outOfRangeShare: 1.5 } }",
                "models.probation.outOfRangeShare: 1.5 is out of range"
            ),
            ("models: { probation: { duration: 0s } }", "models.probation.duration: must be positive"),
            ("models: { probation: { stuckAfer: 1h } }", "unknown key 'stuckAfer'"),
            ("models: { probaton: {} }", "unknown key 'probaton'"),
        ] {
            do {
                _ = try GatewayConfig.parse(yaml: yaml, source: "gateway.yaml")
                Issue.record("expected an error containing: \(expected)")
            } catch {
                #expect(error.description.contains(expected), "got: \(error.description)")
            }
        }
    }

    /// The flapping limit follows the bundle's hysteresis; training ranges come from its statistics.
    @Test func defaultsComeFromTheBundle() throws {
        #expect(Probation.defaultMaxTransitions(try Self.flapping().manifest) == 12)
        #expect(Probation.defaultMaxTransitions(try Self.good().manifest) == 5) // 3600 / (30 + 600)
        #expect(Probation.defaultMaxTransitions(nil) == 12)
        let (low, high) = Probation.trainingRanges(try Self.outOfDepth().manifest)
        #expect(low == [90, 59] && high == [210, 71])
        let none = Probation.trainingRanges(try Self.constant().manifest)
        #expect(none.low.allSatisfy { $0 == -.infinity } && none.high.allSatisfy { $0 == .infinity })
    }

    /// The monitor's windows: drift in two windows in a row, or an estimated accuracy far below the bundle's, trips
    /// while on probation (rollback) and alerts once after it.
    @Test func monitorWindowsTripTheDriftAndAccuracyGuards() throws {
        func window(drifted: Bool, expected: Double) -> MonitorDocument {
            MonitorDocument(
                gateway: "g",
                window: .init(
                    from: TimeValue(Instant(seconds: 0)), to: TimeValue(Instant(seconds: 3600)), samples: 1200),
                inputs: [:],
                predictions: .init(meanProbability: 0.4, positiveRate: 0.4, transitions: 2, histogram: [], stale: 0),
                drift: ["sound_mean_60s": .init(score: drifted ? 0.4 : 0.01, threshold: 0.1, drifted: drifted)],
                expectedAccuracy: expected, bundleAccuracy: 0.93, decidedBy: "model:good@1",
                process: .init(cpuSeconds: nil, rssBytes: nil, uptimeSeconds: nil))
        }
        let start = Instant(seconds: 1_000_000)
        var guards = Probation(settings: .init(duration: 86_400))
        guards.watch(.init(modelID: "good", version: 1, sha256: "", bundle: try Self.good()), at: start)
        let calm = guards.check(window: window(drifted: false, expected: 0.9), at: start + 3600)
        #expect(calm == nil)
        let once = guards.check(window: window(drifted: true, expected: 0.9), at: start + 7200)
        #expect(once == nil)
        let twice = guards.check(window: window(drifted: true, expected: 0.9), at: start + 10_800)
        let drift = try #require(twice)
        #expect(drift.guardName == .drift && drift.rollback && drift.reason.contains("sound_mean_60s"))
        let low = guards.check(window: window(drifted: false, expected: 0.7), at: start + 14_400)
        let accuracy = try #require(low)
        #expect(accuracy.guardName == .accuracy && accuracy.rollback)
        #expect(accuracy.reason.contains("estimated accuracy 0.7 is more than 0.15 below the bundle's 0.93"))
        // After probation: an alert, once.
        let later = start + 90_000
        let first = guards.check(window: window(drifted: false, expected: 0.7), at: later)
        let alert = try #require(first)
        #expect(alert.guardName == .accuracy && !alert.rollback)
        let again = guards.check(window: window(drifted: false, expected: 0.7), at: later + 3600)
        #expect(again == nil)
        // Another model's window is not this model's business.
        var other = window(drifted: true, expected: 0.1)
        other.decidedBy = "rule:sound>10"
        let unrelated = guards.check(window: other, at: later)
        #expect(unrelated == nil)
    }

    // MARK: Tests

    /// A constant probability after a good model: `stuck` trips once the probability has not moved for `stuckAfter`
    /// while the sound moved, and the gateway is back on the good model within one cycle, for good.
    @Test func aConstantModelIsRolledBackToThePreviousOne() async throws {
        let rig = try await Rig("stuck", probation: "{ duration: 1d, stuckAfter: 20m }")
        try await rig.decided(by: "rule:sound>10", "the rule")
        _ = try rig.install(try Self.good())
        try await rig.decided(by: "model:good@1", "the good model")
        let index = rig.probe.messages.count
        let sha = try rig.install(try Self.constant())
        let first = try await rig.decided(by: "model:constant@2", after: index, "the constant model")
        let record = try await rig.rollback(of: sha, after: index)
        #expect(record.guardName == "stuck" && record.version == 2)
        #expect(record.reason.contains("unchanged for") && record.reason.contains("limit 1200 s"))
        // Within the guard's limit: 20 minutes of gateway clock, plus a few cycles (at 600× a cycle delayed by 1.5 s of
        // real time on a loaded machine is 900 s of gateway clock).
        let started = try #require(Rig.at(first))
        let tripped = try #require(Instant(iso8601: record.at)?.seconds)
        #expect(tripped - started >= 1_200 && tripped - started <= 1_200 + 900, "\(tripped - started) s")
        // Back on the previous model; the store agrees, and `rollback` cannot bring the constant one back.
        let back = try await rig.decided(by: "model:good@1", after: rig.probe.messages.count, "the good model again")
        #expect((jsonObject(back)?["probability"] as? Double).map { $0 >= 0 && $0 <= 1 } == true)
        #expect(rig.runtime.store.activeFile == "good-v1.occmodel")
        #expect(rig.runtime.store.previousFile == nil)
        #expect(rig.runtime.modelStatus.current.active?.name == "good@1")
        // Recorded in the store for `occupant model list` and the next start.
        #expect(ProbationRecorder.rollbacks(in: rig.runtime.store).map(\.sha256) == [sha])
        // The constant model decided nothing after the rollback's cycle.
        let late = rig.probe.messages(on: rig.occupancy).filter {
            jsonObject($0)?["decidedBy"] as? String == "model:constant@2" && (Rig.at($0) ?? 0) > tripped
        }
        #expect(late.isEmpty)
        try await rig.stop()
    }

    /// A model that flips with the noise: `flapping` trips at the first change beyond the hourly limit (12 for a
    /// bundle without hysteresis), straight back to the rule.
    @Test func aFlappingModelIsRolledBackToTheRule() async throws {
        let rig = try await Rig("flap", probation: "{ duration: 1d }")
        try await rig.decided(by: "rule:sound>10", "the rule")
        let index = rig.probe.messages.count
        let sha = try rig.install(try Self.flapping())
        let record = try await rig.rollback(of: sha, after: index)
        #expect(record.guardName == "flapping")
        #expect(record.reason.contains("13 published changes within") && record.reason.contains("limit of 12 per hour"))
        try await rig.decided(by: "rule:sound>10", after: rig.probe.messages.count, "the rule again")
        // The 13th change was decided again by the rule: at most 12 changes were published by the flapping model.
        let states = rig.probe.messages(on: rig.occupancy).dropFirst(index).filter {
            jsonObject($0)?["decidedBy"] as? String == "model:flapping@1"
        }.compactMap { jsonObject($0)?["roomOccupancy"] as? Bool }
        let changes = zip(states, states.dropFirst()).filter { $0 != $1 }.count
        #expect(changes <= 12, "\(changes) changes published by the flapping model")
        #expect(rig.runtime.store.activeFile == nil)
        #expect(rig.runtime.modelStatus.current.active == nil)
        try await rig.stop()
    }

    /// Inputs far outside the training range: `outOfRange` trips once 30 samples of a window are judged.
    @Test func aModelOutOfItsDepthIsRolledBack() async throws {
        let rig = try await Rig("depth", probation: "{ duration: 1d, outOfRangeShare: 0.5 }")
        try await rig.decided(by: "rule:sound>10", "the rule")
        let index = rig.probe.messages.count
        let sha = try rig.install(try Self.outOfDepth())
        let first = try await rig.decided(by: "model:outofdepth@1", after: index, "the model")
        let record = try await rig.rollback(of: sha, after: index)
        #expect(record.guardName == "outOfRange")
        #expect(record.reason.contains("outside the training range, limit 50 %"))
        let started = try #require(Rig.at(first))
        let tripped = try #require(Instant(iso8601: record.at)?.seconds)
        // 30 samples at 3 s of gateway clock per cycle; well within the 15-minute window.
        #expect(tripped - started <= 900, "\(tripped - started) s")
        try await rig.decided(by: "rule:sound>10", after: rig.probe.messages.count, "the rule again")
        try await rig.stop()
    }

    /// An evaluator that returns NaN, ∞ or 1.5: on probation it is rolled back at its first such probability, which
    /// is decided again by the rule; after probation its decisions are published as stale. Never a bad number.
    @Test func aBrokenOutputNeverReachesTheBroker() async throws {
        struct Broken: OccupancyScorer {
            var n = 0
            var id: String { "model:broken@9" }
            var channels: [String] { ["sound"] }
            var threshold: Double { 0.5 }
            mutating func score(_ sample: Sample) -> Score {
                n += 1
                let values: [Double] = [0.25, .nan, 0.75, .infinity, 1.5, -0.5]
                return .probability(values[n % values.count], inputs: [:])
            }
        }
        let rig = try await Rig("broken", probation: "{ duration: 1d }")
        try await rig.decided(by: "rule:sound>10", "the rule")
        let sha = String(repeating: "ab", count: 32)
        let index = rig.probe.messages.count
        rig.runtime.loop.replaceScorer(
            Broken(), hysteresis: nil, note: nil,
            subject: .init(modelID: "broken", version: 9, sha256: sha, bundle: nil, onProbation: true))
        let record = try await rig.rollback(of: sha, after: index)
        #expect(record.guardName == "brokenOutput")
        try await rig.decided(by: "rule:sound>10", after: rig.probe.messages.count, "the rule again")

        // After probation (rollback off): the model keeps deciding, its bad probabilities are published as stale.
        let after = rig.probe.messages.count
        rig.runtime.loop.replaceScorer(
            Broken(), hysteresis: nil, note: nil,
            subject: .init(modelID: "broken", version: 9, sha256: sha, bundle: nil, onProbation: false))
        let stale = try await rig.probe.waitFor(rig.occupancy, timeout: 60, after: after, "a stale broken decision") {
            jsonObject($0)?["decidedBy"] as? String == "model:broken@9" && jsonObject($0)?["stale"] != nil
        }
        #expect((jsonObject(stale)?["stale"] as? String)?.contains("broken output") == true)
        // The alert is on the status; the rollback before stays named.
        let alerted = try await rig.probe.waitFor(rig.status, timeout: 30, after: after, "the guard's alert") {
            (try? FleetJSON.decode(ModelStatusDocument.self, from: $0.payload))?.guardAlert != nil
        }
        let document = try FleetJSON.decode(ModelStatusDocument.self, from: alerted.payload)
        #expect(document.guardAlert?.guardName == "brokenOutput" && document.guardAlert?.sha256 == sha)
        #expect(document.rolledBack?.guardName == "brokenOutput")
        try await rig.decided(by: "model:broken@9", after: after, "a good broken decision")
        for message in rig.probe.messages(on: rig.occupancy) {
            // Valid JSON (no NaN or Infinity literal), and a probability only when it is one.
            let object = jsonObject(message)
            #expect(object != nil, "\(message.text)")
            if let p = object?["probability"] as? Double { #expect(p >= 0 && p <= 1, "\(message.text)") }
        }
        try await rig.stop()
    }

    /// A good model passes probation (its mark in the store removed) and keeps deciding; nothing is rolled back.
    @Test func aGoodModelPassesProbationAndStays() async throws {
        let rig = try await Rig("good", probation: "{ duration: 30m }")
        try await rig.decided(by: "rule:sound>10", "the rule")
        let sha = try rig.install(try Self.good())
        let mark = rig.runtime.store.directory + "/probation"
        #expect(FileManager.default.fileExists(atPath: mark))
        try await rig.decided(by: "model:good@1", "the good model")
        try await waitUntil(timeout: 60, "probation passed") {
            FileManager.default.fileExists(atPath: mark) ? nil : true
        }
        let index = rig.probe.messages.count
        // Still deciding, well after probation (another 30 minutes of gateway clock).
        let first = try await rig.decided(by: "model:good@1", after: index, "the good model after probation")
        let start = try #require(Rig.at(first))
        try await rig.probe.waitFor(rig.occupancy, timeout: 60, after: index, "30 more minutes") {
            jsonObject($0)?["decidedBy"] as? String == "model:good@1" && (Rig.at($0) ?? 0) >= start + 1_800
        }
        #expect(rig.runtime.modelStatus.current.rolledBack == nil)
        #expect(rig.runtime.modelStatus.current.active?.sha256 == sha)
        #expect(rig.runtime.store.activeFile == "good-v1.occmodel")
        try await rig.stop()
    }

    /// A restart during probation does not end it: the model is on probation again and still rolled back (after
    /// probation a stuck model would only raise an alert).
    @Test func aRestartDuringProbationKeepsTheModelOnProbation() async throws {
        let rig = try await Rig("resume", probation: "{ duration: 1d, stuckAfter: 1h }")
        try await rig.decided(by: "rule:sound>10", "the rule")
        let sha = try rig.install(try Self.constant())
        try await rig.decided(by: "model:constant@2", "the constant model")
        #expect(rig.runtime.modelStatus.current.rolledBack == nil)
        try await rig.restart()
        let restarted = rig.probe.messages.count
        try await rig.decided(by: "model:constant@2", after: restarted, "the constant model after the restart")
        let record = try await rig.rollback(of: sha, after: restarted)
        #expect(record.guardName == "stuck")
        try await rig.decided(by: "rule:sound>10", after: rig.probe.messages.count, "the rule again")
        #expect(rig.runtime.store.activeFile == nil)
        try await rig.stop()
    }

    /// Delivered by the server, rolled back by its guard, never fetched again: the updater sends its hash as known
    /// and keeps the rule, also after a restart, and the retained status still names the rollback.
    @Test func aRolledBackVersionIsNotInstalledAgainAfterARestart() async throws {
        let host = try await TestTrainingHost(gatewayID: "again")
        defer { Task { await host.stop() } }
        let rig = try await Rig(
            "again", probation: "{ duration: 1d, stuckAfter: 10m }",
            server: #"server: { url: "\#(host.url)/", token: gw-token, pollInterval: 1s, pollJitter: 0 }"#)
        let bytes = rig.signed(try Self.constant(version: 5))
        let sha = sha256Hex(bytes)
        host.serve(bytes)
        let record = try await rig.rollback(of: sha)
        #expect(record.guardName == "stuck" && record.version == 5)
        try await rig.decided(by: "rule:sound>10", after: rig.probe.messages.count, "the rule again")
        #expect(rig.runtime.store.activeFile == nil)

        try await rig.restart()
        let restarted = rig.probe.messages.count
        // The status after the restart still names the rollback; the updater polls and is told "not modified".
        _ = try await rig.rollback(of: sha, after: restarted)
        let polls = host.requests.count
        let later = try await waitUntil(timeout: 30, "three more polls") { () -> [TestTrainingHost.Request]? in
            let all = host.requests
            return all.count >= polls + 3 ? Array(all.dropFirst(polls)) : nil
        }
        #expect(later.allSatisfy { $0.status == 304 && ($0.ifNoneMatch ?? "").contains(sha) }, "\(later)")
        try await rig.decided(by: "rule:sound>10", after: restarted, "the rule after the restart")
        #expect(rig.runtime.store.activeFile == nil)
        #expect(
            !rig.probe.messages(on: rig.occupancy).dropFirst(restarted).contains {
                jsonObject($0)?["decidedBy"] as? String == "model:constant@5"
            })
        try await rig.stop()
    }
}
