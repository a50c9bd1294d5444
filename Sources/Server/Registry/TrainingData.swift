import OccupantCore
import Training

/// Telemetry joined with labels: the table the trainer and the evaluations read.
public enum TrainingData {
    /// One gateway's rows in time order, each labelled by the most recently received label range that covers it.
    ///
    /// A scope's table comes from one gateway's stream (the one with the most labelled rows): the feature windows run
    /// along one room's time series, and interleaving rooms would mix them.
    public static func table(rows: [TelemetryRow], labels: [LabelRange]) -> LabelledTable {
        let rows = rows.sorted { $0.at < $1.at }
        var channels = Set<String>()
        var categorical = Set<String>()
        for row in rows {
            for (name, value) in row.readings {
                channels.insert(name)
                if case .category? = value { categorical.insert(name) }
            }
        }
        let names = channels.sorted()
        let times = rows.map { Instant(seconds: $0.at) }
        var flags = [UInt8?](repeating: nil, count: rows.count)
        for label in labels {
            var i = lowerBound(rows, label.from)
            while i < rows.count && rows[i].at < label.to {
                flags[i] = label.occupied ? 1 : 0
                i += 1
            }
        }
        let values = rows.map { row in
            names.map { name -> ChannelValue? in
                guard let value = row.readings[name] ?? nil else { return nil }
                // A channel is categorical if any row says so; its numbers become text for that column.
                if categorical.contains(name), case .number(let n) = value { return .category(formatNumber(n)) }
                return value
            }
        }
        return LabelledTable(
            channels: names, categoricalChannels: categorical, times: times, labels: flags, values: values)
    }

    static func lowerBound(_ rows: [TelemetryRow], _ t: Double) -> Int {
        var lo = 0
        var hi = rows.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if rows[mid].at < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The rows before the time that leaves the last `fraction` of labelled rows out, and that time.
    public static func split(_ table: LabelledTable, holdout fraction: Double) -> (
        training: LabelledTable, cut: Instant
    )? {
        let labelled = table.labels.indices.filter { table.labels[$0] != nil }
        guard labelled.count >= 2 else { return nil }
        let cutIndex = labelled[min(labelled.count - 1, Int(Double(labelled.count) * (1 - fraction)))]
        let cut = table.times[cutIndex]
        let n = cutIndex
        let training = LabelledTable(
            channels: table.channels, categoricalChannels: table.categoricalChannels, times: Array(table.times[..<n]),
            labels: Array(table.labels[..<n]), values: Array(table.values[..<n]))
        return (training, cut)
    }
}
