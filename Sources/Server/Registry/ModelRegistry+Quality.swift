import Crypto
import Evaluator
import FleetProtocol
import Foundation
import Logging
import OccupantCore
import Training

/// The quality monitor: the champion judged on newly labelled rows.
extension ModelRegistry {
    /// Scores the champion on rows labelled after its training data; raises one alert when it falls below its holdout
    /// baseline by the configured margin, and clears it once a later judgement finds it no longer does.
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
        guard m.accuracy < baseline.value - config.alerts.margin else {
            try await clear(kind: AlertDocument.Kind.accuracy, subject: scope, at: now)
            return
        }
        let message = String(
            format: "%@@%d accuracy %.4f on %d newly labelled rows, below its holdout %.4f by more than %.3f",
            record.modelID, v, m.accuracy, m.rows, baseline.value, config.alerts.margin)
        try await raise(
            kind: AlertDocument.Kind.accuracy, subject: scope, scope: scope, gateway: nil,
            numbers: [
                "measured": m.accuracy, "baseline": baseline.value, "margin": config.alerts.margin,
                "rows": Double(m.rows), "version": Double(v),
            ],
            message: message, at: now)
    }

    /// A `silent` alert for each configured gateway not heard from (telemetry or status) for longer than
    /// `alerts.silentAfter`; cleared once it is heard from again. A gateway never heard from counts from the server's
    /// start.
    /// An open `silent` alert whose gateway is no longer configured (or with `silentAfter` no longer set) is cleared.
    public func checkSilence() async throws {
        let now = clock.now().seconds
        let watched = config.alerts.silentAfter == nil ? [] : Set(config.gateways.map(\.id))
        for alert in try await store.openAlerts(kind: AlertDocument.Kind.silent)
        where !watched.contains(alert.gateway ?? "") {
            try await clear(kind: AlertDocument.Kind.silent, subject: alert.gateway ?? "", at: now)
        }
        guard let after = config.alerts.silentAfter else { return }
        let seen = try await store.gatewaysLastSeen()
        for g in config.gateways {
            let last = seen[g.id] ?? startedAt
            let silent = now - last
            if silent > after {
                let heard =
                    seen[g.id].map { "last heard from at \(Instant(seconds: $0).iso8601)" } ?? "never heard from"
                try await raise(
                    kind: AlertDocument.Kind.silent, subject: g.id, scope: g.scope, gateway: g.id,
                    numbers: ["silentSeconds": silent, "silentAfterSeconds": after],
                    message: "gateway \(g.id) silent for \(Int(silent)) s (more than \(Int(after)) s): \(heard)",
                    at: now)
            } else if seen[g.id] != nil {
                // Only being heard from clears it: a restart (a new start time) does not.
                try await clear(kind: AlertDocument.Kind.silent, subject: g.id, at: now)
            }
        }
    }

    /// Opens the alert unless one is open for (kind, subject), and says so through the announcer.
    func raise(
        kind: String, subject: String, scope: String, gateway: String?, numbers: [String: Double], message: String,
        at: Double
    ) async throws {
        guard
            let alert = try await store.raiseAlert(
                kind: kind, subject: subject, scope: scope, gateway: gateway, numbers: numbers, message: message, at: at
            )
        else { return }
        logger.warning("alert \(alert.id) raised: \(message)")
        await announcer.alert(alert)
    }

    /// Clears the open alert for (kind, subject), if any, and says so through the announcer.
    func clear(kind: String, subject: String, at: Double) async throws {
        guard let alert = try await store.clearAlert(kind: kind, subject: subject, at: at) else { return }
        logger.notice("alert \(alert.id) cleared: \(alert.message)")
        await announcer.alert(alert)
    }
}
