import Foundation
import Training

/// The challenger replaces the champion only if it beats it by `margin` on `metric` and beats the static rule.
public struct PromotionRule: Sendable {
    public var metric: ServerConfig.Promotion.Metric
    public var margin: Double

    public init(metric: ServerConfig.Promotion.Metric, margin: Double) {
        self.metric = metric
        self.margin = margin
    }

    public func decide(
        challenger: BinaryMetrics, champion: (version: Int, metrics: BinaryMetrics)?, rule: (String, BinaryMetrics)?
    ) -> (promote: Bool, reason: String) {
        let name = metric.rawValue
        let c = metric.value(challenger)
        var parts = [String(format: "challenger %@ %.4f on %d held-out rows", name, c, challenger.rows)]
        var promote = true
        if let (text, r) = rule {
            let rv = metric.value(r)
            parts.append(String(format: "rule (%@) %.4f", text, rv))
            if !(c > rv) {
                promote = false
                parts.append("does not beat the rule")
            }
        }
        if let champion {
            let p = metric.value(champion.metrics)
            parts.append(String(format: "champion v%d %.4f, margin %.4f", champion.version, p, margin))
            if !(c >= p + margin) {
                promote = false
                parts.append("does not beat the champion by the margin")
            }
        } else {
            parts.append("no champion yet")
        }
        return (promote, parts.joined(separator: "; "))
    }
}

extension ServerConfig.Promotion.Metric {
    func value(_ m: BinaryMetrics) -> Double {
        switch self {
        case .accuracy: m.accuracy
        case .f1: m.f1
        case .auc: m.auc.isNaN ? 0.5 : m.auc
        }
    }
}
