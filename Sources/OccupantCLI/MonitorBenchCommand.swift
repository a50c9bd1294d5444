import ArgumentParser
import Evaluator
import Features
import Foundation
import Gateway
import OccupantCore
import Sensors
import Training

/// `occupant gateway monitor-bench` (for `tools/bench gateway`, not listed in help): what the gateway's monitor costs
/// per sample and how much state it keeps per feature. Prints one JSON line.
struct MonitorBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor-bench",
        abstract: "Time the monitor's per-sample update and report its memory per feature (one JSON line).",
        discussion: """
            Decides --samples samples of the simulated office at 10 Hz with the bundle first (not timed), then times \
            Monitor.record over all of them, --repeats times; the median is reported. A bundle without drift \
            baselines gets them calibrated here on three simulated days (hourly windows), like `occupant train` \
            does. The second figure times samples spaced as the drift thresholds were calibrated, so every one \
            updates the drift histograms too.
            """,
        shouldDisplay: false)

    @Option(help: "The .occmodel file (needs the profile's channels).") var model: String
    @Option(help: "The firmware profile.") var profile = "firmware-profiles/thermostat-mcu.yaml"
    @Option(help: "Samples per repeat.") var samples = 200_000
    @Option(help: "Repeats (the median is reported).") var repeats = 7

    func run() throws {
        try reporting {
            guard samples > 0, repeats > 0 else {
                throw OccupantError(.usage, "--samples and --repeats must be positive")
            }
            let profile = try FirmwareProfile.load(path: self.profile)
            var bundle = try ModelBundle.decode(try ModelBundle.read(path: model))
            if bundle.manifest.featureStatistics?.contains(where: { $0.histogram != nil }) != true {
                bundle = try Self.withBaselines(bundle)
            }
            let spacing = bundle.manifest.drift.map { $0.windowSeconds / Double(max(1, $0.samplesPerWindow)) } ?? 30
            let loop = try Self.decided(bundle, profile: profile, count: samples, spacing: 0.1)
            let drift = try Self.decided(bundle, profile: profile, count: max(1, samples / 10), spacing: spacing)
            let perSample = Self.time(loop, bundle: bundle, profile: profile, repeats: repeats)
            let perDriftSample = Self.time(drift, bundle: bundle, profile: profile, repeats: repeats)
            var probe = Monitor(settings: .init(), profile: profile, start: Instant(seconds: 0))
            probe.use(bundle: bundle, decidedBy: "bench")
            let bins = bundle.manifest.featureStatistics?.compactMap { $0.histogram?.counts.count }.max() ?? 0
            let line: [String: Double] = [
                "samples": Double(samples), "repeats": Double(repeats),
                "features": Double(bundle.manifest.features.features.count),
                "drift_features": Double(bundle.manifest.featureStatistics?.filter { $0.histogram != nil }.count ?? 0),
                "ns_per_sample_median": perSample, "ns_per_drift_sample_median": perDriftSample,
                "bins": Double(bins), "bytes_per_feature": Double(Monitor.bytesPerFeature(bins: bins)),
            ]
            print(
                String(
                    decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self))
        }
    }

    /// Median nanoseconds per `Monitor.record` over `repeats` passes through the decided samples.
    static func time(
        _ decided: [(Sample, Decision)], bundle: ModelBundle, profile: FirmwareProfile, repeats: Int
    ) -> Double {
        var perSample: [Double] = []
        var sink = 0
        for _ in 0...repeats { // one pass more, as a warm-up
            var monitor = Monitor(settings: .init(window: 1e12), profile: profile, start: decided[0].0.at)
            monitor.use(bundle: bundle, decidedBy: "bench")
            let t0 = monotonicSeconds()
            for (sample, decision) in decided { monitor.record(sample, decision) }
            perSample.append((monotonicSeconds() - t0) / Double(decided.count) * 1e9)
            sink &+=
                monitor.close(
                    at: decided[decided.count - 1].0.at + 1, gateway: "bench",
                    process: .init(cpuSeconds: nil, rssBytes: nil, uptimeSeconds: nil)
                ).window.samples
        }
        precondition(sink > 0)
        return perSample.dropFirst().sorted()[repeats / 2]
    }

    /// `count` samples of the simulated office `spacing` seconds apart, with the bundle's decisions.
    static func decided(_ bundle: ModelBundle, profile: FirmwareProfile, count: Int, spacing: Double) throws
        -> [(Sample, Decision)]
    {
        let scorer = try ModelScorer(bundle: bundle)
        var engine = DecisionEngine(scorer: scorer, hysteresis: scorer.hysteresis)
        let scenario = OfficeDayScenario(seed: 3)
        let channels = profile.channels.map(\.name)
        return (0..<count).map { i in
            let at = scenario.start + 8 * 3600 + Double(i) * spacing
            let state = scenario.state(at: at)
            let sample = Sample(at: at, readings: channels.map { Reading(channel: $0, value: state.values[$0]) })
            return (sample, engine.decide(sample))
        }
    }

    /// The bundle with drift baselines calibrated on three simulated days every 10 s, for hourly windows.
    static func withBaselines(_ bundle: ModelBundle) throws -> ModelBundle {
        let scenario = OfficeDayScenario(seed: 2)
        let rows = stride(from: 0.0, to: 3 * 86_400, by: 10).map { second -> (Instant, [String: ChannelValue?]) in
            let at = scenario.start + second
            return (at, scenario.state(at: at).values.mapValues { Optional($0) })
        }
        let schema = bundle.manifest.features
        let vectors = try BatchFeatures.rows(schema: schema, rows: rows)
        let columns = schema.features.indices.map { f in vectors.map { $0[f] } }
        let (baselines, calibration) = DriftBaseline.calibrate(columns, spacing: 10)
        var manifest = bundle.manifest
        manifest.featureStatistics = schema.features.indices.map { f in
            .init(
                name: schema.features[f].name, count: rows.count, missing: baselines[f]?.missing,
                histogram: baselines[f]?.0, driftThreshold: baselines[f]?.threshold)
        }
        manifest.drift = calibration
        return ModelBundle(manifest: manifest, model: bundle.model)
    }
}
