import FleetProtocol
import OccupantCore

/// One telemetry row: a gateway's readings at one instant (the gateway's `telemetry` payload).
public struct TelemetryRow: Sendable, Equatable {
    public var gateway: String
    /// Unix seconds.
    public var at: Double
    /// Channel → value; nil where the gateway had no reading.
    public var readings: [String: ChannelValue?]

    public init(gateway: String, at: Double, readings: [String: ChannelValue?]) {
        self.gateway = gateway
        self.at = at
        self.readings = readings
    }
}

/// Ground truth for one gateway's room over a time range `[from, to)`.
public struct LabelRange: Sendable, Equatable {
    public var gateway: String
    public var from: Double
    public var to: Double
    public var occupied: Bool
    /// `http`, `mqtt`, `csv`.
    public var source: String

    public init(gateway: String, from: Double, to: Double, occupied: Bool, source: String) {
        self.gateway = gateway
        self.from = from
        self.to = to
        self.occupied = occupied
        self.source = source
    }
}

/// One model in the registry.
public struct ModelRecord: Sendable, Equatable {
    public var scope: String
    public var version: Int
    public var modelID: String
    public var sha256: String
    public var size: Int
    /// Unix seconds.
    public var created: Double
    public var dataFrom: Double
    public var dataTo: Double
    /// Labelled telemetry rows in the scope when the job started (the retrain trigger counts from here).
    public var labelledRowsSeen: Int
    /// The full evaluation report (JSON): training report, holdout metrics of challenger, champion and rule.
    public var report: String
}

/// A promotion decision and the numbers that made it.
public struct PromotionRecord: Sendable, Equatable {
    public var scope: String
    public var at: Double
    public var challenger: Int
    public var champion: Int?
    public var promoted: Bool
    public var reason: String
}

/// A metric measured for a model at some time (training holdout, or newly labelled data).
public struct MetricRecord: Sendable, Equatable {
    public var scope: String
    public var version: Int
    public var at: Double
    /// `holdout` (at training time), `live` (on rows labelled since promotion).
    public var kind: String
    public var metric: String
    public var value: Double
    public var rows: Int
}

/// What a gateway last reported on its `model/status` topic.
public struct GatewayStatus: Sendable, Equatable {
    public var gateway: String
    public var active: String?
    public var sha256: String?
    public var refused: String?
    public var at: Double
    /// Its spool backlog and process figures when it wrote the status (newer gateways; the dashboard shows them).
    public var spoolBacklog: Int? = nil
    public var process: MonitorDocument.Process? = nil

    public init(gateway: String, active: String?, sha256: String?, refused: String?, at: Double) {
        self.gateway = gateway
        self.active = active
        self.sha256 = sha256
        self.refused = refused
        self.at = at
    }
}

/// A staged rollout of `version` in `scope`, wave by wave: wave `reached` and those before it are offered the new
/// version, later waves keep `previous` until the current wave has passed probation.
public struct Rollout: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Widening wave by wave.
        case running
        /// Stopped (by an operator or because too much of the wave rolled back or raised alerts): the current wave
        /// is back on the previous version, the waves before it keep the new one; `resume` goes on.
        case aborted
        /// Every gateway is back on the previous version (and the champion alias with it); final.
        case rolledBack
        /// Every wave has it.
        case complete
    }

    public var scope: String
    public var version: Int
    public var previous: Int?
    /// How many waves (the last one holds every gateway not named or counted in an earlier one).
    public var waves: Int
    /// The wave being offered the new version now (0-based).
    public var reached: Int
    public var state: State
    /// Why it was aborted, rolled back or resumed, with the numbers.
    public var reason: String?
    /// When the rollout started, and when the current wave was first offered the new version (store clock, seconds).
    public var started: Double
    public var reachedAt: Double

    public init(
        scope: String, version: Int, previous: Int?, waves: Int, reached: Int = 0, state: State = .running,
        reason: String? = nil, started: Double, reachedAt: Double? = nil
    ) {
        self.scope = scope
        self.version = version
        self.previous = previous
        self.waves = waves
        self.reached = reached
        self.state = state
        self.reason = reason
        self.started = started
        self.reachedAt = reachedAt ?? started
    }

    /// Whether a gateway of wave `wave` (nil: not in the rollout's plan, i.e. the last wave) is offered `version`.
    public func offers(wave: Int?) -> Bool {
        let wave = wave ?? (waves - 1)
        switch state {
        case .complete: return true
        case .rolledBack: return false
        case .running: return wave <= reached
        case .aborted: return wave < reached
        }
    }

    /// The version a gateway of wave `wave` should run while the scope's champion is `champion`: the champion,
    /// unless this rollout of it has not reached (or was taken back from) the gateway: then the previous version, or
    /// nil for none.
    public func version(forWave wave: Int?, champion: Int) -> Int? {
        version == champion && !offers(wave: wave) ? previous : champion
    }
}

/// One gateway's part in a rollout: its wave, when it was first seen running the new version, and how it ended
/// there (`rolledBack` with the gateway's guard and reason).
public struct RolloutMember: Sendable, Equatable {
    public var gateway: String
    public var wave: Int
    /// When the gateway first reported running the rollout's version (store clock, seconds).
    public var since: Double?
    /// When the gateway reported it finished probation with the new version (gateway's report), if it does.
    public var passedAt: Double?
    /// When it rolled the version back, and why (`<guard>: <reason>`).
    public var rolledBackAt: Double?
    public var reason: String?

    public init(
        gateway: String, wave: Int, since: Double? = nil, passedAt: Double? = nil, rolledBackAt: Double? = nil,
        reason: String? = nil
    ) {
        self.gateway = gateway
        self.wave = wave
        self.since = since
        self.passedAt = passedAt
        self.rolledBackAt = rolledBackAt
        self.reason = reason
    }
}

/// The server's storage. SQLite through GRDB is the embedded default (`SQLiteStore`); PostgreSQL through postgres-nio
/// (`PostgresStore`) is the store several processes share. `StoreContractTests` runs one suite against both.
public protocol ServerStore: Sendable {
    /// Stores a batch once: a batch id seen before for this gateway stores nothing and answers `duplicate`; rows with
    /// a (gateway, time) already stored are skipped too, so MQTT and HTTP copies of a reading never double up.
    /// A reading of another kind (number or text) than its channel has held for this gateway refuses the whole batch
    /// with an `IntakeError` (400) naming the channel; nothing is stored then.
    func insertTelemetry(gateway: String, batchID: String?, rows: [TelemetryRow]) async throws -> (
        accepted: Int, duplicate: Bool
    )
    func telemetry(gateways: [String], from: Double?) async throws -> [TelemetryRow]
    /// Stores label ranges as disjoint spans per gateway: where a new range overlaps stored spans of the other state
    /// it wins (the newest label is the truth); spans of the same state it overlaps or touches merge into one.
    func insertLabels(_ labels: [LabelRange]) async throws
    /// These gateways' label spans (disjoint per gateway), in time order.
    func labels(gateways: [String]) async throws -> [LabelRange]
    /// Label spans stored for these gateways.
    func labelCount(gateways: [String]) async throws -> Int
    /// Telemetry rows of these gateways that fall inside some label span (indexed: spans + labelled rows, not their
    /// product).
    func labelledRowCount(gateways: [String]) async throws -> Int
    func telemetryCount() async throws -> Int

    func addModel(_ model: ModelRecord) async throws
    func models(scope: String?) async throws -> [ModelRecord]
    func model(scope: String, version: Int) async throws -> ModelRecord?
    func nextVersion(scope: String) async throws -> Int
    func setAlias(scope: String, alias: String, version: Int?) async throws
    func alias(scope: String, alias: String) async throws -> Int?

    func addPromotion(_ record: PromotionRecord) async throws
    func promotions(scope: String?) async throws -> [PromotionRecord]
    func addMetric(_ record: MetricRecord) async throws
    func metrics(scope: String?) async throws -> [MetricRecord]

    /// Starts a rollout: replaces the scope's rollout and its members.
    func startRollout(_ rollout: Rollout, members: [RolloutMember]) async throws
    /// Updates the scope's rollout (its state, wave, reason).
    func setRollout(_ rollout: Rollout) async throws
    func rollout(scope: String) async throws -> Rollout?
    /// The scope's rollout members, by wave then gateway.
    func rolloutMembers(scope: String) async throws -> [RolloutMember]
    /// One gateway's record in the scope's rollout, if it has one.
    func rolloutMember(scope: String, gateway: String) async throws -> RolloutMember?
    /// Updates one member's record (its wave stays).
    func setRolloutMember(scope: String, _ member: RolloutMember) async throws
    /// The model `gateway` of `scope` should run: the champion of `room` (the gateway's room-model scope; nil when
    /// room models are off) if it has one, else the scope's champion, or the previous one while a staged rollout has
    /// not reached this gateway; nil when there is none. One read, for the poll path.
    func assignedModel(scope: String, gateway: String, room: String?) async throws -> ModelRecord?
    /// Those of `scopes` whose `alias` names a version (one read: a rollout step asks it of a whole wave's rooms).
    func scopes(_ scopes: [String], withAlias alias: String) async throws -> Set<String>

    func setGatewayStatus(_ status: GatewayStatus) async throws
    func gatewayStatuses() async throws -> [GatewayStatus]
    /// Stores a rollback a gateway reported; false when it was stored already (a retained status again).
    func addRollback(_ rollback: ModelRollbackRecord) async throws -> Bool
    /// The rollbacks of `gateway` (or all), oldest first.
    func rollbacks(gateway: String?) async throws -> [ModelRollbackRecord]

    /// Every alert of `scope` (or all), oldest first: when it was raised and what it said.
    func alerts(scope: String?) async throws -> [(at: Double, message: String)]
    /// Opens an alert for (kind, subject) unless one is open already: the new alert, or nil when one was open.
    func raiseAlert(
        kind: String, subject: String, scope: String, gateway: String?, numbers: [String: Double], message: String,
        at: Double
    ) async throws -> AlertDocument?
    /// Clears the open alert for (kind, subject): the cleared alert, or nil when none was open.
    func clearAlert(kind: String, subject: String, at: Double) async throws -> AlertDocument?
    /// The subjects of `gateway`'s open alerts of `kind`.
    func openAlertSubjects(kind: String, gateway: String) async throws -> [String]
    /// All alerts, or only the open ones, oldest first.
    func alertDocuments(open: Bool) async throws -> [AlertDocument]
    /// The open alerts about these gateways, oldest first (indexed: `alerts_open_gateway`; the rollout step reads only
    /// its wave's).
    func openAlerts(gateways: [String]) async throws -> [AlertDocument]
    /// The open alerts of `kind`, oldest first (indexed: `alerts_open`).
    func openAlerts(kind: String) async throws -> [AlertDocument]
    /// How many alerts are open, by kind (from the index of open alerts, not the alerts themselves).
    func openAlertCounts() async throws -> [String: Int]
    /// Marks an alert acknowledged (the first acknowledgement stands): the alert, or nil when there is no such id.
    func acknowledgeAlert(id: Int, by: String, at: Double) async throws -> AlertDocument?
    /// When each gateway was last heard from (telemetry or status), by the store's clock.
    func gatewaysLastSeen() async throws -> [String: Double]

    /// Stores a gateway's monitor window once per (gateway, window start): the same window again (a retained message
    /// delivered on every reconnect) replaces it. The document must have been checked (`Intake.monitor`).
    func insertMonitor(_ document: MonitorDocument) async throws
    /// A gateway's stored monitor windows whose window ends after `since` (all when nil), oldest first.
    func monitorWindows(gateway: String, since: Double?) async throws -> [MonitorDocument]
    /// A gateway's newest `last` stored monitor windows, oldest first (an indexed read: the alert checks after every
    /// window must not read the whole history).
    func monitorWindows(gateway: String, last: Int) async throws -> [MonitorDocument]
    /// Records the realised accuracy of `gateway`'s stored window starting at `windowFrom` (replacing an earlier
    /// measurement); nothing when no such window is stored.
    func setRealised(gateway: String, windowFrom: Double, _ realised: MonitorDocument.Realised) async throws
    /// One gateway's telemetry rows with `from ≤ at < to`, in time order.
    func telemetry(gateway: String, from: Double, to: Double) async throws -> [TelemetryRow]
    /// The newest stored window of each of these gateways whose window ends after `endingAfter`, newest first, with
    /// the realised accuracy of the gateway's newest measured window (labels come later than windows).
    func latestMonitorWindows(gateways: [String], endingAfter: Double) async throws -> [(
        window: MonitorDocument, realised: MonitorDocument.Realised?
    )]

    /// The dashboard's Fleet screen: the configured gateways counted by state and active model, and one page of them
    /// filtered and sorted in the store (never the whole table in memory).
    func fleet(_ query: FleetQuery, configured: FleetRoster, now: Double, onlineWithin: Double, probation: Double)
        async throws -> FleetDocument
    /// When `gateway`'s newest stored monitor window ends (its clock), or nil without any.
    func monitorWindowsEnd(gateway: String) async throws -> Double?
    /// The newest `limit` cleared alerts, newest first.
    func clearedAlerts(limit: Int) async throws -> [AlertDocument]

    /// `gateway`'s label spans that overlap `[from, to)`, in time order (the Gateway screen's timeline).
    func labels(gateway: String, from: Double, to: Double) async throws -> [LabelRange]
    /// Where the model `gateway`'s monitor windows name (`decidedBy`) changed: the start of the first window and of
    /// each window whose `decidedBy` differs from the one before; the newest `limit`, oldest first.
    func modelChanges(gateway: String, limit: Int) async throws -> [(at: Double, decidedBy: String?)]
    /// `gateway`'s last status, if it sent one.
    func gatewayStatus(gateway: String) async throws -> GatewayStatus?
    /// A scope's versions without their reports, oldest first (see `ModelSummary`; a default decodes the reports).
    func modelSummaries(scope: String) async throws -> [ModelSummary]
    /// Distinct gateways that rolled back each bundle, by SHA-256 (a default reads every rollback).
    func rolledBackGateways() async throws -> [String: Int]
    /// Distinct gateways that rolled back the bundle `sha256` (indexed: one model's page does not group every
    /// rollback).
    func rolledBackGateways(sha256: String) async throws -> Int
    /// The gateway's windows ending within `span` seconds of its newest that carry a shadow section, with only
    /// `decidedBy` and `shadow` guaranteed (a default reads whole windows).
    func shadowWindows(gateway: String, span: Double) async throws -> [MonitorDocument]
}

extension ServerStore {
    /// The scope's assignment for `gateway`, room models aside (the fleet model).
    public func assignedModel(scope: String, gateway: String) async throws -> ModelRecord? {
        try await assignedModel(scope: scope, gateway: gateway, room: nil)
    }
}
