import Evaluator
import Features
import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Sensors
import ServiceLifecycle
import Testing
import Training

@testable import Gateway

/// The monitor on a simulated gateway at 600× against a real broker: a retained `occupant/<id>/monitor` document
/// every 10 simulated minutes with every figure, no drift while the thermostat behaves like the training days, and
/// drift on the sound features within three windows of a sound sensor's calibration shifting by +80 (beyond any level
/// seen in training: a shift that stays inside the training range, e.g. +20 dB at night, looks like a busy hour to a
/// whole-day baseline and is not flagged at one false alarm per 720 windows).
@Suite(.serialized) struct MonitorTests {
    static let schemaYAML = """
        features:
          - { name: sound_mean_60s, transform: mean, channel: sound, window: 60 }
          - { name: sound_max_10s, transform: max, channel: sound, window: 10 }
          - { name: temperature_slope_600s, transform: slope, channel: temperature, window: 600 }
          - { name: hvac_heating, transform: oneHot, channel: hvac, category: heating }
          - { name: tod_sin, transform: timeOfDaySin }
        profiles: []
        """

    /// The bench fixture model with a drift baseline calibrated, like the trainer does, on three other simulated days
    /// (seed 2) sampled every 3 s — what the gateway samples at 600× — for 10-minute windows.
    static func bundleWithBaseline() throws -> ModelBundle {
        let fixtures = packageRootPath("Tests/Fixtures/models")
        let imported = try XGBoostImporter.load(path: "\(fixtures)/bench-d6-100.model.json")
        let schema = try FeatureSchema.parse(yaml: schemaYAML)
        let scenario = OfficeDayScenario(seed: 2)
        let rows = stride(from: 0.0, to: 3 * 86_400, by: 3).map { second -> (Instant, [String: ChannelValue?]) in
            let at = scenario.start + second
            return (at, scenario.state(at: at).values.mapValues { Optional($0) })
        }
        let vectors = try BatchFeatures.rows(schema: schema, rows: rows)
        let columns = schema.features.indices.map { f in vectors.map { $0[f] } }
        let (baselines, calibration) = DriftBaseline.calibrate(columns, spacing: 3, windowSeconds: 600)
        var manifest = BundleManifest(
            modelID: "monitored", version: 1, created: Instant(seconds: 0), features: schema, policy: .init(),
            provenance: .init(metrics: .init(accuracy: 0.93)),
            featureStatistics: schema.features.indices.map { f in
                .init(
                    name: schema.features[f].name, count: rows.count, missing: baselines[f]?.missing,
                    histogram: baselines[f]?.0, driftThreshold: baselines[f]?.threshold)
            },
            golden: GoldenVectors.make(model: imported.model, rows: Array(vectors.prefix(32))))
        manifest.drift = calibration
        return ModelBundle(manifest: manifest, model: imported.model)
    }

    @Test func publishesWindowsAndFlagsAShiftedSensorWithinThreeWindows() async throws {
        let bundle = try Self.bundleWithBaseline()
        #expect(bundle.manifest.drift?.samplesPerWindow == 200)
        let broker = try await MosquittoBroker()
        let dir = try temporaryDirectory("monitor")
        let textfile = dir.appendingPathComponent("occupant.prom").path
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/mon/monitor"])
        var config = try GatewayConfig.parse(
            yaml: """
                gatewayId: mon
                simulate: { scenario: day, speed: 600 }
                monitor: { window: 10m, textfile: \(textfile) }
                telemetry: { enabled: false }
                """)
        config.broker.port = broker.port
        config.stateDirectory = dir.appendingPathComponent("state").path
        config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let runtime = try GatewayRuntime(config: config, logger: logger)
        let scorer = try ModelScorer(bundle: bundle)
        runtime.loop.replaceScorer(scorer, hysteresis: scorer.hysteresis, note: nil)
        let group = ServiceGroup(services: runtime.services, logger: logger)
        let running = Task { try await group.run() }
        defer { running.cancel() }

        // Five unshifted windows decided by the model (the first may have begun under the rule).
        func documents(after index: Int) -> [MonitorDocument] {
            probe.messages(on: "occupant/mon/monitor").dropFirst(index).compactMap {
                try? FleetJSON.decode(MonitorDocument.self, from: $0.payload)
            }
        }
        let unshifted = try await waitUntil(timeout: 60, "five model windows") { () -> [MonitorDocument]? in
            let modelled = documents(after: 0).filter { $0.drift != nil }
            return modelled.count >= 5 ? modelled : nil
        }
        for d in unshifted {
            #expect(d.gateway == "mon" && d.decidedBy == "model:monitored@1")
            let from = try #require(d.window.from.seconds)
            let to = try #require(d.window.to.seconds)
            // A window closes at the first cycle at or after 10 minutes (a slow machine makes cycles longer).
            #expect(to - from >= 600 && d.window.samples > 0)
            #expect(Set(d.inputs.keys) == ["sound", "temperature", "hvac"])
            let sound = try #require(d.inputs["sound"])
            // At 600× a cycle held up on a loaded machine can find a reading too old (missing); a few, not a share.
            #expect(sound.missing < 0.05 && sound.outOfRange == 0, "missing \(sound.missing)")
            #expect(sound.mean != nil && sound.min! <= sound.max!)
            #expect(d.inputs["hvac"]?.mean == nil)
            #expect(d.predictions.histogram.count == 10 && d.predictions.histogram.reduce(0, +) == d.window.samples)
            #expect(d.predictions.meanProbability != nil && d.predictions.positiveRate != nil)
            let expected = try #require(d.expectedAccuracy)
            #expect(expected >= 0.5 && expected <= 1)
            #expect(d.bundleAccuracy == 0.93)
            #expect((d.process.cpuSeconds ?? 0) > 0 && (d.process.rssBytes ?? 0) > 0)
            #expect(d.process.uptimeSeconds != nil)
            let drift = try #require(d.drift)
            #expect(drift.count == 5 && drift.values.allSatisfy { $0.threshold != nil })
            let drifted = drift.filter(\.value.drifted)
            #expect(drifted.isEmpty, "unshifted window \(d.window.from.instant!.iso8601) drifted: \(drifted)")
        }
        // Retained: a subscriber that comes later gets the last window at once.
        let late = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/mon/monitor"])
        let retained = try await late.waitFor("occupant/mon/monitor", timeout: 10, "retained") { $0.retain }
        #expect(try FleetJSON.decode(MonitorDocument.self, from: retained.payload).gateway == "mon")
        let prom = try String(contentsOfFile: textfile, encoding: .utf8)
        #expect(prom.contains("# TYPE occupant_drift_score gauge"))
        #expect(prom.contains(#"occupant_drift_score{feature="sound_mean_60s",gateway="mon"}"#))
        #expect(prom.contains("occupant_input_missing_ratio{channel=\"sound\",gateway=\"mon\"} 0\n"))
        #expect(prom.contains("occupant_process_resident_memory_bytes{gateway=\"mon\"}"))

        // The sound sensor's calibration drifts by +80: within three windows the sound features are flagged.
        let index = probe.messages(on: "occupant/mon/monitor").count
        try #require(runtime.simulatedBus).inject(.offset(channel: "sound", by: 80))
        let shifted = try await waitUntil(timeout: 60, "three windows after the shift") { () -> [MonitorDocument]? in
            let after = documents(after: index)
            return after.count >= 3 ? Array(after.prefix(3)) : nil
        }
        let flagged = shifted.first { $0.drift?["sound_mean_60s"]?.drifted == true }
        #expect(flagged != nil, "no window flagged sound_mean_60s: \(shifted.map { $0.drift?["sound_mean_60s"] })")
        #expect(shifted.last?.drift?["tod_sin"]?.drifted == false)

        // The temperature sensor sticks: a window later its input shows stuck (the reader's own check or the
        // monitor's 10-minute run of one value).
        let beforeStuck = probe.messages(on: "occupant/mon/monitor").count
        try #require(runtime.simulatedBus).inject(.stuck(channel: "temperature"))
        let stuck = try await waitUntil(timeout: 60, "a window with temperature stuck") { () -> MonitorDocument? in
            documents(after: beforeStuck).dropFirst().first
        }
        #expect((stuck.inputs["temperature"]?.stuck ?? 0) > 0.5, "\(String(describing: stuck.inputs["temperature"]))")
        #expect(stuck.inputs["sound"]?.stuck == 0)

        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// Input quality shares, transitions and the probability histogram from hand-made samples: sound missing in 10
    /// of 100 samples (4 of them out of range), temperature stuck from the start (stuckAfter 30 s: samples 30…99).
    @Test func countsInputQualityAndTransitions() throws {
        let profile = try FirmwareProfile.load(path: packageRootPath("firmware-profiles/thermostat-mcu.yaml"))
        let start = Instant(seconds: 1_767_600_000)
        var monitor = Monitor(settings: .init(window: 100, stuckAfter: 30), profile: profile, start: start)
        monitor.use(bundle: nil, decidedBy: "rule:sound>10")
        for i in 0..<100 {
            let at = start + Double(i)
            var sound = Reading(channel: "sound", value: .number(Double(i % 20)))
            if i % 10 == 0 {
                let reason = i < 40 ? "sound 130 dB above maximum 120" : "sensor at 0x30 on simulated: no acknowledge"
                sound = Reading(channel: "sound", value: nil, unavailable: reason)
            }
            let sample = Sample(
                at: at,
                readings: [
                    Reading(channel: "temperature", value: .number(21)), sound,
                    Reading(channel: "hvac", value: .category("heating")),
                ])
            let occupied = (i / 25) % 2 == 1
            let decision = Decision(
                roomOccupancy: occupied, probability: occupied ? 0.95 : 0.02, decidedBy: "rule:sound>10",
                inputs: .none, health: [:], stale: nil, at: at)
            monitor.record(sample, decision)
        }
        let d = monitor.close(
            at: start + 100, gateway: "g", process: .init(cpuSeconds: nil, rssBytes: nil, uptimeSeconds: nil))
        #expect(d.window.samples == 100)
        #expect(d.inputs["sound"] == .init(missing: 0.1, outOfRange: 0.04, stuck: 0, mean: 10, min: 1, max: 19))
        #expect(d.inputs["temperature"]?.stuck == 0.7 && d.inputs["temperature"]?.missing == 0)
        #expect(d.inputs["hvac"] == .init(missing: 0, outOfRange: 0, stuck: 0, mean: nil, min: nil, max: nil))
        #expect(d.predictions.transitions == 3 && d.predictions.positiveRate == 0.5)
        #expect(d.predictions.histogram == [50, 0, 0, 0, 0, 0, 0, 0, 0, 50])
        // A rule's 0/1 "probabilities" say nothing about accuracy, and there is no bundle to compare with.
        #expect(d.expectedAccuracy == nil && d.bundleAccuracy == nil && d.drift == nil)
        // The next window starts empty.
        #expect(monitor.samples == 0 && monitor.from == start + 100)
    }

    /// A window shorter than half the calibrated one (a model switched in mid-window, a slow machine) reports its
    /// scores but flags nothing: the thresholds hold for full windows only.
    @Test func aShortWindowReportsButDoesNotFlag() throws {
        let bundle = try Self.bundleWithBaseline()
        let profile = try FirmwareProfile.load(path: packageRootPath("firmware-profiles/thermostat-mcu.yaml"))
        let names = bundle.manifest.features.names
        let start = Instant(seconds: 1_767_600_000)
        func window(samples: Int) -> MonitorDocument {
            var monitor = Monitor(settings: .init(window: 600), profile: profile, start: start)
            monitor.use(bundle: bundle, decidedBy: "model:monitored@1")
            for i in 0..<samples {
                let at = start + 3 * Double(i)
                // Every feature far outside anything seen in training.
                let inputs = ScoreInputs.features(names: names, values: [Double](repeating: 1e6, count: names.count))
                monitor.record(
                    Sample(at: at, readings: []),
                    Decision(
                        roomOccupancy: false, probability: 0.1, decidedBy: "model:monitored@1", inputs: inputs,
                        health: [:], stale: nil, at: at))
            }
            return monitor.close(
                at: start + 600, gateway: "g", process: .init(cpuSeconds: nil, rssBytes: nil, uptimeSeconds: nil))
        }
        let short = try #require(window(samples: 99).drift)
        #expect(short.values.allSatisfy { $0.score > 0.99 && !$0.drifted }, "\(short)")
        let full = try #require(window(samples: 100).drift)
        #expect(full.values.allSatisfy { $0.score > 0.99 && $0.drifted })
        #expect(window(samples: 100).inputs["sound"]?.missing == 1)
    }

    /// The textfile escapes label values and writes one HELP/TYPE pair per family.
    @Test func prometheusTextEscapesLabels() {
        let document = MonitorDocument(
            gateway: #"lab "1"\x"#, window: .init(from: TimeValue(seconds: 0), to: TimeValue(seconds: 60), samples: 60),
            inputs: ["sound": .init(missing: 0.5, outOfRange: 0, stuck: 0, mean: 2.5, min: 1, max: 4)],
            predictions: .init(
                meanProbability: nil, positiveRate: nil, transitions: 0,
                histogram: [60] + [Int](repeating: 0, count: 9), stale: 0),
            drift: nil, expectedAccuracy: nil, bundleAccuracy: nil, decidedBy: nil,
            process: .init(cpuSeconds: 1.25, rssBytes: 4096, uptimeSeconds: nil))
        let text = document.prometheusText
        #expect(text.contains(#"occupant_input_missing_ratio{channel="sound",gateway="lab \"1\"\\x"} 0.5"#))
        #expect(text.contains(#"occupant_prediction_histogram{bin="0",gateway="lab \"1\"\\x"} 60"#))
        #expect(text.components(separatedBy: "# TYPE occupant_input_missing_ratio gauge").count == 2)
        #expect(!text.contains("occupant_drift_") && !text.contains("occupant_prediction_mean_probability"))
    }

    /// The monitor's memory per feature is small and fixed: a 10-bin baseline and window under 1 KB.
    @Test func memoryPerFeatureIsBounded() {
        #expect(Monitor.bytesPerFeature(bins: 10) < 1024)
    }
}
