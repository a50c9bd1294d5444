import FleetProtocol
import Prometheus

/// The per-gateway monitor gauges of `GET /metrics`: each gateway's newest monitor window, labelled `gateway` (and
/// `channel` for input shares).
///
/// Bounded: at most `metrics.monitorGateways` gateways (those whose newest windows are newest), only windows that
/// ended within `metrics.monitorMaxAge`, and at most `intake.maxChannels` channels each; only configured gateways'
/// windows are stored at all. A gateway that falls out of the bound loses its series at the next scrape.
extension Routes {
    func monitorFigures() async throws {
        let m = registry.metrics
        let limit = config.metrics.monitorGateways
        let since = clock.now().seconds - config.metrics.monitorMaxAge
        let latest =
            limit == 0
            ? [] : try await store.latestMonitorWindows(gateways: config.gateways.map(\.id), endingAfter: since)
        var set: [Gauge] = []
        func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double?) {
            guard let value, value.isFinite else { return }
            let g = m.registry.makeGauge(descriptor: ServerMetrics.name(name, help), labels: labels)
            g.set(value)
            set.append(g)
        }
        for (w, realised) in latest.prefix(limit) {
            let gw = [("gateway", w.gateway)]
            gauge(
                "occupant_monitor_window_end_timestamp_seconds", "End of the gateway's newest monitor window (Unix s).",
                gw, w.window.to.seconds)
            gauge(
                "occupant_monitor_window_samples", "Samples in the newest monitor window.", gw, Double(w.window.samples)
            )
            gauge(
                "occupant_monitor_expected_accuracy",
                "Label-free accuracy estimate of the newest window: mean of max(p, 1 - p) over its probabilities.", gw,
                w.expectedAccuracy)
            gauge(
                "occupant_monitor_bundle_accuracy", "The running bundle's own out-of-fold accuracy.", gw,
                w.bundleAccuracy)
            gauge(
                "occupant_monitor_realised_accuracy",
                "Accuracy against labels of the gateway's newest window the server could measure (labels arrive later).",
                gw, realised?.accuracy)
            gauge(
                "occupant_monitor_positive_rate", "Share of the newest window's decisions that said occupied.", gw,
                w.predictions.positiveRate)
            gauge(
                "occupant_monitor_mean_probability", "Mean probability over the newest window.", gw,
                w.predictions.meanProbability)
            gauge(
                "occupant_monitor_drifted_features", "Features flagged as drifted in the newest window.", gw,
                w.drift.map { Double($0.values.filter(\.drifted).count) })
            for (channel, input) in w.inputs.sorted(by: { $0.key < $1.key }) {
                let labels = [("channel", channel), ("gateway", w.gateway)]
                gauge(
                    "occupant_monitor_input_missing_ratio", "Share of the newest window's samples without a value.",
                    labels, input.missing)
                gauge(
                    "occupant_monitor_input_stuck_ratio", "Share of the newest window's samples with a stuck value.",
                    labels, input.stuck)
            }
            gauge(
                "occupant_monitor_process_resident_memory_bytes", "The gateway process's resident memory.", gw,
                w.process.rssBytes.map(Double.init))
            gauge(
                "occupant_monitor_process_cpu_seconds", "The gateway process's CPU time (user + system) since start.",
                gw, w.process.cpuSeconds)
        }
        let kept = Set(set.map(ObjectIdentifier.init))
        let stale = m.monitorSeries.withLock { previous in
            defer { previous = set }
            return previous.filter { !kept.contains(ObjectIdentifier($0)) }
        }
        for g in stale { m.registry.unregisterGauge(g) }
    }
}
