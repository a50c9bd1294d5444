import Evaluator

extension TrainingReport {
    /// The part of the report the bundle's manifest carries (signed with it, printed by `occupant model inspect`).
    public var manifestSummary: BundleManifest.TrainingSummary {
        var parameters: [String: Double] = [:]
        if let b = chosen.boosting {
            parameters = [
                "trees": Double(treeCount ?? b.trees), "learningRate": b.learningRate, "maxDepth": Double(b.maxDepth),
                "minChildWeight": b.minChildWeight, "l2": b.l2, "minSplitGain": b.minSplitGain,
                "rowSubsample": b.rowSubsample, "columnSubsample": b.columnSubsample,
            ]
        }
        if let l = chosen.logistic { parameters = ["l2": l.l2] }
        return BundleManifest.TrainingSummary(
            chosen: chosen.description, family: chosen.family.rawValue, featureGroups: chosen.groups,
            channels: chosen.channels, hyperParameters: parameters, threshold: threshold,
            validation: validation.manifestMetrics, baselineRule: baseline.rule,
            baselineValidation: baseline.validation.manifestMetrics, beatsBaseline: beatsBaseline, folds: folds.count,
            trials: trials, prunedTrials: prunedTrials, selection: selection?.summary,
            ablation: ablation?.map {
                .init(
                    group: $0.group, change: $0.change, accuracyDelta: $0.accuracyDelta, logLossDelta: $0.logLossDelta)
            },
            searchSeconds: searchSeconds, finalFitSeconds: finalFitSeconds, seed: seed)
    }
}
