import Crypto
import Evaluator
import FleetProtocol
import Foundation
import Logging
import OccupantCore
import Training

extension ModelRegistry {
    // MARK: Promotion and rollout

    /// Makes `record` the champion and starts its rollout: the first wave now, each next wave once the current one
    /// has passed probation (`promotion.waves`, `promotion.probation`). Without waves, or for a scope's first model,
    /// every gateway gets it at once (one wave).
    public func promote(scope: String, record: ModelRecord, previous: Int?) async throws {
        var previous = previous
        // A rollout of the champion that had not reached every wave (aborted, or still widening): the waves it did not
        // reach still run its previous version, and that is what they keep until the new version reaches them.
        if let r = try await store.rollout(scope: scope), r.version == previous,
            r.state == .aborted || (r.state == .running && r.reached < r.waves - 1)
        {
            previous = r.previous
        }
        try await store.setAlias(scope: scope, alias: "champion", version: record.version)
        lastQualitySeen[scope] = nil // a new champion is judged at the next check
        try await store.setAlias(scope: scope, alias: "challenger", version: nil)
        let members = gateways(in: scope)
        let plan = previous == nil ? [members.sorted()] : Self.plan(config.promotion.plannedWaves, members: members)
        let now = clock.now().seconds
        let rollout = Rollout(
            scope: scope, version: record.version, previous: previous, waves: plan.count, started: now)
        let records = plan.enumerated().flatMap { i, wave in wave.map { RolloutMember(gateway: $0, wave: i) } }
        try await store.startRollout(rollout, members: records)
        for g in plan[0] { await announcer.modelAvailable(gateway: g, model: record, url: modelURL(g)) }
        if plan.count > 1 {
            logger.info("\(scope) v\(record.version): wave 1 of \(plan.count): \(plan[0].joined(separator: ", "))")
        }
    }

    /// An operator's promotion of a stored version (a challenger, or an older champion to roll forward or back to):
    /// recorded with who asked, then rolled out in waves like any promotion.
    public func promoteByOperator(scope: String, version: Int, by who: String) async throws -> RolloutDocument {
        guard let record = try await store.model(scope: scope, version: version) else {
            throw OccupantError(.usage, "\(scope) has no version \(version)")
        }
        let champion = try await store.alias(scope: scope, alias: "champion")
        guard champion != version else { throw OccupantError(.usage, "\(scope) v\(version) is already the champion") }
        try await store.addPromotion(
            PromotionRecord(
                scope: scope, at: clock.now().seconds, challenger: version, champion: champion, promoted: true,
                reason: "promoted by \(who)"))
        try await promote(scope: scope, record: record, previous: champion)
        logger.notice("\(scope) v\(version) promoted by \(who)")
        guard let document = try await rolloutDocument(scope: scope) else {
            throw OccupantError(.usage, "\(scope) v\(version): no rollout was started")
        }
        return document
    }

    /// The waves as gateway lists (disjoint, each sorted): each configured wave adds its named gateways and its
    /// cumulative percentage of the scope (a stable choice: the gateways whose hashed id sorts first); a last wave
    /// holds the rest. Waves that add nobody are skipped.
    static func plan(_ waves: [ServerConfig.Promotion.Wave], members: [String]) -> [[String]] {
        let ordered = members.sorted { tokenHash($0) < tokenHash($1) }
        var assigned = Set<String>()
        var plan: [[String]] = []
        for wave in waves {
            var target = Set(wave.gateways.filter(members.contains))
            if let percent = wave.percent {
                target.formUnion(ordered.prefix(Int((Double(members.count) * percent / 100).rounded(.up))))
            }
            let added = target.subtracting(assigned).sorted()
            guard !added.isEmpty else { continue }
            plan.append(added)
            assigned.formUnion(added)
        }
        let rest = members.filter { !assigned.contains($0) }.sorted()
        if !rest.isEmpty || plan.isEmpty { plan.append(rest) }
        return plan
    }

    public func modelURL(_ gateway: String) -> String { API.url(config.baseURL, API.gatewayModel(gateway)) }

    /// The model `gateway` should run (its room model, else its scope's), or nil (keep the rule). Not isolated: the
    /// poll path reads the store directly, one query.
    public nonisolated func model(for gateway: String) async throws -> ModelRecord? {
        guard let scope = config.gateway(gateway)?.scope else { return nil }
        let room = config.retrain.rooms.enabled ? Self.roomScope(gateway) : nil
        return try await store.assignedModel(scope: scope, gateway: gateway, room: room)
    }

    /// A gateway's `model/status` report: stored, and its part in the scope's rollout noted (when it first runs the
    /// version; when it rolled the version back, `rolledBack` with the guard and reason; when it says the version
    /// passed probation); then the rollout moves on if it can.
    public func gatewayReported(
        _ status: GatewayStatus, rolledBack: (sha256: String, reason: String)? = nil, passedProbation: Bool = false
    ) async throws {
        try await store.setGatewayStatus(status)
        guard let scope = config.gateway(status.gateway)?.scope, let r = try await store.rollout(scope: scope),
            let record = try await store.model(scope: scope, version: r.version),
            var member = try await store.rolloutMember(scope: scope, gateway: status.gateway)
        else { return }
        let now = clock.now().seconds
        let before = member
        if status.sha256 == record.sha256 {
            if member.since == nil { member.since = now }
            if passedProbation && member.passedAt == nil { member.passedAt = now }
        }
        if let rolledBack, rolledBack.sha256 == record.sha256, member.rolledBackAt == nil {
            member.rolledBackAt = now
            member.reason = rolledBack.reason
            logger.warning("\(scope) v\(r.version): \(status.gateway) rolled it back: \(rolledBack.reason)")
        }
        guard member != before else { return }
        try await store.setRolloutMember(scope: scope, member)
        // Judging the wave reads all of it: only when this report can change the outcome now (a rollback, a passed
        // probation, or no probation to wait for); time-based passing is the periodic check's (1,000 gateways
        // reporting a new version must not cost 1,000 reads of the whole wave).
        if before.rolledBackAt != member.rolledBackAt || before.passedAt != member.passedAt
            || config.promotion.probation == 0
        {
            try await advanceRollout(scope: scope)
        }
    }

    /// A gateway's `guardAlert` (a guard tripped after probation; the model keeps deciding): a `guard` alert with the
    /// guard's reason, raised once; a status without it clears the gateway's open ones.
    public func guardReported(gateway: String, alert: ModelStatusDocument.RolledBack?) async throws {
        guard let scope = config.gateway(gateway)?.scope else { return }
        let now = clock.now().seconds
        let subject = alert.map { "\(gateway)/\($0.guardName)" }
        for open in try await store.openAlertSubjects(kind: AlertDocument.Kind.guardTripped, gateway: gateway)
        where open != subject {
            try await clear(kind: AlertDocument.Kind.guardTripped, subject: open, at: now)
        }
        guard let alert, let subject else { return }
        try await raise(
            kind: AlertDocument.Kind.guardTripped, subject: subject, scope: scope, gateway: gateway,
            numbers: alert.version.map { ["version": Double($0)] } ?? [:],
            message:
                "gateway \(gateway): the \(alert.guardName) guard tripped on \(alert.version.map { "v\($0)" } ?? "its model") "
                + "after probation (it keeps deciding): \(alert.reason)",
            at: now)
    }

    /// Moves a running rollout on: aborts it when more than `promotion.abortShare` of the current wave rolled the
    /// version back or raised an alert while running it; widens to the next wave once every other gateway of the
    /// current wave has run it for `promotion.probation` (or said it passed probation). Called on each gateway
    /// report and by the periodic check.
    public func advanceRollout(scope: String) async throws {
        guard var r = try await store.rollout(scope: scope), r.state == .running,
            let record = try await store.model(scope: scope, version: r.version)
        else { return }
        let now = clock.now().seconds
        let members = try await store.rolloutMembers(scope: scope)
        // A gateway with a room model of its own does not run the scope's version: it neither holds up nor judges it.
        let roomed = try await gatewaysWithRoomModels(members.filter { $0.wave == r.reached }.map(\.gateway))
        let wave = members.filter { $0.wave == r.reached && !roomed.contains($0.gateway) }
        let alerts = try await alertsSince(members: wave)
        let bad = wave.filter { $0.rolledBackAt != nil || alerts[$0.gateway] != nil }
        if !wave.isEmpty, Double(bad.count) / Double(wave.count) > config.promotion.abortShare {
            let why = bad.prefix(5).map { m in
                "\(m.gateway) \(m.reason.map { "rolled back: \($0)" } ?? "alert: \(alerts[m.gateway]?.message ?? "")")"
            }
            // Another process that saw the same wave aborts it (and tells its gateways) instead.
            guard try await events.claim(Self.rolloutEvent(r, "abort")) else { return }
            let reason =
                "\(bad.count) of \(wave.count) gateways in wave \(r.reached + 1) rolled back or raised alerts "
                + "(more than \(formatNumber(config.promotion.abortShare * 100)) %): \(why.joined(separator: "; "))"
            try await abort(
                scope: scope, reason: reason,
                numbers: [
                    "version": Double(r.version), "wave": Double(r.reached + 1), "bad": Double(bad.count),
                    "waveSize": Double(wave.count), "abortShare": config.promotion.abortShare,
                ])
            return
        }
        let passed = wave.filter { m in
            m.rolledBackAt == nil && alerts[m.gateway] == nil
                && (m.passedAt != nil || m.since.map { now - $0 >= config.promotion.probation } == true)
        }
        guard wave.isEmpty || (!passed.isEmpty && passed.count + bad.count == wave.count) else { return }
        // Another process that saw the same wave pass widens the rollout (and tells the next wave) instead.
        guard try await events.claim(Self.rolloutEvent(r, "passed")) else { return }
        if r.reached + 1 >= r.waves {
            r.state = .complete
            try await store.setRollout(r)
            logger.info("\(scope) v\(r.version): rollout complete (\(r.waves) waves)")
            return
        }
        r.reached += 1
        r.reachedAt = now
        try await store.setRollout(r)
        let next = members.filter { $0.wave == r.reached }.map(\.gateway)
        logger.info(
            "\(scope) v\(r.version): wave \(r.reached) passed probation; wave \(r.reached + 1) of \(r.waves): \(next.count) gateways"
        )
        for g in next { await announcer.modelAvailable(gateway: g, model: record, url: modelURL(g)) }
    }

    /// The open alerts about these gateways raised while they ran the rollout's version, by gateway.
    private func alertsSince(members: [RolloutMember]) async throws -> [String: AlertDocument] {
        let since = Dictionary(members.compactMap { m in m.since.map { (m.gateway, $0) } }, uniquingKeysWith: min)
        guard !since.isEmpty else { return [:] }
        var out: [String: AlertDocument] = [:]
        for alert in try await store.openAlerts(gateways: since.keys.sorted())
        where alert.kind != AlertDocument.Kind.rollout {
            guard let g = alert.gateway, let start = since[g], let raised = Instant(iso8601: alert.raisedAt),
                raised.seconds >= start, out[g] == nil
            else { continue }
            out[g] = alert
        }
        return out
    }

    /// Stops the rollout and takes the version back from the current wave (the waves before it keep it).
    private func abort(scope: String, reason: String, numbers: [String: Double]) async throws {
        guard var r = try await store.rollout(scope: scope) else { return }
        r.state = .aborted
        r.reason = reason
        try await store.setRollout(r)
        try await raise(
            kind: AlertDocument.Kind.rollout, subject: scope, scope: scope, gateway: nil, numbers: numbers,
            message: "\(scope) v\(r.version) rollout aborted: \(reason)", at: clock.now().seconds)
        try await announcePrevious(r, toWaves: r.reached...r.reached)
    }

    /// Tells the gateways of these waves to fetch what they should run now (the previous version).
    private func announcePrevious(_ r: Rollout, toWaves waves: ClosedRange<Int>) async throws {
        guard let previous = r.previous, let record = try await store.model(scope: r.scope, version: previous) else {
            return
        }
        for m in try await store.rolloutMembers(scope: r.scope) where waves.contains(m.wave) {
            await announcer.modelAvailable(gateway: m.gateway, model: record, url: modelURL(m.gateway))
        }
    }

    /// An operator's `abort`, `resume` or `rollback` (see `RolloutDocument.Action`); throws `OccupantError` when the
    /// rollout is not in a state the action applies to.
    public func rolloutAction(scope: String, _ action: RolloutDocument.Action, by who: String) async throws
        -> RolloutDocument?
    {
        guard var r = try await store.rollout(scope: scope) else { return nil }
        let now = clock.now().seconds
        switch action {
        case .abort:
            guard r.state == .running else {
                throw OccupantError(
                    .usage,
                    "\(scope) v\(r.version): the rollout is \(r.state.rawValue); only a running one can be aborted")
            }
            try await abort(scope: scope, reason: "aborted by \(who)", numbers: ["version": Double(r.version)])
        case .resume:
            guard r.state == .aborted else {
                throw OccupantError(
                    .usage,
                    "\(scope) v\(r.version): the rollout is \(r.state.rawValue); only an aborted one can be resumed")
            }
            r.state = .running
            r.reason = "resumed by \(who)"
            r.reachedAt = now
            try await store.setRollout(r)
            try await clear(kind: AlertDocument.Kind.rollout, subject: scope, at: now)
            if let record = try await store.model(scope: scope, version: r.version) {
                for m in try await store.rolloutMembers(scope: scope) where m.wave == r.reached {
                    await announcer.modelAvailable(gateway: m.gateway, model: record, url: modelURL(m.gateway))
                }
            }
            logger.notice("\(scope) v\(r.version): rollout resumed by \(who) at wave \(r.reached + 1)")
        case .rollback:
            guard r.state != .rolledBack else {
                throw OccupantError(.usage, "\(scope) v\(r.version): the rollout is already rolled back")
            }
            let reached = r.state == .complete ? r.waves - 1 : r.reached
            r.state = .rolledBack
            r.reason = "rolled back by \(who)"
            try await store.setRollout(r)
            try await store.setAlias(scope: scope, alias: "champion", version: r.previous)
            try await announcePrevious(r, toWaves: 0...reached)
            logger.notice(
                "\(scope) v\(r.version): rolled back by \(who); champion is \(r.previous.map { "v\($0)" } ?? "none")")
        }
        return try await rolloutDocument(scope: scope)
    }

    /// The scope's rollout wave by wave (nil: none yet).
    public func rolloutDocument(scope: String) async throws -> RolloutDocument? {
        guard let r = try await store.rollout(scope: scope) else { return nil }
        let now = clock.now().seconds
        let members = try await store.rolloutMembers(scope: scope)
        let alerts = try await alertsSince(members: members.filter { $0.wave == r.reached })
        var waves: [RolloutDocument.Wave] = []
        for i in 0..<r.waves {
            let gateways = members.filter { $0.wave == i }.map { m in
                RolloutDocument.Member(
                    gateway: m.gateway, state: memberState(m, r, alert: alerts[m.gateway] != nil, now: now),
                    since: m.since.map { Instant(seconds: $0).iso8601 },
                    reason: m.reason ?? alerts[m.gateway]?.message)
            }
            let state: String
            switch r.state {
            case .complete: state = "passed"
            case .rolledBack: state = i <= r.reached ? "rolledBack" : "pending"
            case .running: state = i < r.reached ? "passed" : i == r.reached ? "inProbation" : "pending"
            case .aborted: state = i < r.reached ? "passed" : i == r.reached ? "aborted" : "pending"
            }
            waves.append(
                RolloutDocument.Wave(
                    number: i + 1, state: state,
                    counts: Dictionary(gateways.map { ($0.state, 1) }, uniquingKeysWith: +), gateways: gateways))
        }
        return RolloutDocument(
            scope: scope, version: r.version, previous: r.previous, state: r.state.rawValue, reason: r.reason,
            started: Instant(seconds: r.started).iso8601, probationSeconds: config.promotion.probation,
            abortShare: config.promotion.abortShare, waves: waves)
    }

    private func memberState(_ m: RolloutMember, _ r: Rollout, alert: Bool, now: Double) -> String {
        if m.rolledBackAt != nil { return "rolledBack" }
        if !r.offers(wave: m.wave) {
            let taken = r.state == .rolledBack ? m.wave <= r.reached : r.state == .aborted && m.wave == r.reached
            return taken ? "withdrawn" : "pending"
        }
        if alert { return "alerted" }
        guard let since = m.since else { return "installing" }
        return m.passedAt != nil || now - since >= config.promotion.probation ? "passed" : "inProbation"
    }
}
