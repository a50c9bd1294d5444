import OccupantCore

/// Time-ordered, day-blocked folds: whole UTC days, in contiguous blocks of about equal labelled rows. Fold `k`
/// validates on block `k` and trains on the other days (rows seconds apart never straddle a fold boundary within a
/// day). With several streams (gateways), a day's rows from all of them fall in the same fold.
public struct CrossValidation: Sendable {
    public struct Fold: Sendable {
        /// Labelled training rows, in time order.
        public var train: [Int]
        /// Labelled validation rows, in time order.
        public var validation: [Int]
        /// First and last validation time, for reports.
        public var from: Instant
        public var to: Instant
    }

    public var folds: [Fold]

    /// Up to `count` folds (never more than there are days with labelled rows); throws with fewer than two days.
    public init(table: LabelledTable, count: Int) throws(OccupantError) {
        // A day's labelled rows from every stream together: one gateway's Monday never validates a model that
        // trained on another's Monday.
        var byDay: [Int64: [Int]] = [:]
        for block in table.dayBlocks {
            let rows = block.rows.filter { table.labels[$0] != nil }
            if !rows.isEmpty { byDay[block.day, default: []] += rows }
        }
        let days = byDay.keys.sorted().map { byDay[$0]! }
        guard days.count >= 2 else {
            throw OccupantError(
                .data, "the labelled rows span \(days.count) day; day-blocked validation needs at least 2 days")
        }
        let k = max(2, min(count, days.count))
        let total = days.reduce(0) { $0 + $1.count }
        var blocks: [[Int]] = [[]]
        var seen = 0
        for (i, day) in days.enumerated() {
            // Start a new block once this one holds its share, or when each remaining block needs a remaining day.
            let remainingDays = days.count - i
            if !blocks[blocks.count - 1].isEmpty, blocks.count < k,
                remainingDays <= k - blocks.count
                    || Double(seen) >= Double(total) * Double(blocks.count) / Double(k)
            {
                blocks.append([])
            }
            blocks[blocks.count - 1].append(contentsOf: day)
            seen += day.count
        }
        folds = blocks.indices.map { b in
            let train = blocks.indices.filter { $0 != b }.flatMap { blocks[$0] }.sorted()
            let validation = blocks[b].sorted()
            let times = validation.map { table.times[$0] }
            return Fold(train: train, validation: validation, from: times.min()!, to: times.max()!)
        }
    }

    /// Splits time-ordered `rows` into a fit part and the latest `share` as an early-stopping slice.
    public static func earlyStoppingSplit(_ rows: [Int], share: Double = 0.15) -> (fit: [Int], stop: [Int]) {
        let cut = rows.count - max(1, Int(Double(rows.count) * share))
        return (Array(rows[..<cut]), Array(rows[cut...]))
    }
}
