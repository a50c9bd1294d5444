import Foundation
import OccupantCore

/// A time-ordered table of channel values with an occupancy label per row, read from CSV or NDJSON.
///
/// Rows without a label still carry sensor values (they feed the feature windows) but are not trained or scored on.
public struct LabelledTable: Sendable {
    /// The channel columns, in file order.
    public var channels: [String]
    /// Channels whose values are text (categorical); the others are numeric.
    public var categoricalChannels: Set<String>
    public var times: [Instant]
    /// 1 = occupied, 0 = vacant, nil = unlabelled.
    public var labels: [UInt8?]
    /// `values[row][channel index]`.
    public var values: [[ChannelValue?]]

    public init(
        channels: [String], categoricalChannels: Set<String> = [], times: [Instant], labels: [UInt8?],
        values: [[ChannelValue?]]
    ) {
        precondition(times.count == labels.count && times.count == values.count, "columns differ in length")
        self.channels = channels
        self.categoricalChannels = categoricalChannels
        self.times = times
        self.labels = labels
        self.values = values
    }

    public var count: Int { times.count }
    public var labelledCount: Int { labels.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }
    public var numericChannels: [String] { channels.filter { !categoricalChannels.contains($0) } }

    /// The rows as `BatchFeatures` and `FeaturePipeline` want them: time plus each channel's value.
    public var featureRows: [(Instant, [String: ChannelValue?])] {
        (0..<count).map { r in
            var dict: [String: ChannelValue?] = [:]
            for (c, name) in channels.enumerated() { dict[name] = values[r][c] }
            return (times[r], dict)
        }
    }

    /// The rows as gateway samples (one reading per channel with a value).
    public var samples: [Sample] {
        (0..<count).map { r in
            Sample(
                at: times[r],
                readings: channels.enumerated().map { c, name in
                    Reading(channel: name, value: values[r][c])
                })
        }
    }

    /// The numeric values of one channel (NaN where missing or not a number).
    public func numbers(of channel: String) -> [Double]? {
        guard let c = channels.firstIndex(of: channel) else { return nil }
        return values.map { $0[c]?.number ?? .nan }
    }

    /// The rows whose time falls on each UTC day, in order: `[(day number, row range)]`.
    public var dayBlocks: [(day: Int64, rows: Range<Int>)] {
        var blocks: [(Int64, Range<Int>)] = []
        var start = 0
        for r in 0..<count {
            let day = Int64((times[r].seconds / 86_400).rounded(.down))
            if r == count - 1 || Int64((times[r + 1].seconds / 86_400).rounded(.down)) != day {
                blocks.append((day, start..<(r + 1)))
                start = r + 1
            }
        }
        return blocks
    }

    /// The median gap between consecutive rows, in seconds (1 when there are fewer than two rows).
    public var medianInterval: Double {
        guard count > 1 else { return 1 }
        var gaps = (1..<count).map { times[$0] - times[$0 - 1] }.filter { $0 > 0 }
        guard !gaps.isEmpty else { return 1 }
        gaps.sort()
        return gaps[gaps.count / 2]
    }
}
