import Features
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
    /// The separate time series the rows come from (one per gateway), each a contiguous, time-ordered run of rows;
    /// empty: the whole table is one stream. Feature windows never cross a stream boundary (`features(schema:)`).
    public var streams: [Stream] = []

    /// One gateway's rows in the table.
    public struct Stream: Sendable, Equatable {
        public var name: String
        public var rows: Range<Int>

        public init(name: String, rows: Range<Int>) {
            self.name = name
            self.rows = rows
        }
    }

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

    /// The row ranges of the streams (the whole table when it has none).
    public var streamRanges: [Range<Int>] { streams.isEmpty ? [0..<count] : streams.map(\.rows) }

    /// The rows as `BatchFeatures` and `FeaturePipeline` want them: time plus each channel's value.
    public var featureRows: [(Instant, [String: ChannelValue?])] { featureRows(0..<count) }

    /// `featureRows` of some rows.
    public func featureRows(_ range: Range<Int>) -> [(Instant, [String: ChannelValue?])] {
        range.map { r in
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

    /// The feature rows of `schema` for every row, through the gateway's pipeline (`BatchFeatures`) run over each
    /// stream on its own: a window never reaches back into another gateway's rows.
    public func features(schema: FeatureSchema) throws(OccupantError) -> [[Double]] {
        var out: [[Double]] = []
        out.reserveCapacity(count)
        for range in streamRanges {
            out += try BatchFeatures.rows(schema: schema, rows: featureRows(range))
        }
        return out
    }

    /// The UTC day of row `r`.
    public func day(_ r: Int) -> Int64 { Int64((times[r].seconds / 86_400).rounded(.down)) }

    /// The rows whose time falls on each UTC day, in order: `[(day number, row range)]` (a run per stream: with
    /// several streams a day has a block in each).
    public var dayBlocks: [(day: Int64, rows: Range<Int>)] {
        var blocks: [(Int64, Range<Int>)] = []
        for range in streamRanges {
            var start = range.lowerBound
            for r in range {
                let day = self.day(r)
                if r == range.upperBound - 1 || self.day(r + 1) != day {
                    blocks.append((day, start..<(r + 1)))
                    start = r + 1
                }
            }
        }
        return blocks
    }

    /// The median gap between consecutive rows of a stream, in seconds (1 when there are fewer than two rows).
    public var medianInterval: Double {
        guard count > 1 else { return 1 }
        var gaps = streamRanges.flatMap { range in
            range.dropFirst().map { times[$0] - times[$0 - 1] }
        }.filter { $0 > 0 }
        guard !gaps.isEmpty else { return 1 }
        gaps.sort()
        return gaps[gaps.count / 2]
    }

    /// The tables one after another, each a stream named by its gateway: channels are the union (sorted), a channel is
    /// categorical when it is in any table. Each table must be time-ordered; streams with no rows are left out.
    public static func concatenating(_ tables: [(name: String, table: LabelledTable)]) -> LabelledTable {
        let channels = Set(tables.flatMap(\.table.channels)).sorted()
        let index = Dictionary(uniqueKeysWithValues: channels.enumerated().map { ($1, $0) })
        var times: [Instant] = []
        var labels: [UInt8?] = []
        var values: [[ChannelValue?]] = []
        var streams: [Stream] = []
        for (name, t) in tables where t.count > 0 {
            let start = times.count
            times += t.times
            labels += t.labels
            let map = t.channels.map { index[$0]! }
            for row in t.values {
                var out = [ChannelValue?](repeating: nil, count: channels.count)
                for (c, v) in row.enumerated() { out[map[c]] = v }
                values.append(out)
            }
            streams.append(Stream(name: name, rows: start..<times.count))
        }
        var table = LabelledTable(
            channels: channels, categoricalChannels: Set(tables.flatMap(\.table.categoricalChannels)), times: times,
            labels: labels, values: values)
        table.streams = streams
        return table
    }
}
