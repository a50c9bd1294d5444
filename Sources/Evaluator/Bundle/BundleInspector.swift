import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Human-readable views of a bundle for `occupant model inspect`.
public enum BundleInspector {
    /// A multi-line summary: identity, scope, signature, model shape, features, policy, provenance, golden vectors.
    public static func summary(_ bundle: ModelBundle, byteCount: Int? = nil) -> String {
        let m = bundle.manifest
        var lines: [String] = []
        lines.append(
            "model      \(m.modelID) v\(m.version) (format \(m.formatVersion)\(byteCount.map { ", \($0) bytes" } ?? ""))"
        )
        lines.append("scope      \(m.scope)")
        lines.append("created    \(m.created)")
        lines.append("expires    \(m.expires ?? "never")")
        lines.append("signed     \(bundle.keyID.map { "key \($0)" } ?? "no")")
        lines.append("kind       \(shape(bundle.model))")
        lines.append("features   \(m.features.features.count): \(m.features.names.joined(separator: ", "))")
        if !m.features.profiles.isEmpty {
            let profiles = m.features.profiles.map { p in p.firmware.map { "\(p.name) \($0)" } ?? p.name }
            lines.append("profiles   \(profiles.joined(separator: "; "))")
        }
        lines.append(
            "policy     occupied when p >= \(m.policy.threshold); occupiedAfter \(m.policy.occupiedAfter) s, "
                + "vacantAfter \(m.policy.vacantAfter) s")
        lines.append("calibrated \(m.calibration?.description ?? "no (probabilities used as the model gives them)")")
        if let p = m.provenance {
            if let source = p.source { lines.append("source     \(source)") }
            if p.dataFrom != nil || p.dataTo != nil {
                lines.append("data       \(p.dataFrom ?? "?") … \(p.dataTo ?? "?")")
            }
            if let rows = p.trainingRows {
                lines.append("rows       \(rows) training, \(p.validationRows.map(String.init) ?? "?") validation")
            }
            if let metrics = p.metrics { lines.append("metrics    \(describe(metrics))") }
            if let baseline = p.staticRuleBaseline { lines.append("baseline   \(describe(baseline)) (static rule)") }
        }
        if let t = m.training {
            lines.append("training   \(t.chosen), threshold \(String(format3: t.threshold))")
            lines.append(
                "search     \(t.trials) trials (\(t.prunedTrials) pruned), \(t.folds) day-blocked folds, "
                    + "\(String(format3: t.searchSeconds)) s; final fit \(String(format3: t.finalFitSeconds)) s; seed \(t.seed)"
            )
            if let selection = t.selection { lines.append("selection  \(selection)") }
            lines.append("validation \(describe(t.validation)) (out of fold)")
            lines.append("rule       \(t.baselineRule): \(describe(t.baselineValidation))")
            lines.append("verdict    " + (t.beatsBaseline ? "beats the static rule" : "does NOT beat the static rule"))
            for a in t.ablation ?? [] {
                lines.append(
                    "ablation   \(a.change == "removed" ? "-" : "+")\(a.group): accuracy \(String(format3: 100 * a.accuracyDelta)) pt, log-loss \(String(format3: a.logLossDelta))"
                )
            }
        }
        lines.append("statistics \(m.featureStatistics.map { "\($0.count) features" } ?? "none")")
        if let d = m.drift {
            let calibrated = m.featureStatistics?.filter { $0.driftThreshold != nil }.count ?? 0
            lines.append(
                "drift      \(calibrated) thresholds for \(String(cFormat: "%g", d.windowSeconds)) s windows of \(d.samplesPerWindow) samples (\(d.distance), at most 1 false alarm per \(String(cFormat: "%g", (1 / d.falseAlarmRate).rounded())) windows)"
            )
        }
        lines.append("golden     \(m.golden.count) vectors")
        return lines.joined(separator: "\n")
    }

    /// The manifest as pretty-printed JSON with sorted keys.
    public static func manifestJSON(_ bundle: ModelBundle) -> String {
        ManifestCoding.json(bundle.manifest)
    }

    static func shape(_ model: Model) -> String {
        switch model {
        case .trees(let e):
            "\(e.flavour) trees: \(e.treeCount) trees, \(e.nodeCount) nodes (\(e.leafCount) leaves), base margin \(e.baseMargin)"
        case .logistic(let m):
            "logistic regression: \(m.coefficients.count) coefficients, intercept \(m.intercept)"
        }
    }

    static func describe(_ m: BundleManifest.Metrics) -> String {
        var parts: [String] = []
        func add(_ name: String, _ v: Double?) { if let v { parts.append("\(name) \(String(format3: v))") } }
        add("accuracy", m.accuracy)
        add("precision", m.precision)
        add("recall", m.recall)
        add("F1", m.f1)
        add("AUC", m.auc)
        if let c = m.confusion {
            parts.append("TP \(c.truePositive) FP \(c.falsePositive) TN \(c.trueNegative) FN \(c.falseNegative)")
        }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}

extension String {
    /// Three decimals without Foundation formatting.
    fileprivate init(format3 v: Double) {
        guard v.isFinite else {
            self = "\(v)"
            return
        }
        let scaled = (v * 1000).rounded()
        self = "\(scaled / 1000)"
    }
}
