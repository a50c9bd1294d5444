import Crypto
import Evaluator
import Foundation
import Logging
import OccupantCore
import Training

/// The quality monitor: the champion judged on newly labelled rows.
extension ModelRegistry {
    /// Scores the champion on rows labelled after its training data; alerts once per version when it falls below its
    /// holdout baseline by the configured margin.
    public func checkQuality(scope: String) async throws {
        guard let v = try await store.alias(scope: scope, alias: "champion"),
            let record = try await store.model(scope: scope, version: v),
            let baseline = try await store.metrics(scope: scope).last(where: {
                $0.version == v && $0.kind == "holdout" && $0.metric == "accuracy"
            })
        else { return }
        let (table, _, _) = try await scopeTable(scope)
        guard let table else { return }
        let rows = table.labels.indices.filter { table.labels[$0] != nil && table.times[$0].seconds > record.dataTo }
        let previous = try await store.metrics(scope: scope).last { $0.version == v && $0.kind == "live" }
        guard rows.count >= config.alerts.minimumRows, rows.count >= (previous?.rows ?? 0) + config.alerts.minimumRows
        else { return }
        let bundle = try ModelBundle.decode(try artifacts.get(sha256: record.sha256))
        let m = try RetrainJob.measure(bundle, table: table, rows: rows, labels: rows.map { table.labels[$0]! })
        let now = clock.now().seconds
        try await store.addMetric(
            MetricRecord(
                scope: scope, version: v, at: now, kind: "live", metric: "accuracy", value: m.accuracy, rows: m.rows))
        guard m.accuracy < baseline.value - config.alerts.margin else { return }
        let alerted = try await store.alerts(scope: scope).contains { $0.message.contains("\(record.modelID)@\(v) ") }
        guard !alerted else { return }
        let message = String(
            format: "%@@%d accuracy %.4f on %d newly labelled rows, below its holdout %.4f by more than %.3f",
            record.modelID, v, m.accuracy, m.rows, baseline.value, config.alerts.margin)
        try await store.addAlert(scope: scope, at: now, message: message)
        logger.warning("\(scope): \(message)")
        await announcer.alert(
            QualityAlert(
                scope: scope, model: record.modelID, version: v, metric: "accuracy", baseline: baseline.value,
                measured: m.accuracy,
                rows: m.rows, at: Instant(seconds: now).iso8601, message: message))
    }
}
