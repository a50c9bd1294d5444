import Crypto
import Evaluator
import Foundation
import OccupantCore
import Training

/// Room models: a gateway (a room) with enough labels of its own (`retrain.rooms`) gets a model trained on its
/// stream alone, assigned to it only when it beats the fleet model — the scope's model, which a room without one
/// runs — on the room's latest held-out rows, none of which either model trained on. Each is stored as a version of
/// the scope `room:<gateway>`, whose `champion` alias is the room's assignment.
extension ModelRegistry {
    /// The registry scope holding `gateway`'s room models.
    public static func roomScope(_ gateway: String) -> String { "room:\(gateway)" }

    /// How many label spans there are, and on how many different UTC days they fall (a span over midnight counts
    /// on each day it covers).
    public static func labelCoverage(_ labels: [LabelRange]) -> (spans: Int, days: Int) {
        var days = Set<Int64>()
        for label in labels where label.to > label.from {
            let first = Int64((label.from / 86_400).rounded(.down))
            let last = Int64((label.to.nextDown / 86_400).rounded(.down))
            for d in first...min(last, first + 3660) { days.insert(d) }
        }
        return (labels.count, days.count)
    }

    /// The model `gateway` runs without a room model: its scope's assignment (the fleet model).
    func fleetModel(for gateway: String) async throws -> ModelRecord? {
        guard let scope = config.gateway(gateway)?.scope else { return nil }
        return try await store.assignedModel(scope: scope, gateway: gateway)
    }

    /// The room model assigned to `gateway`, if any (nil when room models are off).
    nonisolated func roomModel(for gateway: String) async throws -> ModelRecord? {
        guard config.retrain.rooms.enabled else { return nil }
        let scope = Self.roomScope(gateway)
        guard let version = try await store.alias(scope: scope, alias: "champion") else { return nil }
        return try await store.model(scope: scope, version: version)
    }

    /// Those of `gateways` that run a room model (one read).
    func gatewaysWithRoomModels(_ gateways: [String]) async throws -> Set<String> {
        guard config.retrain.rooms.enabled, !gateways.isEmpty else { return [] }
        let roomed = try await store.scopes(gateways.map(Self.roomScope), withAlias: "champion")
        return Set(gateways.filter { roomed.contains(Self.roomScope($0)) })
    }

    /// After a scope's job: a room model for each of its gateways with enough labels. A failure in one room is
    /// logged and the others go on.
    func trainRooms(scope: String, trigger: String, signing: (key: Curve25519.Signing.PrivateKey, keyID: String))
        async
    {
        guard config.retrain.rooms.enabled else { return }
        for gateway in gateways(in: scope).sorted() {
            do {
                _ = try await trainRoom(gateway: gateway, trigger: trigger, signing: signing)
            } catch {
                logger.warning("\(scope): room model of \(gateway) failed: \(error)")
            }
        }
    }

    /// Trains `gateway`'s room model when it has enough labels, and decides: the room model is assigned to the
    /// gateway only when it beats the fleet model by the promotion rule on the room's held-out rows; else the room
    /// has (or goes back to) the fleet model. Returns the decision, or nil when the room is not eligible.
    @discardableResult
    public func trainRoom(
        gateway: String, trigger: String, signing: (key: Curve25519.Signing.PrivateKey, keyID: String)? = nil
    ) async throws -> RoomDecision? {
        guard let scope = config.gateway(gateway)?.scope else { return nil }
        guard let signing = signing ?? self.signing else {
            throw OccupantError(.configuration, "signingKey: not set; the server cannot sign models")
        }
        let rule = config.retrain.rooms
        let coverage = Self.labelCoverage(try await store.labels(gateways: [gateway]))
        guard coverage.spans >= rule.labels, coverage.days >= rule.days else { return nil }
        let roomScope = Self.roomScope(gateway)
        let now = clock.now().seconds
        let streams = try await streamsTable(gateways: [gateway])
        guard let table = streams.table else { return nil }
        let fleetRecord = try await fleetModel(for: gateway)
        let fleet = try fleetRecord.map {
            RetrainJob.Champion(
                version: $0.version, bundle: try ModelBundle.decode(try artifacts.get(sha256: $0.sha256)))
        }
        let previous = try await store.alias(scope: roomScope, alias: "champion")
        let version = try await store.nextVersion(scope: roomScope)
        var job = RetrainJob(
            scope: scope, version: version, table: table, holdout: config.retrain.holdout,
            trials: config.retrain.trials, seed: config.retrain.seed,
            promotion: PromotionRule(metric: config.promotion.metric, margin: config.promotion.margin),
            champion: fleet, signingKey: signing.key, keyID: signing.keyID)
        job.notBefore = fleetRecord.map { Instant(seconds: $0.dataTo) }
        job.manifestScope = .init(kind: .room, id: gateway)
        job.modelID = "occupancy-\(scope)-\(gateway)"
        let progress = TrainingProgress()
        training[roomScope] = progress
        defer { training[roomScope] = nil }
        let result: RetrainJob.Result
        switch try await job.run(progress: progress) {
        case .refused(let reason):
            // No model, so nothing changes: the room keeps what it runs.
            let decision = RoomDecision(
                gateway: gateway, at: Instant(seconds: now).iso8601, assigned: false, reason: reason,
                fleetVersion: fleetRecord?.version)
            roomRefusals[gateway] = decision
            logger.info("\(scope): room model of \(gateway): \(reason)")
            return decision
        case .trained(let trained):
            result = trained
        }
        roomRefusals[gateway] = nil
        let sha = try artifacts.put(result.bytes)
        let reason =
            (result.promote ? "room model assigned: " : "fleet model kept: ")
            + result.reason.replacingOccurrences(of: "challenger", with: "room model").replacingOccurrences(
                of: "champion", with: "fleet model")
        let (record, report) = try await storeModel(
            result, scope: roomScope, gateway: gateway, trigger: trigger, version: version, sha: sha, table: table,
            seen: table.labelledCount, reason: reason, skipped: streams.skipped, contributions: streams.contributions,
            now: now)
        try await store.addPromotion(
            PromotionRecord(
                scope: roomScope, at: now, challenger: version, champion: previous, promoted: result.promote,
                reason: reason))
        try await store.setAlias(scope: roomScope, alias: "champion", version: result.promote ? version : nil)
        logger.info("\(scope): \(gateway) v\(version): \(reason)")
        // The gateway hears of a change of its model: the new room model, or the fleet model back.
        if result.promote {
            await announcer.modelAvailable(gateway: gateway, model: record, url: modelURL(gateway))
        } else if previous != nil, let fleetRecord {
            await announcer.modelAvailable(gateway: gateway, model: fleetRecord, url: modelURL(gateway))
        }
        return RoomDecision(
            gateway: gateway, at: Instant(seconds: now).iso8601, assigned: result.promote, reason: reason,
            fleetVersion: fleetRecord?.version, roomVersion: version, holdout: RoomHoldout(report.holdout))
    }

    /// `GET /v1/scopes/{scope}/rooms`: each gateway's labels against `retrain.rooms`, what it runs, and the last
    /// room decision (fleet vs room model on the room's held-out rows, and why).
    public func roomsDocument(scope: String) async throws -> RoomsDocument {
        let rule = config.retrain.rooms
        var rooms: [RoomsDocument.Room] = []
        for gateway in gateways(in: scope).sorted() {
            let coverage = Self.labelCoverage(try await store.labels(gateways: [gateway]))
            let roomScope = Self.roomScope(gateway)
            let room = try await roomModel(for: gateway)
            let fleet = try await fleetModel(for: gateway)
            var last: RoomDecision? = roomRefusals[gateway]
            if last == nil, let record = try await store.models(scope: roomScope).max(by: { $0.version < $1.version }),
                let report = try? Self.decodeReport(record.report)
            {
                last = RoomDecision(
                    gateway: gateway, at: Instant(seconds: record.created).iso8601, assigned: report.promoted,
                    reason: report.reason, fleetVersion: report.holdout.champion?.version,
                    roomVersion: record.version, holdout: RoomHoldout(report.holdout))
            }
            let eligible = coverage.spans >= rule.labels && coverage.days >= rule.days
            rooms.append(
                RoomsDocument.Room(
                    gateway: gateway, labelSpans: coverage.spans, labelledDays: coverage.days, eligible: eligible,
                    waiting: eligible
                        ? nil
                        : "\(coverage.spans) of \(rule.labels) label spans, on \(coverage.days) of \(rule.days) days",
                    runs: room.map { "room v\($0.version)" } ?? fleet.map { "fleet v\($0.version)" },
                    runsSha256: (room ?? fleet)?.sha256, last: last))
        }
        return RoomsDocument(
            scope: scope, enabled: rule.enabled, labels: rule.labels, days: rule.days,
            metric: config.promotion.metric.rawValue, margin: config.promotion.margin, rooms: rooms)
    }

    static func decodeReport(_ text: String) throws -> RetrainReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(RetrainReport.self, from: Data(text.utf8))
    }
}

/// One room decision: fleet model vs room model on the room's held-out rows.
public struct RoomDecision: Codable, Sendable {
    public var gateway: String
    public var at: String
    /// Whether the room model was assigned to the gateway.
    public var assigned: Bool
    public var reason: String
    public var fleetVersion: Int?
    /// The room model trained (nil when the job refused).
    public var roomVersion: Int?
    /// The held-out rows and both models' metrics on them, and the static rule's.
    public var holdout: RoomHoldout?
}

/// The room's held-out window and how the room model, the fleet model and the static rule did on it.
public struct RoomHoldout: Codable, Sendable {
    /// Metrics at the model's own threshold; nil where undefined (AUC on one class).
    public struct Scores: Codable, Sendable {
        public var rows: Int
        public var accuracy: Double?
        public var f1: Double?
        public var auc: Double?

        init(_ m: BinaryMetrics) {
            func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }
            rows = m.rows
            accuracy = finite(m.accuracy)
            f1 = finite(m.f1)
            auc = finite(m.auc)
        }
    }

    public var from: String
    public var to: String
    public var rows: Int
    public var room: Scores
    public var fleet: Scores?
    public var fleetVersion: Int?
    public var rule: String?
    public var ruleScores: Scores?

    init(_ h: RetrainReport.Holdout) {
        from = h.from
        to = h.to
        rows = h.rows
        room = Scores(h.challenger)
        fleet = h.champion.map { Scores($0.metrics) }
        fleetVersion = h.champion?.version
        rule = h.rule?.rule
        ruleScores = h.rule.map { Scores($0.metrics) }
    }
}

/// The per-room report of a scope.
public struct RoomsDocument: Codable, Sendable {
    public struct Room: Codable, Sendable {
        public var gateway: String
        public var labelSpans: Int
        public var labelledDays: Int
        public var eligible: Bool
        /// What is missing before a room model is trained (nil when eligible).
        public var waiting: String?
        /// `room v3` or `fleet v7`: the model the gateway is assigned (nil: none yet).
        public var runs: String?
        public var runsSha256: String?
        public var last: RoomDecision?
    }

    public var scope: String
    public var enabled: Bool
    public var labels: Int
    public var days: Int
    public var metric: String
    public var margin: Double
    public var rooms: [Room]
}
