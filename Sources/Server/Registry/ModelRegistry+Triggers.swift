import Crypto
import Evaluator
import Foundation
import Logging
import OccupantCore
import Training

extension ModelRegistry {
    // MARK: Triggers and alerts

    /// Starts the jobs whose trigger fired: enough newly labelled rows, or the schedule; moves rollouts on whose wave
    /// passed probation; then judges the champions' quality and the gateways' silence.
    public func checkTriggers() async {
        await takeOverJobs()
        for scope in config.scopes where !running.contains(scope) {
            do {
                var trigger: String?
                let latest = try await store.models(scope: scope).last
                let labelled = try await store.labelledRowCount(gateways: gateways(in: scope))
                if config.retrain.newLabelledRows > 0 {
                    let fresh = labelled - max(latest?.labelledRowsSeen ?? 0, lastAttemptSeen[scope] ?? 0)
                    if fresh >= config.retrain.newLabelledRows { trigger = "\(fresh) newly labelled rows" }
                }
                if trigger == nil, let every = config.retrain.every {
                    let last = lastScheduled[scope] ?? latest?.created ?? 0
                    if clock.now().seconds - last >= every { trigger = "schedule" }
                }
                if let trigger { _ = try await retrain(scope: scope, trigger: trigger) }
                try await advanceRollout(scope: scope)
                try await checkShadowEvidence(scope: scope)
                if labelled >= (lastQualitySeen[scope] ?? 0) + config.alerts.minimumRows {
                    lastQualitySeen[scope] = labelled
                    try await checkQuality(scope: scope)
                }
            } catch {
                logger.error("\(scope): \(error)")
            }
        }
        do {
            try await checkSilence()
        } catch {
            logger.error("silent gateways: \(error)")
        }
    }
}
