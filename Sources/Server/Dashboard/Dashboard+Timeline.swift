import Evaluator
import FleetProtocol
import Foundation
import Hummingbird
import OccupantCore

/// The Gateway screen's data (`GatewayTimeline`): one gateway's last hours, read through indexed, bounded queries
/// (its windows, its telemetry rows and label spans of the span, its rollbacks and status), the published states
/// replayed as realised accuracy replays them (`ModelRegistry.replay`).
extension Dashboard {
    static let maxTimelineHours = 168
    /// Model changes and rollbacks listed in the history.
    static let modelHistoryLimit = 50

    func timeline(gateway id: String, scope: String, hours: Int) async throws -> GatewayTimeline {
        // The span up to its newest window (a gateway's clock may run apart from the server's).
        let to = try await store.monitorWindowsEnd(gateway: id) ?? clock.now().seconds
        let from = to - Double(hours) * 3600
        let windows = try await store.monitorWindows(gateway: id, since: from)
        let labels = try await store.labels(gateway: id, from: from, to: to)

        // Runs of windows naming the same decider, clipped to the span.
        var segments: [(from: Double, to: Double, decidedBy: String?)] = []
        for w in windows {
            guard let f = w.window.from.seconds, let t = w.window.to.seconds else { continue }
            if let last = segments.last, last.decidedBy == w.decidedBy, f - last.to < 1 {
                segments[segments.count - 1].to = t
            } else {
                segments.append((f, t, w.decidedBy))
            }
        }
        segments = segments.map { (max($0.from, from), min($0.to, to), $0.decidedBy) }.filter { $0.to > $0.from }

        var bundles: [String: (bundle: ModelBundle, sha256: String)?] = [:]
        for s in segments {
            guard let model = ModelRegistry.modelReference(s.decidedBy), bundles[model.text] == nil else { continue }
            bundles[model.text] = try await replayBundle(scope: scope, model: model)
        }
        let leadIn = bundles.values.compactMap { $0 }.map { ModelRegistry.leadIn($0.bundle) }.max() ?? 0
        let rows = try await store.telemetry(gateway: id, from: from - leadIn, to: to)
        let digests = bundles.values.contains(where: { $0 != nil }) ? rows.map(ReplayCache.digest) : []

        var states: [GatewayTimeline.StateRun] = []
        var gaps: [GatewayTimeline.Gap] = []
        var probabilities: [(at: Double, value: Double)] = []
        var replayed: [String] = []
        if segments.isEmpty {
            gaps.append(
                .init(
                    from: from, to: to, decidedBy: nil,
                    reason: "no monitor window in this span names the model that decided"))
        }
        for s in segments {
            guard let model = ModelRegistry.modelReference(s.decidedBy) else {
                gaps.append(
                    .init(
                        from: s.from, to: s.to, decidedBy: s.decidedBy,
                        reason: "decided by \(s.decidedBy ?? "nothing named"): the server keeps no rule to replay"))
                continue
            }
            guard let (bundle, sha256) = bundles[model.text] ?? nil else {
                gaps.append(
                    .init(
                        from: s.from, to: s.to, decidedBy: s.decidedBy,
                        reason: "the registry has no bundle \(model.text.dropFirst(6)) to replay"))
                continue
            }
            let segment = try replay(
                gateway: id, bundle: bundle, sha256: sha256, rows: rows, digests: digests, from: s.from, to: s.to)
            // Hours that could not be replayed (no telemetry with the bundle's channels), joined.
            var missing: [(from: Double, to: Double)] = []
            for hour in segment.hours where hour.replay == nil {
                if let last = missing.last, last.to == hour.from {
                    missing[missing.count - 1].to = hour.to
                } else {
                    missing.append((hour.from, hour.to))
                }
            }
            for m in missing {
                gaps.append(
                    .init(
                        from: m.from, to: m.to, decidedBy: s.decidedBy,
                        reason: "no telemetry with the channels \(model.text.dropFirst(6)) needs"))
            }
            guard segment.hours.contains(where: { $0.replay != nil }) else { continue }
            if replayed.last != model.text { replayed.append(model.text) }
            // Runs of one state, cut where an hour could not be replayed.
            var run: (from: Double, occupied: Bool?)? = nil
            for hour in segment.hours {
                guard let r = hour.replay else {
                    if let open = run {
                        states.append(.init(from: open.from, to: hour.from, occupied: open.occupied, model: model.text))
                    }
                    run = nil
                    continue
                }
                for i in r.times.indices {
                    let at = r.times[i]
                    if !r.probabilities[i].isNaN { probabilities.append((at, r.probabilities[i])) }
                    if let open = run, open.occupied != r.states[i] {
                        states.append(.init(from: open.from, to: at, occupied: open.occupied, model: model.text))
                        run = (at, r.states[i])
                    } else if run == nil {
                        run = (at, r.states[i])
                    }
                }
            }
            if let open = run {
                states.append(.init(from: open.from, to: s.to, occupied: open.occupied, model: model.text))
            }
        }
        let shadowRuns = Self.coarsen(
            windows.flatMap { $0.shadow?.runs ?? [] }.filter { $0.to >= from && $0.from < to }, span: to - from,
            from: \ShadowWindow.Run.from, to: \.to,
            extend: {
                $0.to = $1.to
                $0.n += $1.n
                if $0.shadow != $1.shadow { $0.shadow = nil }
                if $0.active != $1.active { $0.active = nil }
            })
        var shadowModels: [String] = []
        for m in windows.compactMap(\.shadow?.model) where shadowModels.last != m { shadowModels.append(m) }

        let inSpan = rows.filter { $0.at >= from }
        let names = Set(inSpan.flatMap(\.readings.keys)).sorted()
        let channels = names.map { name -> GatewayTimeline.Channel in
            var numbers: [(at: Double, value: Double)] = []
            var changes: [GatewayTimeline.Channel.Change] = []
            var count = 0
            for row in inSpan {
                guard let value = row.readings[name] ?? nil else { continue }
                count += 1
                switch value {
                case .number(let v): numbers.append((row.at, v))
                case .category(let text):
                    if changes.last?.value != text { changes.append(.init(at: row.at, value: text)) }
                }
            }
            return .init(
                name: name, rows: count, buckets: Self.buckets(numbers, from: from, to: to),
                changes: Array(changes.suffix(GatewayTimeline.maxPoints)))
        }

        let history = try await modelHistory(gateway: id, scope: scope)
        let newest = windows.last
        let status = try await store.gatewayStatus(gateway: id)
        // CPU, RSS and uptime from its newest window (sent every window), else from its status (newer gateways send
        // them with each status); the spool backlog only comes with the status.
        let figures = newest?.process ?? status?.process
        let figuresAt = newest == nil ? (status?.process == nil ? nil : status?.at) : newest?.window.to.seconds
        var timeline = GatewayTimeline(
            gateway: id, scope: scope, from: from, to: to, replayedWith: replayed,
            states: Self.coarsen(
                states, span: to - from, from: \GatewayTimeline.StateRun.from, to: \.to,
                extend: Self.merge),
            probability: Self.buckets(probabilities, from: from, to: to), unreplayed: gaps,
            labels: labels.map {
                .init(
                    from: max($0.from, from), to: min($0.to, to), occupied: $0.occupied, source: $0.source,
                    correction: $0.source.split(separator: ":").last.map(String.init) == LabelDocument.correctionSource)
            },
            shadow: shadowRuns, shadowModels: shadowModels, channels: channels,
            accuracy: windows.suffix(Self.maxWindows).compactMap { w in
                w.window.to.seconds.map {
                    .init(
                        to: $0, estimated: w.expectedAccuracy, realised: w.realised?.accuracy,
                        realisedRows: w.realised?.rows)
                }
            }, history: history,
            process: .init(
                at: figuresAt, cpuSeconds: figures?.cpuSeconds, rssBytes: figures?.rssBytes,
                uptimeSeconds: figures?.uptimeSeconds, spoolBacklog: status?.spoolBacklog))
        timeline.overrides = Self.overrides(windows, from: from, to: to)
        return timeline
    }

    /// The windows' override spans clipped to the span, a span cut at a window's edge joined again.
    static func overrides(_ windows: [MonitorDocument], from: Double, to: Double) -> [GatewayTimeline.Override] {
        var spans: [GatewayTimeline.Override] = []
        for w in windows {
            for o in w.overrides ?? [] {
                guard let f = o.from.seconds, let t = o.to.seconds, t > from, f < to else { continue }
                let span = GatewayTimeline.Override(from: max(f, from), to: min(t, to), occupied: o.occupied)
                if let last = spans.last, last.occupied == span.occupied, span.from - last.to < 1 {
                    spans[spans.count - 1].to = span.to
                } else {
                    spans.append(span)
                }
            }
        }
        return spans
    }

    /// The gateway's model history: the models its windows named, its rollbacks, its probation in the scope's
    /// rollout and its last refusal, oldest first.
    func modelHistory(gateway id: String, scope: String) async throws -> [GatewayTimeline.Event] {
        var events: [GatewayTimeline.Event] = try await store.modelChanges(gateway: id, limit: Self.modelHistoryLimit)
            .map {
                .init(
                    at: $0.at, kind: "decides",
                    model: $0.decidedBy.map { $0.hasPrefix("model:") ? String($0.dropFirst(6)) : $0 },
                    version: ModelRegistry.modelReference($0.decidedBy)?.version,
                    detail: "its monitor windows name \($0.decidedBy ?? "no decider")")
            }
        for r in try await store.rollbacks(gateway: id).suffix(Self.modelHistoryLimit) {
            events.append(
                .init(
                    at: r.at, kind: "rolledBack", model: r.version.map { "v\($0)" }, version: r.version,
                    detail: "\(r.guardName): \(r.reason)"))
        }
        if let rollout = try await store.rollout(scope: scope),
            let member = try await store.rolloutMember(scope: scope, gateway: id)
        {
            if let since = member.since {
                events.append(
                    .init(
                        at: since, kind: "probation", model: "v\(rollout.version)", version: rollout.version,
                        detail: "wave \(member.wave + 1) of the rollout: first reported running it"))
            }
            if let passed = member.passedAt {
                events.append(
                    .init(
                        at: passed, kind: "probation", model: "v\(rollout.version)", version: rollout.version,
                        detail: "passed probation"))
            }
        }
        if let status = try await store.gatewayStatus(gateway: id), let refused = status.refused {
            events.append(.init(at: status.at, kind: "refused", model: nil, version: nil, detail: refused))
        }
        return events.sorted { $0.at < $1.at }
    }

    /// Runs drawn per lane before short ones are merged.
    static let maxRuns = 1000

    /// At most about `maxRuns` runs: when there are more (a flapping model), runs are merged in time order until each
    /// lasts at least `span / maxRuns` (about a pixel); `extend` merges the next run into the current one.
    static func coarsen<Run>(
        _ runs: [Run], span: Double, from: (Run) -> Double, to: (Run) -> Double, extend: (inout Run, Run) -> Void
    ) -> [Run] {
        guard runs.count > maxRuns else { return runs }
        let shortest = span / Double(maxRuns)
        var out: [Run] = []
        for run in runs {
            if let last = out.last, to(last) - from(last) < shortest {
                extend(&out[out.count - 1], run)
            } else {
                out.append(run)
            }
        }
        return out
    }

    /// Merges run `b` into `a` (`coarsen`): `a` lasts until `b` ends, counts both, and has no state if theirs differ.
    static func merge(_ a: inout GatewayTimeline.StateRun, _ b: GatewayTimeline.StateRun) {
        a.to = b.to
        a.merged = (a.merged ?? 1) + (b.merged ?? 1)
        if a.occupied != b.occupied { a.occupied = nil }
    }

    /// `values` in at most `GatewayTimeline.maxPoints` buckets of `[from, to)`: each non-empty bucket's min, max, mean.
    static func buckets(_ values: [(at: Double, value: Double)], from: Double, to: Double) -> [GatewayTimeline.Bucket] {
        let count = GatewayTimeline.maxPoints
        let width = max(to - from, 1) / Double(count)
        var out: [GatewayTimeline.Bucket] = []
        var i = 0
        while i < values.count {
            let b = min(count - 1, max(0, Int((values[i].at - from) / width)))
            var low = values[i].value
            var high = low
            var sum = 0.0
            var n = 0
            while i < values.count && min(count - 1, max(0, Int((values[i].at - from) / width))) == b {
                low = min(low, values[i].value)
                high = max(high, values[i].value)
                sum += values[i].value
                n += 1
                i += 1
            }
            let start = from + Double(b) * width
            out.append(.init(from: start, to: start + width, min: low, max: high, mean: sum / Double(n), rows: n))
        }
        return out
    }

    /// `GET /v1/gateways/{id}/timeline?hours=N` — the Gateway screen's data (admin or viewer token, or a session).
    func timelineJSON(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try requireReader(request)
        let raw = context.parameters.get("id") ?? ""
        guard let id = API.decodePathSegment(raw), let gateway = config.gateway(id) else {
            throw APIError(.notFound, "unknown gateway '\(raw.prefix(64))'")
        }
        return try Response.json(try await timeline(gateway: id, scope: gateway.scope, hours: try hours(request)))
    }

    /// `hours=` of the Gateway screen: 1…168, 24 when absent.
    func hours(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters["hours"].map(String.init), !text.isEmpty else {
            return Int(Self.gatewayHours)
        }
        guard let n = Int(text), (1...Self.maxTimelineHours).contains(n) else {
            throw APIError(.badRequest, "hours=\(text.prefix(32)): expected 1 to \(Self.maxTimelineHours)")
        }
        return n
    }

    /// A read of the dashboard's data: the admin token, the viewer token, or a dashboard session.
    func requireReader(_ request: Request) throws {
        if session(request) != nil { return }
        if let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            let viewer = config.dashboard.viewerTokenHash,
            constantTimeEqual(tokenHash(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)), viewer)
        {
            return
        }
        try access.requireAdmin(request)
    }
}
