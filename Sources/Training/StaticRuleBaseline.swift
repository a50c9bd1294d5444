import Foundation

/// The best static threshold on the strongest single channel — the rule a model must beat — chosen on training
/// data only, e.g. `Light >= 365.125`.
public struct StaticRuleBaseline: Codable, Sendable, Equatable, CustomStringConvertible {
    public var channel: String
    /// true: occupied when value ≥ threshold; false: occupied when value < threshold.
    public var above: Bool
    public var threshold: Double

    public init(channel: String, above: Bool, threshold: Double) {
        self.channel = channel
        self.above = above
        self.threshold = threshold
    }

    /// `Light >= 365.125` or `CO2 < 500`.
    public var description: String { "\(channel) \(above ? ">=" : "<") \(threshold)" }

    /// Parses `description`.
    public init?(rule: String) {
        let parts = rule.split(separator: " ")
        guard parts.count == 3, let t = Double(parts[2]), parts[1] == ">=" || parts[1] == "<" else { return nil }
        self.init(channel: String(parts[0]), above: parts[1] == ">=", threshold: t)
    }

    /// The rule's decision for a value (a missing value decides vacant).
    public func decide(_ value: Double) -> Bool {
        guard !value.isNaN else { return false }
        return above ? value >= threshold : value < threshold
    }

    /// The rule's score for a value, for ranking (AUC): the value itself, negated for a `<` rule; a missing value
    /// ranks lowest. The one place this formula lives: training, the baseline report and the server's holdout use it.
    public func score(_ value: Double) -> Double {
        value.isNaN ? -.infinity : (above ? value : -value)
    }

    /// Chooses the channel, direction and threshold with the highest accuracy on the labelled rows of `table`.
    public static func fit(_ table: LabelledTable, rows: [Int]) -> StaticRuleBaseline? {
        var best: (correct: Int, rule: StaticRuleBaseline)? = nil
        for channel in table.numericChannels {
            guard let column = table.numbers(of: channel) else { continue }
            var pairs: [(Double, UInt8)] = []
            for r in rows { if let y = table.labels[r], !column[r].isNaN { pairs.append((column[r], y)) } }
            guard !pairs.isEmpty else { continue }
            pairs.sort { $0.0 < $1.0 }
            let positives = pairs.reduce(0) { $0 + Int($1.1) }
            let missingRows = rows.count - pairs.count // decided vacant either way; correct if labelled 0
            let missingNegatives = rows.reduce(0) { n, r in
                n + (column[r].isNaN && table.labels[r] == 0 ? 1 : 0)
            }
            _ = missingRows
            // Walk thresholds from below the smallest value upward. `belowPositives` = positives under the cut.
            var belowPositives = 0
            var belowCount = 0
            var i = 0
            func consider(_ threshold: Double) {
                let abovePositives = positives - belowPositives
                let aboveNegatives = (pairs.count - belowCount) - abovePositives
                let belowNegatives = belowCount - belowPositives
                // "≥ t" correct: positives above + negatives below; "< t": positives below + negatives above.
                let upCorrect = abovePositives + belowNegatives + missingNegatives
                let downCorrect = belowPositives + aboveNegatives + missingNegatives
                for (correct, above) in [(upCorrect, true), (downCorrect, false)] where correct > (best?.correct ?? -1)
                {
                    best = (correct, StaticRuleBaseline(channel: channel, above: above, threshold: threshold))
                }
            }
            consider(pairs[0].0)
            while i < pairs.count {
                var j = i
                while j + 1 < pairs.count && pairs[j + 1].0 == pairs[i].0 { j += 1 }
                for k in i...j { belowPositives += Int(pairs[k].1) }
                belowCount = j + 1
                if j + 1 < pairs.count { consider((pairs[i].0 + pairs[j + 1].0) / 2) }
                i = j + 1
            }
        }
        return best?.rule
    }

    /// The rule's metrics on the labelled rows of `table` (the AUC ranks by the channel's value).
    public func metrics(on table: LabelledTable, rows: [Int]) -> BinaryMetrics? {
        guard let column = table.numbers(of: channel) else { return nil }
        let labelled = rows.filter { table.labels[$0] != nil }
        return BinaryMetrics(
            decisions: labelled.map { decide(column[$0]) },
            scores: labelled.map { score(column[$0]) },
            labels: labelled.map { table.labels[$0]! })
    }
}
