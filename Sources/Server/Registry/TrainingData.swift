import OccupantCore
import Training

/// Telemetry joined with labels: the table the trainer and the evaluations read.
public enum TrainingData {
    /// One gateway's rows in time order, each labelled by the most recently received label range that covers it.
    public static func table(rows: [TelemetryRow], labels: [LabelRange]) -> LabelledTable {
        joined(rows: rows, labels: labels).table
    }

    /// `table(rows:labels:)`, and how many rows it left out: a channel holds numbers or text, whichever most of its
    /// readings are (numbers on a tie); a row with a reading of the other kind (`{"sound":"loud"}` stored by an older
    /// server, which did not check kinds at intake) is skipped rather than turning the column into text or failing
    /// the job.
    public static func joined(rows: [TelemetryRow], labels: [LabelRange]) -> (table: LabelledTable, skipped: Int) {
        let joined = joined(streams: [(gateway: "", rows: rows, labels: labels)])
        var table = joined.table
        table.streams = []
        return (table, joined.skipped)
    }

    /// Several gateways' streams in one table: each gateway's rows in time order and labelled by its own labels, one
    /// stream per gateway (`LabelledTable.streams`, so feature windows never cross from one room into another), the
    /// kind of each channel decided over all of them. `rows` per stream: the rows it contributed after skipping.
    public static func joined(streams: [(gateway: String, rows: [TelemetryRow], labels: [LabelRange])]) -> (
        table: LabelledTable, skipped: Int, rows: [String: Int]
    ) {
        var numbers: [String: Int] = [:]
        var texts: [String: Int] = [:]
        var channels = Set<String>()
        for stream in streams {
            for row in stream.rows {
                for (name, value) in row.readings {
                    channels.insert(name)
                    switch value {
                    case .number?: numbers[name, default: 0] += 1
                    case .category?: texts[name, default: 0] += 1
                    case nil: break
                    }
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
        let names = channels.sorted()
        var parts: [(name: String, table: LabelledTable)] = []
        var skipped = 0
        var counts: [String: Int] = [:]
        for stream in streams {
            let rows = stream.rows.filter(fits).sorted { $0.at < $1.at }
            skipped += stream.rows.count - rows.count
            counts[stream.gateway, default: 0] += rows.count
            let times = rows.map { Instant(seconds: $0.at) }
            var flags = [UInt8?](repeating: nil, count: rows.count)
            for label in stream.labels {
                var i = lowerBound(rows, label.from)
                while i < rows.count && rows[i].at < label.to {
                    flags[i] = label.occupied ? 1 : 0
                    i += 1
                }
            }
            let values = rows.map { row in names.map { name -> ChannelValue? in row.readings[name] ?? nil } }
            parts.append(
                (
                    stream.gateway,
                    LabelledTable(
                        channels: names, categoricalChannels: categorical, times: times, labels: flags, values: values)
                ))
        }
        var table = LabelledTable.concatenating(parts)
        table.channels = names
        table.categoricalChannels = categorical
        return (table, skipped, counts)
    }

    /// The first index of `rows` (in time order) at or after `t`.
    static func lowerBound(_ rows: [TelemetryRow], _ t: Double) -> Int {
        var lo = 0
        var hi = rows.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if rows[mid].at < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The rows before the time that leaves the last `fraction` of labelled rows out (of every stream), and that
    /// time; with `notBefore`, the cut is no earlier than it.
    public static func split(_ table: LabelledTable, holdout fraction: Double, notBefore: Instant? = nil) -> (
        training: LabelledTable, cut: Instant
    )? {
        let labelled = table.labels.indices.filter { table.labels[$0] != nil }.map { table.times[$0] }.sorted()
        guard labelled.count >= 2 else { return nil }
        var cut = labelled[min(labelled.count - 1, Int(Double(labelled.count) * (1 - fraction)))]
        if let notBefore, notBefore > cut { cut = notBefore }
        var keep: [Int] = []
        var streams: [LabelledTable.Stream] = []
        for (i, range) in table.streamRanges.enumerated() {
            let start = keep.count
            keep += range.filter { table.times[$0] < cut }
            if !table.streams.isEmpty && keep.count > start {
                streams.append(.init(name: table.streams[i].name, rows: start..<keep.count))
            }
        }
        var training = LabelledTable(
            channels: table.channels, categoricalChannels: table.categoricalChannels,
            times: keep.map { table.times[$0] },
            labels: keep.map { table.labels[$0] }, values: keep.map { table.values[$0] })
        training.streams = streams
        return (training, cut)
    }
}
