import OccupantCore
import Training

/// Telemetry joined with labels: the table the trainer and the evaluations read.
public enum TrainingData {
    /// One gateway's rows in time order, each labelled by the most recently received label range that covers it.
    ///
    /// A scope's table comes from one gateway's stream (the one with the most labelled rows): the feature windows run
    /// along one room's time series, and interleaving rooms would mix them.
    public static func table(rows: [TelemetryRow], labels: [LabelRange]) -> LabelledTable {
        joined(rows: rows, labels: labels).table
    }

    /// `table(rows:labels:)`, and how many rows it left out: a channel holds numbers or text, whichever most of its
    /// readings are (numbers on a tie); a row with a reading of the other kind (`{"sound":"loud"}` stored by an older
    /// server, which did not check kinds at intake) is skipped rather than turning the column into text or failing
    /// the job.
    public static func joined(rows: [TelemetryRow], labels: [LabelRange]) -> (table: LabelledTable, skipped: Int) {
        var channels = Set<String>()
        var numbers: [String: Int] = [:]
        var texts: [String: Int] = [:]
        for row in rows {
            for (name, value) in row.readings {
                channels.insert(name)
                switch value {
                case .number?: numbers[name, default: 0] += 1
                case .category?: texts[name, default: 0] += 1
                case nil: break
                }
            }
        }
        let categorical = Set(texts.keys.filter { texts[$0]! > numbers[$0, default: 0] })
        let fits: (TelemetryRow) -> Bool = { row in
            row.readings.allSatisfy { name, value in
                switch value {
                case .number?: !categorical.contains(name)
                case .category?: categorical.contains(name)
                case nil: true
                }
            }
        }
        let all = rows.count
        let rows = rows.filter(fits).sorted { $0.at < $1.at }
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
        let values = rows.map { row in names.map { name -> ChannelValue? in row.readings[name] ?? nil } }
        let table = LabelledTable(
            channels: names, categoricalChannels: categorical, times: times, labels: flags, values: values)
        return (table, all - rows.count)
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
