import FleetProtocol
import Foundation
import Logging
import OccupantCore

/// Alerts from gateways' monitor windows: `drift`, `input` and `estimatedAccuracy`, each raised once and cleared once.
extension ModelRegistry {
    /// Judges `gateway`'s newest stored monitor windows (call after storing one):
    /// - `drift` per feature (subject `<gateway>/<feature>`): raised when the feature drifted in each of the last
    ///   `alerts.driftWindows` windows; cleared by the newest window in which it did not drift (or no longer appears);
    /// - `input` per channel (subject `<gateway>/<channel>`): raised when the newest window has a share of missing or
    ///   stuck samples above `alerts.inputShare`; cleared by a window at or below it (or without the channel);
    /// - `estimatedAccuracy` (subject `<gateway>`): raised when the newest window's label-free estimate is below the
    ///   bundle's out-of-fold accuracy by more than `alerts.margin`; cleared by a window where it is not.
    public func checkMonitor(gateway: String) async throws {
        guard let scope = config.gateway(gateway)?.scope else { return }
        let n = config.alerts.driftWindows
        let windows = try await store.monitorWindows(gateway: gateway, last: n)
        guard let newest = windows.last else { return }
        if let from = newest.window.from.seconds, let to = newest.window.to.seconds {
            await measureRealised(gateway: gateway, from: from, to: to) // labels may have come first
        }
        let now = clock.now().seconds
        let to = newest.window.to.instant?.iso8601 ?? "-"

        // Drift: N consecutive windows.
        let drift = newest.drift ?? [:]
        for subject in try await store.openAlertSubjects(kind: AlertDocument.Kind.drift, gateway: gateway) {
            let feature = String(subject.dropFirst(gateway.count + 1))
            if drift[feature]?.drifted != true {
                try await clear(kind: AlertDocument.Kind.drift, subject: subject, at: now)
            }
        }
        if windows.count == n {
            for (feature, d) in drift.sorted(by: { $0.key < $1.key }) where d.drifted {
                let all = windows.compactMap { $0.drift?[feature] }
                guard all.count == n, all.allSatisfy(\.drifted) else { continue }
                var numbers: [String: Double] = ["score": d.score, "windows": Double(n)]
                numbers["threshold"] = d.threshold
                numbers["minScore"] = all.map(\.score).min()
                let threshold = d.threshold.map { String(format: " (threshold %.4f)", $0) } ?? ""
                try await raise(
                    kind: AlertDocument.Kind.drift, subject: "\(gateway)/\(feature)", scope: scope, gateway: gateway,
                    numbers: numbers,
                    message: String(
                        format:
                            "gateway %@: feature %@ drifted in %d consecutive monitor windows up to %@, score %.4f%@",
                        gateway, feature, n, to, d.score, threshold),
                    at: now)
            }
        }

        // Input quality: the newest window.
        let share = config.alerts.inputShare
        for subject in try await store.openAlertSubjects(kind: AlertDocument.Kind.input, gateway: gateway) {
            let channel = String(subject.dropFirst(gateway.count + 1))
            if let input = newest.inputs[channel], input.missing > share || input.stuck > share { continue }
            try await clear(kind: AlertDocument.Kind.input, subject: subject, at: now)
        }
        for (channel, input) in newest.inputs.sorted(by: { $0.key < $1.key })
        where input.missing > share || input.stuck > share {
            let what = input.missing > share ? "missing" : "stuck"
            let value = input.missing > share ? input.missing : input.stuck
            try await raise(
                kind: AlertDocument.Kind.input, subject: "\(gateway)/\(channel)", scope: scope, gateway: gateway,
                numbers: [
                    "missing": input.missing, "stuck": input.stuck, "outOfRange": input.outOfRange, "share": share,
                    "samples": Double(newest.window.samples),
                ],
                message: String(
                    format: "gateway %@: channel %@ %@ in %.1f%% of the window ending %@ (more than %.1f%%)", gateway,
                    channel, what, value * 100, to, share * 100),
                at: now)
        }

        // Label-free accuracy estimate against the bundle's own.
        if let expected = newest.expectedAccuracy, let bundle = newest.bundleAccuracy {
            let margin = config.alerts.margin
            if expected < bundle - margin {
                try await raise(
                    kind: AlertDocument.Kind.estimatedAccuracy, subject: gateway, scope: scope, gateway: gateway,
                    numbers: [
                        "expectedAccuracy": expected, "bundleAccuracy": bundle, "margin": margin,
                        "samples": Double(newest.window.samples),
                    ],
                    message: String(
                        format:
                            "gateway %@: estimated accuracy %.4f in the window ending %@, below the bundle's out-of-fold %.4f by more than %.3f",
                        gateway, expected, to, bundle, margin),
                    at: now)
            } else {
                try await clear(kind: AlertDocument.Kind.estimatedAccuracy, subject: gateway, at: now)
            }
        }
    }
}
