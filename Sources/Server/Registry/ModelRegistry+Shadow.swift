import FleetProtocol
import Foundation
import Logging
import OccupantCore

/// Shadow scoring, the server's side: which bundle each gateway scores in shadow (a scope-wide assignment, or a
/// gateway's own, kept as aliases `shadow` and `shadow@<gateway>`), the evidence its monitor windows carry once
/// labels are joined, and the promotion rule that waits for that evidence (`promotion.shadow`).
extension ModelRegistry {
    static let shadowAlias = "shadow"
    /// The challenger the promotion rule waits on shadow evidence for.
    static let awaitingShadowAlias = "shadow-awaiting"
    static func shadowAlias(gateway: String) -> String { "shadow@\(gateway)" }

    /// The bundle `gateway` should score in shadow: its own assignment, else its scope's; nil when none, or when it
    /// is the model the gateway should run anyway. Not isolated: the poll path reads the store directly.
    public nonisolated func shadowModel(for gateway: String) async throws -> ModelRecord? {
        guard let scope = config.gateway(gateway)?.scope else { return nil }
        var version = try await store.alias(scope: scope, alias: Self.shadowAlias(gateway: gateway))
        if version == nil { version = try await store.alias(scope: scope, alias: Self.shadowAlias) }
        guard let version else { return nil }
        if try await store.assignedModel(scope: scope, gateway: gateway)?.version == version { return nil }
        return try await store.model(scope: scope, version: version)
    }

    /// Assigns `version` as shadow to `scope`, or to one `gateway` of it; nil clears that assignment. The gateways
    /// concerned are told at once (their retained announcement names the shadow) and ask for it.
    public func assignShadow(scope: String, version: Int?, gateway: String?) async throws {
        guard config.scopes.contains(scope) else {
            throw OccupantError(.usage, "unknown scope '\(scope)' (scopes: \(config.scopes.joined(separator: ", ")))")
        }
        if let gateway, config.gateway(gateway)?.scope != scope {
            throw OccupantError(.usage, "gateway '\(gateway)' is not in scope \(scope)")
        }
        if let version, try await store.model(scope: scope, version: version) == nil {
            let known = try await store.models(scope: scope).map { "v\($0.version)" }
            throw OccupantError(
                .usage,
                "scope \(scope) has no version \(version) (versions: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
            )
        }
        try await store.setAlias(
            scope: scope, alias: gateway.map(Self.shadowAlias(gateway:)) ?? Self.shadowAlias, version: version)
        let target = gateway ?? "every gateway of \(scope)"
        logger.info("\(scope): shadow \(version.map { "v\($0)" } ?? "cleared") for \(target)")
        for g in gateway.map({ [$0] }) ?? gateways(in: scope) { await announceShadow(g) }
    }

    /// Re-announces `gateway`'s model with its shadow (a gateway with no model to run learns of it at its next poll).
    func announceShadow(_ gateway: String) async {
        do {
            guard let active = try await model(for: gateway) else { return }
            let shadow = try await shadowModel(for: gateway)
            await announcer.modelAvailable(gateway: gateway, model: active, url: modelURL(gateway), shadow: shadow)
        } catch {
            logger.warning("announcing \(gateway)'s shadow: \(error); it learns of it at its next poll")
        }
    }

    /// The gateways whose shadow evidence a promotion needs: the rollout's first wave (`promotion.waves` or
    /// `firstWave`), or the whole scope without one.
    func shadowWave(_ scope: String) -> [String] {
        Self.plan(config.promotion.plannedWaves, members: gateways(in: scope))[0]
    }

    /// `GET /v1/scopes/{scope}/shadow`: the assignments and each gateway's evidence.
    public func shadowListing(scope: String) async throws -> ShadowListing {
        guard config.scopes.contains(scope) else {
            throw OccupantError(.usage, "unknown scope '\(scope)' (scopes: \(config.scopes.joined(separator: ", ")))")
        }
        var items: [ShadowListing.Gateway] = []
        for g in gateways(in: scope).sorted() {
            let own = try await store.alias(scope: scope, alias: Self.shadowAlias(gateway: g)) != nil
            let assigned = try await shadowModel(for: g)
            let labels = try await store.labels(gateways: [g])
            let windows = try await store.monitorWindows(gateway: g, since: nil)
            items.append(
                .init(
                    gateway: g, assigned: assigned.map { "\($0.modelID)@\($0.version)" }, own: own,
                    evidence: ShadowEvidence.evidence(windows: windows, labels: labels)))
        }
        return ShadowListing(
            scope: scope, version: try await store.alias(scope: scope, alias: Self.shadowAlias),
            awaitingEvidence: try await store.alias(scope: scope, alias: Self.awaitingShadowAlias), gateways: items)
    }

    /// A challenger that passed the holdout rule while `promotion.shadow` is set: it goes into shadow on the scope
    /// (evidence is read from the first wave) instead of being promoted now.
    func awaitShadowEvidence(scope: String, version: Int) async throws {
        try await store.setAlias(scope: scope, alias: Self.awaitingShadowAlias, version: version)
        try await store.setAlias(scope: scope, alias: "challenger", version: version)
        try await assignShadow(scope: scope, version: version, gateway: nil)
        logger.info(
            "\(scope) v\(version): in shadow; promoted once \(shadowWave(scope).joined(separator: ", ")) each have \(config.promotion.shadow?.rows ?? 0) labelled shadow rows that show it at least the champion's accuracy plus the margin"
        )
    }

    /// Judges the challenger waiting in shadow: once every gateway of the first wave has `promotion.shadow.rows`
    /// labelled shadow rows of it beside the champion, it is promoted if on each its realised accuracy is at least
    /// the champion's plus the margin, and kept as challenger (its shadow cleared) otherwise; both recorded with the
    /// numbers as a promotion decision, and the realised accuracies as `shadow` metrics.
    public func checkShadowEvidence(scope: String) async throws {
        guard let rule = config.promotion.shadow,
            let version = try await store.alias(scope: scope, alias: Self.awaitingShadowAlias),
            let challenger = try await store.model(scope: scope, version: version)
        else { return }
        let championVersion = try await store.alias(scope: scope, alias: "champion")
        var champion: ModelRecord?
        if let championVersion { champion = try await store.model(scope: scope, version: championVersion) }
        let shadowName = "\(challenger.modelID)@\(challenger.version)"
        let activePrefix = champion.map { "model:\($0.modelID)@\($0.version)" }
        var parts: [String] = []
        var ready = true
        var beats = true
        var total = ShadowEvidence.Counts()
        for g in shadowWave(scope) {
            let windows = try await store.monitorWindows(gateway: g, since: nil).filter { w in
                guard w.shadow?.model == shadowName else { return false }
                guard let p = activePrefix else { return true }
                return w.decidedBy == p || (w.decidedBy ?? "").hasPrefix(p + " ")
            }
            let counts = ShadowEvidence.counts(windows: windows, labels: try await store.labels(gateways: [g]))
            total.add(counts)
            guard counts.labelled >= rule.rows else {
                ready = false
                parts.append("\(g): \(counts.labelled) of \(rule.rows) labelled shadow rows")
                continue
            }
            parts.append(
                String(
                    format: "%@: challenger %.4f, champion %.4f on %d labelled shadow rows", g, counts.shadowAccuracy,
                    counts.activeAccuracy, counts.labelled))
            if !(counts.shadowAccuracy >= counts.activeAccuracy + rule.margin) { beats = false }
        }
        guard ready else {
            logger.debug("\(scope) v\(version): waiting for shadow evidence: \(parts.joined(separator: "; "))")
            return
        }
        let championText = championVersion.map { "v\($0)" } ?? "none"
        let reason =
            String(
                format: "shadow evidence against champion %@ (margin %.4f, at least %d rows per gateway): ",
                championText, rule.margin, rule.rows) + parts.joined(separator: "; ")
            + (beats ? "" : "; does not beat the champion by the margin on every gateway")
        let now = clock.now().seconds
        try await store.addPromotion(
            PromotionRecord(
                scope: scope, at: now, challenger: version, champion: championVersion, promoted: beats, reason: reason))
        try await store.addMetric(
            MetricRecord(
                scope: scope, version: version, at: now, kind: "shadow", metric: "accuracy",
                value: total.shadowAccuracy, rows: total.labelled))
        if let championVersion {
            try await store.addMetric(
                MetricRecord(
                    scope: scope, version: championVersion, at: now, kind: "shadow", metric: "accuracy",
                    value: total.activeAccuracy, rows: total.labelled))
        }
        try await store.setAlias(scope: scope, alias: Self.awaitingShadowAlias, version: nil)
        logger.info("\(scope) v\(version): \(beats ? "promoted" : "kept as challenger"): \(reason)")
        if beats {
            try await store.setAlias(scope: scope, alias: Self.shadowAlias, version: nil)
            try await promote(scope: scope, record: challenger, previous: championVersion)
        } else {
            try await assignShadow(scope: scope, version: nil, gateway: nil)
        }
    }
}

/// Monitor windows' shadow sections joined with label spans: each labelled sample where both models decided counts
/// once, for each model right or wrong (see `ShadowWindow.Run`).
public enum ShadowEvidence {
    public struct Counts: Sendable, Equatable {
        public var labelled = 0
        public var activeCorrect = 0
        public var shadowCorrect = 0
        public var activeAccuracy: Double { labelled > 0 ? Double(activeCorrect) / Double(labelled) : 0 }
        public var shadowAccuracy: Double { labelled > 0 ? Double(shadowCorrect) / Double(labelled) : 0 }
        mutating func add(_ other: Counts) {
            labelled += other.labelled
            activeCorrect += other.activeCorrect
            shadowCorrect += other.shadowCorrect
        }
    }

    /// The labelled samples of `windows`' runs: `labels` are one gateway's disjoint spans in time order.
    public static func counts(windows: [MonitorDocument], labels: [LabelRange]) -> Counts {
        var counts = Counts()
        for w in windows {
            for run in w.shadow?.runs ?? [] {
                guard let active = run.active, let shadow = run.shadow else { continue }
                // The first span ending after the run starts, then every span starting at or before its end.
                var lo = 0
                var hi = labels.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if labels[mid].to <= run.from { lo = mid + 1 } else { hi = mid }
                }
                var i = lo
                while i < labels.count && labels[i].from <= run.to {
                    let n = run.samples(from: labels[i].from, to: labels[i].to)
                    counts.labelled += n
                    if active == labels[i].occupied { counts.activeCorrect += n }
                    if shadow == labels[i].occupied { counts.shadowCorrect += n }
                    i += 1
                }
            }
        }
        return counts
    }

    /// Per (active model, shadow model) pair, in order of first appearance.
    public static func evidence(windows: [MonitorDocument], labels: [LabelRange]) -> [ShadowListing.Evidence] {
        var order: [String] = []
        var groups: [String: [MonitorDocument]] = [:]
        for w in windows {
            guard let s = w.shadow else { continue }
            let key = (w.decidedBy ?? "-") + "\u{0}" + s.model
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(w)
        }
        return order.map { key in
            let group = groups[key]!
            let shadows = group.compactMap(\.shadow)
            let compared = shadows.map(\.compared).reduce(0, +)
            let agreed = shadows.map { Double($0.compared) * ($0.agreement ?? 0) }.reduce(0, +)
            let scored = shadows.map(\.scored).reduce(0, +)
            let confidence = shadows.map { Double($0.scored) * ($0.expectedAccuracy ?? 0) }.reduce(0, +)
            let c = counts(windows: group, labels: labels)
            return ShadowListing.Evidence(
                active: group[0].decidedBy ?? "-", shadow: shadows[0].model, windows: group.count, compared: compared,
                agreement: compared > 0 ? agreed / Double(compared) : nil,
                shadowTransitions: shadows.map(\.transitions).reduce(0, +),
                shadowExpectedAccuracy: scored > 0 ? confidence / Double(scored) : nil, labelled: c.labelled,
                activeAccuracy: c.labelled > 0 ? c.activeAccuracy : nil,
                shadowAccuracy: c.labelled > 0 ? c.shadowAccuracy : nil)
        }
    }
}
