import FleetProtocol
import Foundation
import Hummingbird
import OccupantCore

extension Dashboard {
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
        }
        struct Selected {
            let version: Int
            let plot: DashboardPlots.Reliability
            /// The holdout confusion matrix, when the report has one.
            let confusion: Confusion?
        }
        struct Confusion {
            let truePositive: Int
            let falseNegative: Int
            let falsePositive: Int
            let trueNegative: Int
        }
        struct Promotion {
            let at: String
            let challenger: Int
            let champion: String
            let promoted: String
            let reason: String
        }

        let frame: Frame
        let scope: String
        let scopes: [ScopeLink]
        let versions: [Version]
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

    static func percent(_ v: Double?) -> String { v.map { String(format: "%.1f %%", $0 * 100) } ?? "" }

    func modelsPage(_ request: Request, _ context: BasicRequestContext, _ session: DashboardSessions.Session)
        async throws -> Response
    {
        let raw = context.parameters.get("scope") ?? ""
        guard let scope = API.decodePathSegment(raw), config.scopes.contains(scope) else {
            return try problem(
                .notFound, "Models", "There is no scope \(raw.prefix(64)).", session: session, back: "/dashboard/fleet")
        }
        let base = "/dashboard/models/\(API.pathSegment(scope))"
        let records = try await store.models(scope: scope).sorted { $0.version > $1.version }
        var aliases: [Int: [String]] = [:]
        for alias in ["champion", "challenger"] {
            if let v = try await store.alias(scope: scope, alias: alias) { aliases[v, default: []].append(alias) }
        }
        let reports = records.map { (try? FleetJSON.decode(JSON.self, from: Array($0.report.utf8))) ?? nil }
        let wanted =
            request.uri.queryParameters["version"].flatMap { Int(String($0)) }
            ?? aliases.first { $0.value.contains("champion") }?.key ?? records.first?.version
        var selected: ModelsView.Selected?
        if let wanted, let i = records.firstIndex(where: { $0.version == wanted }) {
            var bins: [(mean: Double, observed: Double, count: Int)] = []
            if case .array(let items)? = reports[i]?["training"]?["calibration"]?["bins"] {
                for bin in items {
                    if let mean = Self.figure(bin, "meanProbability"), let observed = Self.figure(bin, "observedRate"),
                        let count = Self.figure(bin, "count"), count > 0
                    {
                        bins.append((mean, observed, Int(count)))
                    }
                }
            }
            let c = { (name: String) in Self.figure(reports[i], "holdout.challenger.\(name)").map { Int($0) } }
            var confusion: ModelsView.Confusion?
            if let tp = c("truePositive"), let fn = c("falseNegative"), let fp = c("falsePositive"),
                let tn = c("trueNegative")
            {
                confusion = ModelsView.Confusion(
                    truePositive: tp, falseNegative: fn, falsePositive: fp, trueNegative: tn)
            }
            selected = ModelsView.Selected(
                version: wanted,
                plot: DashboardPlots.reliability(
                    id: "reliability", title: "Reliability of \(scope) version \(wanted) (out-of-fold)", bins: bins),
                confusion: confusion)
        }
        let view = ModelsView(
            frame: frame("Models \(scope)", session, "models"), scope: scope,
            scopes: config.scopes.map {
                ModelsView.ScopeLink(name: $0, href: "/dashboard/models/\(API.pathSegment($0))", current: $0 == scope)
            },
            versions: zip(records, reports).map { m, report in
                ModelsView.Version(
                    version: m.version, href: "\(base)?version=\(m.version)#version",
                    aliases: (aliases[m.version] ?? []).joined(separator: ", "),
                    created: Instant(seconds: m.created).iso8601,
                    data: "\(Instant(seconds: m.dataFrom).iso8601) – \(Instant(seconds: m.dataTo).iso8601)",
                    accuracy: Self.percent(Self.figure(report, "holdout.challenger.accuracy")),
                    f1: Self.figure(report, "holdout.challenger.f1").map { String(format: "%.3f", $0) } ?? "",
                    auc: Self.figure(report, "holdout.challenger.auc").map { String(format: "%.3f", $0) } ?? "",
                    rows: Self.figure(report, "holdout.rows").map { Self.number($0) } ?? "",
                    ece: Self.figure(report, "training.calibration.ece").map { String(format: "%.3f", $0) } ?? "")
            }, selected: selected,
            promotions: try await store.promotions(scope: scope).reversed().map {
                ModelsView.Promotion(
                    at: Instant(seconds: $0.at).iso8601, challenger: $0.challenger,
                    champion: $0.champion.map(String.init) ?? "none", promoted: $0.promoted ? "yes" : "no",
                    reason: $0.reason)
            }, json: API.models(scope: scope))
        return try render("models", view)
    }
}
