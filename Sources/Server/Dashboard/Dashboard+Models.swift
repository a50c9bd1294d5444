import Evaluator
import FleetProtocol
import Foundation
import Hummingbird
import OccupantCore

extension Dashboard {
    /// The metric history plots at most this many of a scope's newest metric records.
    static let metricHistoryLimit = 500
    /// Shadow evidence on the Models screen reads the first wave's monitor windows of this many days (the whole
    /// evidence is `GET /v1/scopes/{scope}/shadow`).
    static let shadowDays = 1.0

    struct Fact {
        let name: String
        let value: String
    }

    struct ModelsView {
        struct ScopeLink {
            let name: String
            let href: String
            let current: Bool
        }
        struct Version {
            let version: Int
            let href: String
            let aliases: String
            let created: String
            let data: String
            let accuracy: String
            let f1: String
            let auc: String
            let rows: String
            let ece: String
            let falseTransitions: String
        }
        struct Selected {
            let version: Int
            let modelID: String
            let sha: String
            let created: String
            let aliases: String?
            let trigger: String?
            let reason: String?
            let data: [Fact]
            let events: [Fact]
            let hyper: [Fact]
            let ablation: [Ablation]
            let plot: DashboardPlots.Reliability
            /// The holdout confusion matrix, when the report has one.
            let confusion: Confusion?
            let json: String
        }
        struct Ablation {
            let group: String
            let change: String
            let accuracy: String
            let accuracyDelta: String
            let logLossDelta: String
        }
        struct Confusion {
            let truePositive: Int
            let falseNegative: Int
            let falsePositive: Int
            let trueNegative: Int
        }
        struct Comparison {
            struct Column {
                let label: String
                let href: String
            }
            struct Row {
                let name: String
                let values: [String]
            }
            let columns: [Column]
            let rows: [Row]
        }
        struct Shadow {
            struct Gateway {
                let gateway: String
                let path: String
                let active: String
                let model: String
                let windows: Int
                let agreement: String
                let labelled: Int
                let activeAccuracy: String
                let shadowAccuracy: String
            }
            let summary: String
            let hours: Int
            let gateways: [Gateway]
            let json: String
        }
        struct Promotion {
            let at: String
            let challenger: Int
            let href: String
            let champion: String
            let promoted: String
            let reason: String
            let outcome: String
        }

        let frame: Frame
        let scope: String
        let scopes: [ScopeLink]
        let versions: [Version]
        let history: DashboardPlots.History
        let comparison: Comparison?
        let shadow: Shadow?
        let selected: Selected?
        let promotions: [Promotion]
        let json: String
    }

    func modelsIndex(_ session: DashboardSessions.Session) async throws -> Response {
        guard let first = config.scopes.first else {
            return try problem(.notFound, "Models", "No scope is configured.", session: session, back: nil)
        }
        return Self.redirect("/dashboard/models/\(API.pathSegment(first))")
    }

    /// A number at `path` in a JSON report (`holdout.challenger.accuracy`).
    static func figure(_ json: JSON?, _ path: String) -> Double? {
        var node = json
        for key in path.split(separator: ".") { node = node?[String(key)] }
        if case .number(let n)? = node { return n }
        return nil
    }

    /// A string, number or boolean at `path`, as text.
    static func text(_ json: JSON?, _ path: String) -> String? {
        var node = json
        for key in path.split(separator: ".") { node = node?[String(key)] }
        switch node {
        case .string(let s)?: return s
        case .number(let n)?: return number(n)
        case .bool(let b)?: return b ? "yes" : "no"
        default: return nil
        }
    }

    static func items(_ json: JSON?) -> [JSON]? {
        if case .array(let items)? = json { return items }
        return nil
    }

    static func percent(_ v: Double?) -> String { v.map { String(format: "%.1f %%", $0 * 100) } ?? "" }
    static func fixed(_ v: Double?, _ digits: Int = 3) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "" }

    /// Aliases by version (`champion`, `challenger`, `shadow`, `awaiting shadow evidence`).
    func aliases(scope: String) async throws -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        for (alias, shown) in [
            ("champion", "champion"), ("challenger", "challenger"), (ModelRegistry.shadowAlias, "shadow"),
            (ModelRegistry.awaitingShadowAlias, "awaiting shadow evidence"),
        ] {
            if let v = try await store.alias(scope: scope, alias: alias) { out[v, default: []].append(shown) }
        }
        return out
    }

    /// What became of a promotion decision: the rollout of that version (when it is the scope's current one), the
    /// champion, or replaced; and how many gateways rolled it back.
    static func outcome(_ p: PromotionRecord, rollout: Rollout?, champion: Int?, rolledBack: Int) -> String {
        var parts: [String] = []
        if !p.promoted {
            parts.append(p.reason.contains("awaiting its evidence") ? "went into shadow" : "kept as challenger")
        } else if let r = rollout, r.version == p.challenger {
            parts.append(
                "rollout \(r.state.rawValue), wave \(min(r.reached + 1, r.waves)) of \(r.waves)"
                    + (r.reason.map { ": \($0)" } ?? ""))
        } else if champion == p.challenger {
            parts.append("champion")
        } else {
            parts.append("replaced since")
        }
        if rolledBack > 0 { parts.append("\(rolledBack) gateway\(rolledBack == 1 ? "" : "s") rolled it back") }
        return parts.joined(separator: "; ")
    }

    func modelsPage(_ request: Request, _ context: BasicRequestContext, _ session: DashboardSessions.Session)
        async throws -> Response
    {
        let raw = context.parameters.get("scope") ?? ""
        guard let scope = API.decodePathSegment(raw), config.scopes.contains(scope) else {
            return try problem(
                .notFound, "Models", "There is no scope \(raw.prefix(64)).", session: session, back: "/dashboard/fleet")
        }
        let base = "/dashboard/models/\(API.pathSegment(scope))"
        let versionLink = { (v: Int) in "\(base)?version=\(v)#version" }
        // The version list from the summary columns: no report decoded but the selected version's.
        let summaries = try await store.modelSummaries(scope: scope).sorted { $0.version > $1.version }
        let aliases = try await aliases(scope: scope)
        let champion = aliases.first { $0.value.contains("champion") }?.key
        let challenger = aliases.first { $0.value.contains("challenger") }?.key
        let shadowVersion = aliases.first { $0.value.contains("shadow") }?.key
        var wanted = summaries.first?.version
        if let raw = request.uri.queryParameters["version"].map(String.init), !raw.isEmpty {
            guard let v = Int(raw), summaries.contains(where: { $0.version == v }) else {
                return try problem(
                    .notFound, "Models", "Scope \(scope) has no version \(raw.prefix(32)).", session: session,
                    back: base)
            }
            wanted = v
        } else if let champion {
            wanted = champion
        }
        let metrics = Array(try await store.metrics(scope: scope).suffix(Self.metricHistoryLimit))
        let rolledBack = try await store.rolledBackGateways()
        let sha = Dictionary(summaries.map { ($0.version, $0.sha256) }, uniquingKeysWith: { $1 })
        var selected: ModelsView.Selected?
        if let wanted, let record = try await store.model(scope: scope, version: wanted) {
            selected = try selectedView(scope: scope, record, aliases: aliases[wanted] ?? [])
        }
        let rollout = try await store.rollout(scope: scope)
        let view = ModelsView(
            frame: frame("Models \(scope)", session, "models"), scope: scope,
            scopes: config.scopes.map {
                ModelsView.ScopeLink(name: $0, href: "/dashboard/models/\(API.pathSegment($0))", current: $0 == scope)
            },
            versions: summaries.map { m in
                ModelsView.Version(
                    version: m.version, href: versionLink(m.version),
                    aliases: (aliases[m.version] ?? []).joined(separator: ", "),
                    created: Instant(seconds: m.created).iso8601,
                    data: "\(Instant(seconds: m.dataFrom).iso8601) – \(Instant(seconds: m.dataTo).iso8601)",
                    accuracy: Self.percent(m.accuracy), f1: Self.fixed(m.f1), auc: Self.fixed(m.auc),
                    rows: m.holdoutRows.map(String.init) ?? "", ece: Self.fixed(m.ece),
                    falseTransitions: Self.fixed(m.falseTransitionsPerDay, 2))
            },
            history: Self.history(scope: scope, metrics),
            comparison: Self.comparison(
                [(champion, "champion"), (challenger, "challenger"), (shadowVersion, "shadow")], summaries: summaries,
                metrics: metrics, rolledBack: rolledBack, link: versionLink),
            shadow: try await shadowView(scope: scope, version: shadowVersion, champion: champion),
            selected: selected,
            promotions: try await store.promotions(scope: scope).reversed().map {
                ModelsView.Promotion(
                    at: Instant(seconds: $0.at).iso8601, challenger: $0.challenger, href: versionLink($0.challenger),
                    champion: $0.champion.map(String.init) ?? "none", promoted: $0.promoted ? "yes" : "no",
                    reason: $0.reason,
                    outcome: Self.outcome(
                        $0, rollout: rollout, champion: champion,
                        rolledBack: sha[$0.challenger].flatMap { rolledBack[$0] } ?? 0))
            }, json: API.models(scope: scope))
        return try render("models", view)
    }

    /// One series per (kind, metric) — `holdout accuracy`, `live accuracy`, `shadow accuracy` — in time order.
    static func history(scope: String, _ metrics: [MetricRecord]) -> DashboardPlots.History {
        var order: [String] = []
        var series: [String: [(at: Double, value: Double, label: String)]] = [:]
        for m in metrics where m.value.isFinite && (0...1).contains(m.value) {
            let name = "\(m.kind) \(m.metric)"
            if series[name] == nil { order.append(name) }
            series[name, default: []].append((m.at, m.value, "v\(m.version), \(m.rows) rows,"))
        }
        return DashboardPlots.history(
            id: "history", title: "Metrics of \(scope) per version over time", yLabel: "value (%)",
            series: order.map { ($0, series[$0]!.sorted { $0.at < $1.at }) })
    }

    static func comparison(
        _ wanted: [(version: Int?, label: String)], summaries: [ModelSummary], metrics: [MetricRecord],
        rolledBack: [String: Int], link: (Int) -> String
    ) -> ModelsView.Comparison? {
        var seen = Set<Int>()
        let columns = wanted.compactMap { w -> (label: String, summary: ModelSummary)? in
            guard let v = w.version, seen.insert(v).inserted, let s = summaries.first(where: { $0.version == v })
            else { return nil }
            return (w.label, s)
        }
        guard !columns.isEmpty else { return nil }
        let latest = { (version: Int, kind: String) -> String in
            guard let m = metrics.last(where: { $0.version == version && $0.kind == kind && $0.metric == "accuracy" })
            else { return "" }
            return "\(percent(m.value)) (\(m.rows) rows)"
        }
        let row = { (name: String, value: (ModelSummary) -> String) in
            ModelsView.Comparison.Row(name: name, values: columns.map { value($0.summary) })
        }
        return ModelsView.Comparison(
            columns: columns.map {
                .init(label: "\($0.label): v\($0.summary.version)", href: link($0.summary.version))
            },
            rows: [
                row("Created (UTC)") { Instant(seconds: $0.created).iso8601 },
                row("Data up to (UTC)") { Instant(seconds: $0.dataTo).iso8601 },
                row("Holdout accuracy") { percent($0.accuracy) },
                row("Holdout F1") { fixed($0.f1) },
                row("Holdout AUC") { fixed($0.auc) },
                row("Holdout rows") { $0.holdoutRows.map(String.init) ?? "" },
                row("ECE (out-of-fold)") { fixed($0.ece) },
                row("False transitions per day") { fixed($0.falseTransitionsPerDay, 2) },
                row("Realised accuracy in shadow (last decision)") { latest($0.version, "shadow") },
                row("Realised accuracy on new labels (live)") { latest($0.version, "live") },
                row("Gateways that rolled it back") { String(rolledBack[$0.sha256] ?? 0) },
            ])
    }

    /// The shadow model's evidence on the gateways the promotion rule reads (the first wave), over their windows of
    /// the last `shadowDays` (up to each gateway's newest window): agreement with the deciding model and both models'
    /// realised accuracy on labelled samples.
    func shadowView(scope: String, version: Int?, champion: Int?) async throws -> ModelsView.Shadow? {
        guard let version else { return nil }
        var rows: [ModelsView.Shadow.Gateway] = []
        // The registry's `shadowWave`, computed here from the configuration (no wait on the registry's actor).
        let wave = ModelRegistry.plan(
            config.promotion.plannedWaves, members: config.gateways.filter { $0.scope == scope }.map(\.id))[0]
        for g in wave.sorted() {
            let windows = try await store.shadowWindows(gateway: g, span: Self.shadowDays * 86_400)
            guard !windows.isEmpty else { continue }
            let labels = try await store.labels(gateways: [g])
            for e in ShadowEvidence.evidence(windows: windows, labels: labels) {
                rows.append(
                    .init(
                        gateway: g, path: API.pathSegment(g), active: e.active, model: e.shadow, windows: e.windows,
                        agreement: Self.percent(e.agreement), labelled: e.labelled,
                        activeAccuracy: Self.percent(e.activeAccuracy), shadowAccuracy: Self.percent(e.shadowAccuracy)))
            }
        }
        return ModelsView.Shadow(
            summary: "Version \(version) runs in shadow beside "
                + (champion.map { "the champion, version \($0)" } ?? "the rule")
                + ": each gateway scores it on the same inputs without publishing its decisions.",
            hours: Int(Self.shadowDays * 24), gateways: rows, json: API.scopeShadow(scope))
    }

    func selectedView(scope: String, _ record: ModelRecord, aliases: [String]) throws -> ModelsView.Selected {
        let report = try? FleetJSON.decode(JSON.self, from: Array(record.report.utf8))
        var bins: [(mean: Double, observed: Double, count: Int)] = []
        if case .array(let items)? = report?["training"]?["calibration"]?["bins"] {
            for bin in items {
                if let mean = Self.figure(bin, "meanProbability"), let observed = Self.figure(bin, "observedRate"),
                    let count = Self.figure(bin, "count"), count > 0
                {
                    bins.append((mean, observed, Int(count)))
                }
            }
        }
        let c = { (name: String) in Self.figure(report, "holdout.challenger.\(name)").map { Int($0) } }
        var confusion: ModelsView.Confusion?
        if let tp = c("truePositive"), let fn = c("falseNegative"), let fp = c("falsePositive"),
            let tn = c("trueNegative")
        {
            confusion = ModelsView.Confusion(truePositive: tp, falseNegative: fn, falsePositive: fp, trueNegative: tn)
        }
        let fact = { (name: String, value: String?) in value.flatMap { $0.isEmpty ? nil : Fact(name: name, value: $0) }
        }
        let t = { (path: String) in Self.text(report, path) }
        let seconds = { (path: String) in Self.figure(report, path).map { Self.duration($0.rounded()) } }
        let data = [
            fact(
                "Data window (UTC)",
                "\(Instant(seconds: record.dataFrom).iso8601) – \(Instant(seconds: record.dataTo).iso8601)"),
            fact("Training rows", t("training.rows")),
            fact("Labelled rows", t("training.labelledRows")),
            fact("Occupied rows", t("training.occupiedRows")),
            fact("Folds (day-blocked)", Self.items(report?["training"]?["folds"]).map { String($0.count) }),
            fact("Holdout", t("holdout.from").map { "\($0) – \(t("holdout.to") ?? "")" }),
            fact("Holdout rows", t("holdout.rows")),
            fact("Golden vectors", goldenVectors(record).map(String.init) ?? "bundle not in the artifact store"),
            fact("Bundle size", "\(record.size) bytes"),
        ].compactMap { $0 }
        let events = [
            fact(
                "False transitions per day",
                Self.figure(report, "training.events.falseTransitionsPerDay").map { Self.fixed($0, 2) }),
            fact("False transitions", t("training.events.falseTransitions")),
            fact("Published transitions", t("training.events.publishedTransitions")),
            fact("Days", Self.figure(report, "training.events.days").map { Self.fixed($0, 1) }),
            fact(
                "Onsets (missed)",
                t("training.events.onsets").map { "\($0) (\(t("training.events.missedOnsets") ?? "0"))" }),
            fact("Onset latency p50", seconds("training.events.onsetLatencyP50Seconds")),
            fact("Onset latency p95", seconds("training.events.onsetLatencyP95Seconds")),
            fact(
                "Clears (missed)",
                t("training.events.clears").map { "\($0) (\(t("training.events.missedClears") ?? "0"))" }),
            fact("Clear latency p50", seconds("training.events.clearLatencyP50Seconds")),
            fact("Clear latency p95", seconds("training.events.clearLatencyP95Seconds")),
        ].compactMap { $0 }
        var hyper = [
            fact("Family", t("training.chosen.family")),
            fact(
                "Feature groups",
                Self.items(report?["training"]?["chosen"]?["groups"])?.compactMap(\.string).joined(separator: ", ")),
            fact(
                "Channels",
                Self.items(report?["training"]?["chosen"]?["channels"])?.compactMap(\.string).joined(separator: ", ")),
        ].compactMap { $0 }
        for section in ["boosting", "logistic"] {
            if case .object(let params)? = report?["training"]?["chosen"]?[section] {
                for p in params.sorted(by: { $0.key < $1.key }) {
                    if let value = Self.text(p.value, "") { hyper.append(Fact(name: p.key, value: value)) }
                }
            }
        }
        hyper += [
            fact("Threshold", Self.figure(report, "training.threshold").map { Self.fixed($0) }),
            fact("Trees", t("training.treeCount")),
            fact("Calibrator", t("training.calibrator.kind")),
            fact("Trials (pruned)", t("training.trials").map { "\($0) (\(t("training.prunedTrials") ?? "0"))" }),
            fact("Seed", t("training.seed")),
        ].compactMap { $0 }
        var ablation: [ModelsView.Ablation] = []
        for a in Self.items(report?["training"]?["ablation"]) ?? [] {
            ablation.append(
                .init(
                    group: Self.text(a, "group") ?? "", change: Self.text(a, "change") ?? "",
                    accuracy: Self.percent(Self.figure(a, "accuracy")),
                    accuracyDelta: Self.figure(a, "accuracyDelta").map { String(format: "%+.2f", $0 * 100) } ?? "",
                    logLossDelta: Self.figure(a, "logLossDelta").map { String(format: "%+.4f", $0) } ?? ""))
        }
        return ModelsView.Selected(
            version: record.version, modelID: record.modelID, sha: record.sha256,
            created: Instant(seconds: record.created).iso8601,
            aliases: aliases.isEmpty ? nil : aliases.joined(separator: ", "), trigger: t("trigger"),
            reason: t("reason"), data: data, events: events, hyper: hyper, ablation: ablation,
            plot: DashboardPlots.reliability(
                id: "reliability", title: "Reliability of \(scope) version \(record.version) (out-of-fold)",
                bins: bins),
            confusion: confusion, json: Self.modelVersionRoute(scope: scope, version: record.version))
    }

    /// The golden vectors in the version's bundle manifest (nil when the bundle is not in the artifact store).
    func goldenVectors(_ record: ModelRecord) -> Int? {
        guard let bytes = try? registry.artifacts.get(sha256: record.sha256),
            let bundle = try? ModelBundle.decode(bytes)
        else { return nil }
        return bundle.manifest.golden.count
    }
}
