import OccupantCore

extension MonitorDocument {
    /// The window's figures in the Prometheus text exposition format, for node_exporter's textfile collector: one
    /// gauge family per figure, labelled with the gateway (and the channel, feature or probability bin).
    public var prometheusText: String {
        var out = PrometheusWriter(gateway: gateway)
        out.gauge("occupant_monitor_window_samples", "Samples in the last monitor window.", Double(window.samples))
        if let to = window.to.seconds {
            out.gauge(
                "occupant_monitor_window_end_timestamp_seconds", "End of the last monitor window (Unix time).", to)
        }
        if let from = window.from.seconds, let to = window.to.seconds {
            out.gauge("occupant_monitor_window_seconds", "Length of the last monitor window.", to - from)
        }
        let channels = inputs.keys.sorted()
        out.family("occupant_input_missing_ratio", "Share of samples without a valid value, per channel.")
        for c in channels { out.sample(["channel": c], inputs[c]!.missing) }
        out.family("occupant_input_out_of_range_ratio", "Share of samples outside the profile's range, per channel.")
        for c in channels { out.sample(["channel": c], inputs[c]!.outOfRange) }
        out.family("occupant_input_stuck_ratio", "Share of samples with a value unchanged for too long, per channel.")
        for c in channels { out.sample(["channel": c], inputs[c]!.stuck) }
        for (name, help, pick) in [
            ("occupant_input_mean", "Mean value over the window, per numeric channel.", \Input.mean),
            ("occupant_input_min", "Smallest value over the window, per numeric channel.", \Input.min),
            ("occupant_input_max", "Largest value over the window, per numeric channel.", \Input.max),
        ] {
            let present = channels.filter { inputs[$0]![keyPath: pick] != nil }
            guard !present.isEmpty else { continue }
            out.family(name, help)
            for c in present { out.sample(["channel": c], inputs[c]![keyPath: pick]!) }
        }
        if let p = predictions.meanProbability {
            out.gauge("occupant_prediction_mean_probability", "Mean probability of occupancy over the window.", p)
        }
        if let r = predictions.positiveRate {
            out.gauge("occupant_prediction_positive_rate", "Share of decisions that said occupied.", r)
        }
        out.gauge(
            "occupant_prediction_transitions", "Changes of the published state in the window.",
            Double(predictions.transitions))
        out.gauge("occupant_prediction_stale", "Samples without a decision (stale inputs).", Double(predictions.stale))
        out.family("occupant_prediction_histogram", "Probabilities per tenth: bin = lower edge.")
        for (i, count) in predictions.histogram.enumerated() {
            out.sample(["bin": formatNumber(Double(i) / 10)], Double(count))
        }
        if let drift, !drift.isEmpty {
            let names = drift.keys.sorted()
            out.family("occupant_drift_score", "Jensen-Shannon distance of the window from the training histogram.")
            for f in names { out.sample(["feature": f], drift[f]!.score) }
            let calibrated = names.filter { drift[$0]!.threshold != nil }
            if !calibrated.isEmpty {
                out.family("occupant_drift_threshold", "The bundle's calibrated drift threshold.")
                for f in calibrated { out.sample(["feature": f], drift[f]!.threshold!) }
            }
            out.family("occupant_drift_drifted", "1 when the feature's score is above its threshold.")
            for f in names { out.sample(["feature": f], drift[f]!.drifted ? 1 : 0) }
        }
        if let a = expectedAccuracy {
            out.gauge("occupant_expected_accuracy", "Label-free accuracy estimate: mean of max(p, 1 - p).", a)
        }
        if let a = bundleAccuracy {
            out.gauge("occupant_bundle_accuracy", "The running bundle's out-of-fold accuracy.", a)
        }
        if let v = process.cpuSeconds {
            out.gauge("occupant_process_cpu_seconds", "CPU time of the gateway process (user + system).", v)
        }
        if let v = process.rssBytes {
            out.gauge("occupant_process_resident_memory_bytes", "Resident memory of the gateway process.", Double(v))
        }
        if let v = process.uptimeSeconds {
            out.gauge("occupant_process_uptime_seconds", "Time since the gateway process started.", v)
        }
        return out.text
    }
}

/// Builds exposition text: `# HELP`, `# TYPE … gauge`, then samples with escaped label values.
struct PrometheusWriter {
    let gateway: String
    var text = ""
    private var current = ""

    init(gateway: String) { self.gateway = gateway }

    mutating func family(_ name: String, _ help: String) {
        current = name
        text += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
    }

    mutating func gauge(_ name: String, _ help: String, _ value: Double) {
        family(name, help)
        sample([:], value)
    }

    mutating func sample(_ labels: [String: String], _ value: Double) {
        var all = labels
        all["gateway"] = gateway
        let pairs = all.keys.sorted().map { "\($0)=\"\(Self.escape(all[$0]!))\"" }
        text += "\(current){\(pairs.joined(separator: ","))} \(Self.number(value))\n"
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for ch in value {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
