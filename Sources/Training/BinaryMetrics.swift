import Evaluator

/// Classification quality of probabilities against 0/1 labels at a threshold (occupied when p ≥ threshold).
public struct BinaryMetrics: Codable, Sendable, Equatable {
    public var rows: Int
    public var accuracy: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    /// Area under the ROC curve (ties count one half); NaN with a single class.
    public var auc: Double
    public var truePositive: Int
    public var falsePositive: Int
    public var trueNegative: Int
    public var falseNegative: Int

    /// Scores `decisions` (already thresholded) and `scores` (for the AUC) against `labels`.
    public init(decisions: [Bool], scores: [Double], labels: [UInt8]) {
        precondition(decisions.count == labels.count && scores.count == labels.count, "one decision per label")
        var tp = 0
        var fp = 0
        var tn = 0
        var fn = 0
        for (d, y) in zip(decisions, labels) {
            switch (d, y == 1) {
            case (true, true): tp += 1
            case (true, false): fp += 1
            case (false, false): tn += 1
            case (false, true): fn += 1
            }
        }
        rows = labels.count
        truePositive = tp
        falsePositive = fp
        trueNegative = tn
        falseNegative = fn
        accuracy = rows == 0 ? .nan : Double(tp + tn) / Double(rows)
        precision = tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp)
        recall = tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
        f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        auc = BinaryMetrics.auc(scores: scores, labels: labels)
    }

    /// Thresholds `probabilities` (a NaN probability decides vacant).
    public init(probabilities: [Double], labels: [UInt8], threshold: Double) {
        self.init(
            decisions: probabilities.map { $0 >= threshold }, scores: probabilities.map { $0.isNaN ? 0 : $0 },
            labels: labels)
    }

    /// The ROC AUC by ranks (Mann–Whitney), ties averaged.
    public static func auc(scores: [Double], labels: [UInt8]) -> Double {
        let positives = labels.reduce(0) { $0 + Int($1) }
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return .nan }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j where labels[order[k]] == 1 { rankSum += rank }
            i = j + 1
        }
        return (rankSum - Double(positives) * Double(positives + 1) / 2) / (Double(positives) * Double(negatives))
    }

    /// The threshold in (0, 1) that maximises accuracy on `probabilities` (midway between neighbouring scores;
    /// ties go to the threshold nearest 0.5).
    public static func bestThreshold(probabilities: [Double], labels: [UInt8]) -> Double {
        let pairs = zip(probabilities, labels).filter { !$0.0.isNaN }.sorted { $0.0 < $1.0 }
        guard !pairs.isEmpty else { return 0.5 }
        // Threshold below everything: all occupied.
        var correct = pairs.reduce(0) { $0 + Int($1.1) }
        var best = (correct: correct, threshold: 0.5 * pairs[0].0, distance: abs(0.5 * pairs[0].0 - 0.5))
        var i = 0
        while i < pairs.count {
            var j = i
            while j + 1 < pairs.count && pairs[j + 1].0 == pairs[i].0 { j += 1 }
            for k in i...j { correct += pairs[k].1 == 1 ? -1 : 1 }
            let upper = j + 1 < pairs.count ? pairs[j + 1].0 : 1
            let threshold = (pairs[i].0 + upper) / 2
            let distance = abs(threshold - 0.5)
            if correct > best.correct || (correct == best.correct && distance < best.distance) {
                best = (correct, threshold, distance)
            }
            i = j + 1
        }
        return min(max(best.threshold, 1e-9), 1 - 1e-9)
    }

    /// As the manifest stores it.
    public var manifestMetrics: BundleManifest.Metrics {
        BundleManifest.Metrics(
            accuracy: accuracy, precision: precision, recall: recall, f1: f1, auc: auc.isNaN ? nil : auc,
            confusion: BundleManifest.ConfusionMatrix(
                truePositive: truePositive, falsePositive: falsePositive, trueNegative: trueNegative,
                falseNegative: falseNegative))
    }
}
