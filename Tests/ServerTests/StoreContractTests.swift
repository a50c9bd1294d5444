import FleetProtocol
import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// The stores under test: each contract test runs on both.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// A fresh, empty store of `kind`: SQLite in a temporary file, or a database of its own on the test process's
/// PostgreSQL (started once by `PostgresServer`).
struct StoreUnderTest {
    let store: any ServerStore
    let clock: ManualClock
    let close: @Sendable () -> Void

    static func make(_ kind: StoreKind) async throws -> StoreUnderTest {
        let clock = ManualClock(Instant(seconds: 1_767_600_000))
        switch kind {
        case .sqlite:
            let dir = try temporaryDirectory("store-contract")
            let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path, clock: clock)
            return StoreUnderTest(store: store, clock: clock, close: {})
        case .postgres:
            let store = try await postgresStore(clock: clock)
            return StoreUnderTest(store: store, clock: clock, close: { store.close() })
        }
    }

    static func postgresStore(clock: any WallClock = SystemClock(), database: String? = nil) async throws
        -> PostgresStore
    {
        let (server, fresh) = try await PostgresServer.sharedDatabase()
        var settings = ServerConfig.Postgres()
        settings.port = server.port
        settings.user = server.user
        settings.database = database ?? fresh
        settings.tls = .disable
        let store = try PostgresStore(settings, clock: clock)
        try await store.ready()
        return store
    }
}

@Suite struct StoreContractTests {
    static let g = "gw-a"

    static func row(_ at: Double, sound: Double? = 12.5, hvac: String? = "heating") -> TelemetryRow {
        TelemetryRow(
            gateway: g, at: at, readings: ["sound": sound.map { .number($0) }, "hvac": hvac.map { .category($0) }])
    }

    // MARK: Telemetry

    @Test(arguments: StoreKind.allCases)
    func telemetryIsStoredOncePerBatchAndPerInstant(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        let first = try await s.insertTelemetry(gateway: Self.g, batchID: "b1", rows: [Self.row(100), Self.row(110)])
        #expect(first.accepted == 2 && !first.duplicate)
        // The same batch again (the answer was lost): nothing stored, `duplicate`.
        let again = try await s.insertTelemetry(gateway: Self.g, batchID: "b1", rows: [Self.row(100), Self.row(120)])
        #expect(again.accepted == 0 && again.duplicate)
        // Another batch overlapping in time, and an MQTT row without a batch id: only the new instants.
        let second = try await s.insertTelemetry(
            gateway: Self.g, batchID: "b2", rows: [Self.row(110), Self.row(120, sound: nil, hvac: "off")])
        #expect(second.accepted == 1 && !second.duplicate)
        let mqtt = try await s.insertTelemetry(gateway: Self.g, batchID: nil, rows: [Self.row(130, sound: 0)])
        #expect(mqtt.accepted == 1)
        let mqttAgain = try await s.insertTelemetry(gateway: Self.g, batchID: nil, rows: [Self.row(130, sound: 0)])
        #expect(mqttAgain.accepted == 0 && !mqttAgain.duplicate)
        // Another gateway's rows at the same instants are its own; the same batch id on another gateway too.
        let other = try await s.insertTelemetry(
            gateway: "gw-b", batchID: "b1",
            rows: [TelemetryRow(gateway: "gw-b", at: 100, readings: ["co2": .number(415), "door": nil])])
        #expect(other.accepted == 1 && !other.duplicate)

        #expect(try await s.telemetryCount() == 5)
        let rows = try await s.telemetry(gateways: [Self.g], from: nil)
        #expect(rows.map(\.at) == [100, 110, 120, 130])
        #expect(rows[0] == Self.row(100))
        #expect(rows[2].readings["sound"]! == nil && rows[2].readings["hvac"]! == .category("off"))
        #expect(rows[3].readings["sound"]! == .number(0))
        #expect(try await s.telemetry(gateways: [Self.g, "gw-b"], from: 115).map(\.at) == [120, 130])
        let b = try await s.telemetry(gateways: ["gw-b"], from: nil)
        #expect(b == [TelemetryRow(gateway: "gw-b", at: 100, readings: ["co2": .number(415), "door": nil])])
        #expect(try await s.telemetry(gateway: Self.g, from: 110, to: 130).map(\.at) == [110, 120])
        #expect(try await s.telemetry(gateway: "gw-z", from: 0, to: 1_000).isEmpty)
        // Odd values survive the round trip exactly.
        let odd = TelemetryRow(
            gateway: "gw-c", at: 1.5,
            readings: [
                "tiny": .number(5e-324), "big": .number(-1.797_693_134_862_315_7e308), "name": .category("Küche ☕︎ 'x'"),
                "empty": .category(""),
            ])
        _ = try await s.insertTelemetry(gateway: "gw-c", batchID: "o", rows: [odd])
        #expect(try await s.telemetry(gateway: "gw-c", from: 0, to: 2) == [odd])
    }

    @Test(arguments: StoreKind.allCases)
    func aReadingOfTheWrongKindRefusesTheWholeBatch(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        _ = try await s.insertTelemetry(gateway: Self.g, batchID: "b1", rows: [Self.row(100)])
        let bad = [
            Self.row(200),
            TelemetryRow(gateway: Self.g, at: 210, readings: ["sound": .category("loud"), "lux": .number(3)]),
        ]
        do {
            _ = try await s.insertTelemetry(gateway: Self.g, batchID: "b2", rows: bad)
            Issue.record("a text reading on a number channel was stored")
        } catch let error as IntakeError {
            #expect(error.status == 400)
            #expect(
                error.message
                    == "readings.sound at 1970-01-01T00:03:30.000Z is text ('loud'), but gateway 'gw-a' sends numbers on 'sound'"
            )
        }
        // Nothing of it stored: not the good row, not the new channel's kind, not the batch id.
        #expect(try await s.telemetryCount() == 1)
        let retry = try await s.insertTelemetry(
            gateway: Self.g, batchID: "b2",
            rows: [Self.row(200), TelemetryRow(gateway: Self.g, at: 210, readings: ["lux": .category("dim")])])
        #expect(retry.accepted == 2 && !retry.duplicate)
        // A number on a text channel, in an MQTT row.
        await #expect(throws: IntakeError.self) {
            _ = try await s.insertTelemetry(
                gateway: Self.g, batchID: nil,
                rows: [TelemetryRow(gateway: Self.g, at: 300, readings: ["hvac": .number(1)])])
        }
        // A channel seen only empty so far takes the kind of its first reading.
        _ = try await s.insertTelemetry(
            gateway: Self.g, batchID: nil, rows: [TelemetryRow(gateway: Self.g, at: 400, readings: ["co2": nil])])
        _ = try await s.insertTelemetry(
            gateway: Self.g, batchID: nil,
            rows: [TelemetryRow(gateway: Self.g, at: 410, readings: ["co2": .number(400)])])
        await #expect(throws: IntakeError.self) {
            _ = try await s.insertTelemetry(
                gateway: Self.g, batchID: nil,
                rows: [TelemetryRow(gateway: Self.g, at: 420, readings: ["co2": .category("high")])])
        }
        #expect(try await s.telemetryCount() == 5)
    }

    // MARK: Labels

    @Test(arguments: StoreKind.allCases)
    func labelsAreDisjointSpansAndCountTheRowsTheyCover(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        try await s.insertLabels([Self.label(0, 100, true), Self.label(100, 150, true), Self.label(300, 400, false)])
        // Touching spans of the same state merged.
        #expect(try await s.labels(gateways: [Self.g]).map { [$0.from, $0.to] } == [[0, 150], [300, 400]])
        // A newer label of the other state wins where it overlaps: splits [0,150) around it, trims [300,400).
        try await s.insertLabels([
            Self.label(50, 80, false), Self.label(350, 500, true), Self.label(0, 10, true, "gw-b"),
        ])
        let spans = try await s.labels(gateways: [Self.g])
        #expect(spans.map { [$0.from, $0.to] } == [[0, 50], [50, 80], [80, 150], [300, 350], [350, 500]])
        #expect(spans.map(\.occupied) == [true, false, true, false, true])
        #expect(try await s.labelCount(gateways: [Self.g]) == 5)
        #expect(try await s.labelCount(gateways: [Self.g, "gw-b"]) == 6)
        #expect(try await s.labels(gateways: ["gw-b", Self.g]).first?.gateway == "gw-b")
        // Rows inside spans count once; rows outside do not; [from, to) is half-open.
        let times: [Double] = [0, 49, 50, 80, 149, 150, 200, 300, 499, 500]
        _ = try await s.insertTelemetry(gateway: Self.g, batchID: "b", rows: times.map { Self.row($0) })
        _ = try await s.insertTelemetry(gateway: "gw-b", batchID: "b", rows: [Self.row(5), Self.row(20)])
        #expect(try await s.labelledRowCount(gateways: [Self.g]) == 7)
        #expect(try await s.labelledRowCount(gateways: [Self.g, "gw-b"]) == 8)
        #expect(try await s.labelledRowCount(gateways: []) == 0)
    }

    // MARK: Registry

    static func model(_ version: Int, scope: String = "office") -> ModelRecord {
        ModelRecord(
            scope: scope, version: version, modelID: "occupancy-\(scope)",
            sha256: String(repeating: "\(version % 10)", count: 64),
            size: 1_000 + version, created: 1_767_571_200 + Double(version), dataFrom: 1_767_500_000,
            dataTo: 1_767_570_000, labelledRowsSeen: 120 * version, report: #"{"holdout":{"rows":12},"v":\#(version)}"#)
    }

    @Test(arguments: StoreKind.allCases)
    func modelsVersionsAndAliases(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        #expect(try await s.nextVersion(scope: "office") == 1)
        try await s.addModel(Self.model(1))
        try await s.addModel(Self.model(2))
        try await s.addModel(Self.model(1, scope: "lab"))
        #expect(try await s.nextVersion(scope: "office") == 3)
        #expect(try await s.nextVersion(scope: "lab") == 2)
        // A version recorded twice is refused, never overwritten.
        await #expect(throws: (any Error).self) { try await s.addModel(Self.model(2)) }
        #expect(try await s.model(scope: "office", version: 2) == Self.model(2))
        #expect(try await s.model(scope: "office", version: 9) == nil)
        #expect(try await s.models(scope: "office") == [Self.model(1), Self.model(2)])
        #expect(try await s.models(scope: nil) == [Self.model(1, scope: "lab"), Self.model(1), Self.model(2)])
        #expect(try await s.alias(scope: "office", alias: "champion") == nil)
        try await s.setAlias(scope: "office", alias: "champion", version: 1)
        try await s.setAlias(scope: "office", alias: "champion", version: 2)
        try await s.setAlias(scope: "office", alias: "challenger", version: 1)
        #expect(try await s.alias(scope: "office", alias: "champion") == 2)
        #expect(try await s.alias(scope: "lab", alias: "champion") == nil)
        try await s.setAlias(scope: "office", alias: "challenger", version: nil)
        #expect(try await s.alias(scope: "office", alias: "challenger") == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func promotionsAndMetricsInOrder(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        let p1 = PromotionRecord(scope: "office", at: 10, challenger: 1, champion: nil, promoted: true, reason: "first")
        let p2 = PromotionRecord(scope: "lab", at: 5, challenger: 1, champion: nil, promoted: false, reason: "no")
        let p3 = PromotionRecord(scope: "office", at: 20, challenger: 2, champion: 1, promoted: false, reason: "worse")
        for p in [p1, p2, p3] { try await s.addPromotion(p) }
        #expect(try await s.promotions(scope: "office") == [p1, p3])
        #expect(try await s.promotions(scope: nil) == [p1, p2, p3])
        let m1 = MetricRecord(scope: "office", version: 1, at: 10, kind: "holdout", metric: "f1", value: 0.91, rows: 12)
        let m2 = MetricRecord(scope: "lab", version: 1, at: 11, kind: "live", metric: "accuracy", value: 0.5, rows: 3)
        let m3 = MetricRecord(scope: "office", version: 2, at: 12, kind: "live", metric: "f1", value: 1.0 / 3, rows: 7)
        for m in [m1, m2, m3] { try await s.addMetric(m) }
        #expect(try await s.metrics(scope: "office") == [m1, m3])
        #expect(try await s.metrics(scope: nil) == [m1, m2, m3])
        #expect(try await s.metrics(scope: "none").isEmpty)
    }

    // MARK: Gateways

    @Test(arguments: StoreKind.allCases)
    func statusesLastSeenAndRollbacks(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        let start = t.clock.now().seconds
        try await s.setGatewayStatus(GatewayStatus(gateway: "gw-b", active: "m@1", sha256: "aa", refused: nil, at: 5))
        t.clock.advance(10)
        _ = try await s.insertTelemetry(gateway: Self.g, batchID: "b", rows: [Self.row(1)])
        t.clock.advance(10)
        try await s.setGatewayStatus(
            GatewayStatus(gateway: "gw-b", active: nil, sha256: nil, refused: "bad sig", at: 9))
        #expect(
            try await s.gatewayStatuses() == [
                GatewayStatus(gateway: "gw-b", active: nil, sha256: nil, refused: "bad sig", at: 9)
            ])
        #expect(try await s.gatewaysLastSeen() == [Self.g: start + 10, "gw-b": start + 20])
        // The dashboard's figures (spool backlog, process) ride with the status, and a status without them clears them.
        var figured = GatewayStatus(gateway: "gw-c", active: "m@1", sha256: "aa", refused: nil, at: 11)
        figured.spoolBacklog = 42
        figured.process = .init(cpuSeconds: 1.5, rssBytes: 9_000_000, uptimeSeconds: 60)
        try await s.setGatewayStatus(figured)
        #expect(try await s.gatewayStatus(gateway: "gw-c") == figured)
        try await s.setGatewayStatus(GatewayStatus(gateway: "gw-c", active: "m@1", sha256: "aa", refused: nil, at: 12))
        #expect(try await s.gatewayStatus(gateway: "gw-c")?.spoolBacklog == nil)
        #expect(try await s.gatewayStatus(gateway: "nobody") == nil)

        let r1 = ModelRollbackRecord(
            gateway: Self.g, version: 3, sha256: "ab", guardName: "stuck", reason: "p unchanged", at: 100, received: 101
        )
        let r2 = ModelRollbackRecord(
            gateway: "gw-b", version: nil, sha256: "cd", guardName: "drift", reason: "sound", at: 50, received: 51)
        #expect(try await s.addRollback(r1))
        #expect(try await s.addRollback(r1) == false) // a retained status delivered again
        #expect(try await s.addRollback(r2))
        #expect(try await s.rollbacks(gateway: Self.g) == [r1])
        #expect(try await s.rollbacks(gateway: nil) == [r2, r1])
    }

    // MARK: Alerts

    @Test(arguments: StoreKind.allCases)
    func alertsAreRaisedOnceClearedOnceAndAcknowledgedOnce(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        let raised = try await s.raiseAlert(
            kind: "drift", subject: "gw-a/sound", scope: "office", gateway: Self.g, numbers: ["score": 0.4],
            message: "sound drifted", at: 100)
        #expect(raised?.state == "open" && raised?.numbers == ["score": 0.4] && raised?.gateway == Self.g)
        #expect(
            try await s.raiseAlert(
                kind: "drift", subject: "gw-a/sound", scope: "office", gateway: Self.g, numbers: [:], message: "again",
                at: 110) == nil)
        let other = try await s.raiseAlert(
            kind: "accuracy", subject: "office", scope: "office", gateway: nil, numbers: ["measured": 0.7],
            message: "accuracy fell", at: 120)
        #expect(other != nil && other!.id != raised!.id)
        #expect(try await s.openAlertSubjects(kind: "drift", gateway: Self.g) == ["gw-a/sound"])
        #expect(try await s.alertDocuments(open: true).map(\.message) == ["sound drifted", "accuracy fell"])

        let cleared = try await s.clearAlert(kind: "drift", subject: "gw-a/sound", at: 200)
        #expect(cleared?.state == "cleared" && cleared?.clearedAt == Instant(seconds: 200).iso8601)
        #expect(try await s.clearAlert(kind: "drift", subject: "gw-a/sound", at: 210) == nil)
        #expect(try await s.openAlertSubjects(kind: "drift", gateway: Self.g).isEmpty)
        // Raised again after clearing: a new alert.
        let again = try await s.raiseAlert(
            kind: "drift", subject: "gw-a/sound", scope: "office", gateway: Self.g, numbers: [:],
            message: "drifted again",
            at: 300)
        #expect(again != nil && again!.id != raised!.id)
        #expect(try await s.alertDocuments(open: true).map(\.message) == ["accuracy fell", "drifted again"])
        #expect(try await s.alertDocuments(open: false).count == 3)
        #expect(try await s.alerts(scope: "office").map(\.at) == [100, 120, 300])
        #expect(try await s.alerts(scope: "lab").isEmpty)

        let acked = try await s.acknowledgeAlert(id: other!.id, by: "admin", at: 400)
        #expect(acked?.acknowledgedBy == "admin" && acked?.acknowledgedAt == Instant(seconds: 400).iso8601)
        let second = try await s.acknowledgeAlert(id: other!.id, by: "viewer", at: 500)
        #expect(second?.acknowledgedBy == "admin") // the first acknowledgement stands
        #expect(try await s.acknowledgeAlert(id: 999_999, by: "admin", at: 500) == nil)

        _ = try await s.clearAlert(kind: "accuracy", subject: "office", at: 250)
        #expect(try await s.clearedAlerts(limit: 10).map(\.message) == ["accuracy fell", "sound drifted"])
        #expect(try await s.clearedAlerts(limit: 1).map(\.message) == ["accuracy fell"])
    }

    // MARK: Monitor windows (with a shadow window) and realised accuracy

    static func window(_ gateway: String, from: Double, expected: Double = 0.9, shadow: Bool = false) -> MonitorDocument
    {
        MonitorDocument(
            gateway: gateway,
            window: .init(from: TimeValue(seconds: from), to: TimeValue(seconds: from + 3_600), samples: 120),
            inputs: ["sound": .init(missing: 0, outOfRange: 0, stuck: 0, mean: 4.5, min: 1, max: 30)],
            predictions: .init(
                meanProbability: 0.3, positiveRate: 0.25, transitions: 4,
                histogram: [50, 20, 10, 5, 5, 5, 5, 5, 5, 10],
                stale: 0),
            drift: nil, expectedAccuracy: expected, bundleAccuracy: 0.95, decidedBy: "model:occupancy-office@3",
            process: .init(cpuSeconds: 1, rssBytes: 9_000_000, uptimeSeconds: 100),
            shadow: shadow
                ? .init(
                    model: "occupancy-office", version: 4, sha256: String(repeating: "b", count: 64), scored: 120,
                    compared: 118, agreement: 0.97, transitions: 3, meanProbability: 0.31, expectedAccuracy: 0.92,
                    bundleAccuracy: 0.96, stale: 0, runs: [], complete: true)
                : nil)
    }

    @Test(arguments: StoreKind.allCases)
    func monitorWindowsOncePerStartWithRealisedAccuracyAndShadow(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        let h: Double = 1_767_596_400
        try await s.insertMonitor(Self.window(Self.g, from: h))
        try await s.insertMonitor(Self.window(Self.g, from: h + 3_600, shadow: true))
        try await s.insertMonitor(Self.window(Self.g, from: h + 7_200))
        // The same window again (retained, delivered on every reconnect) replaces it.
        try await s.insertMonitor(Self.window(Self.g, from: h + 7_200, expected: 0.8))
        try await s.insertMonitor(Self.window("gw-b", from: h - 3_600))
        let all = try await s.monitorWindows(gateway: Self.g, since: nil)
        #expect(all.map { $0.window.from.seconds } == [h, h + 3_600, h + 7_200])
        #expect(all[1] == Self.window(Self.g, from: h + 3_600, shadow: true))
        #expect(all[2].expectedAccuracy == 0.8)
        #expect(try await s.monitorWindows(gateway: Self.g, since: h + 3_600).count == 2) // ends after `since`
        #expect(
            try await s.monitorWindows(gateway: Self.g, last: 2).map { $0.window.from.seconds } == [
                h + 3_600, h + 7_200,
            ])
        #expect(try await s.monitorWindowsEnd(gateway: Self.g) == h + 10_800)
        #expect(try await s.monitorWindowsEnd(gateway: "gw-z") == nil)

        let realised = MonitorDocument.Realised(
            accuracy: 0.875, rows: 40, expectedAccuracy: 0.9, model: "model:occupancy-office@3",
            computedAt: "2026-01-05T08:00:00Z")
        try await s.setRealised(gateway: Self.g, windowFrom: h, realised)
        try await s.setRealised(gateway: Self.g, windowFrom: h + 99, realised) // no such window: nothing
        var better = realised
        better.accuracy = 0.9
        try await s.setRealised(gateway: Self.g, windowFrom: h + 3_600, realised)
        try await s.setRealised(gateway: Self.g, windowFrom: h + 3_600, better) // a new measurement replaces it
        let measured = try await s.monitorWindows(gateway: Self.g, since: nil)
        #expect(measured.map(\.realised) == [realised, better, nil])
        // A gateway's window sent again keeps its measurement (it is beside the document, not in it).
        try await s.insertMonitor(Self.window(Self.g, from: h))
        #expect(try await s.monitorWindows(gateway: Self.g, last: 3).first?.realised == realised)

        let latest = try await s.latestMonitorWindows(gateways: [Self.g, "gw-b", "gw-z"], endingAfter: h - 1)
        #expect(latest.map { $0.window.gateway } == [Self.g, "gw-b"])
        #expect(latest[0].window.window.from.seconds == h + 7_200 && latest[0].realised == better)
        #expect(latest[1].realised == nil)
        #expect(try await s.latestMonitorWindows(gateways: [Self.g, "gw-b"], endingAfter: h + 1).count == 1)
    }

    // MARK: Rollouts

    @Test(arguments: StoreKind.allCases)
    func rolloutsMembersAndTheAssignedModel(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        #expect(try await s.assignedModel(scope: "office", gateway: Self.g) == nil)
        try await s.addModel(Self.model(1))
        try await s.addModel(Self.model(2))
        try await s.setAlias(scope: "office", alias: "champion", version: 2)
        #expect(try await s.assignedModel(scope: "office", gateway: Self.g) == Self.model(2))
        #expect(try await s.rollout(scope: "office") == nil)

        let rollout = Rollout(scope: "office", version: 2, previous: 1, waves: 3, started: 1_000)
        try await s.startRollout(
            rollout,
            members: [
                RolloutMember(gateway: "gw-c", wave: 1), RolloutMember(gateway: Self.g, wave: 0),
                RolloutMember(gateway: "gw-b", wave: 1),
            ])
        #expect(try await s.rollout(scope: "office") == rollout)
        #expect(try await s.rolloutMembers(scope: "office").map(\.gateway) == [Self.g, "gw-b", "gw-c"])
        #expect(try await s.assignedModel(scope: "office", gateway: Self.g) == Self.model(2)) // wave 0: reached
        #expect(try await s.assignedModel(scope: "office", gateway: "gw-b") == Self.model(1)) // wave 1: not yet
        #expect(try await s.assignedModel(scope: "office", gateway: "gw-new") == Self.model(1)) // the last wave

        var member = try #require(try await s.rolloutMember(scope: "office", gateway: "gw-b"))
        member.since = 1_100
        member.rolledBackAt = 1_200
        member.reason = "stuck: p unchanged"
        try await s.setRolloutMember(scope: "office", member)
        #expect(try await s.rolloutMember(scope: "office", gateway: "gw-b") == member)
        #expect(try await s.rolloutMember(scope: "office", gateway: "gw-z") == nil)

        var widened = rollout
        widened.reached = 1
        widened.reachedAt = 1_300
        try await s.setRollout(widened)
        #expect(try await s.assignedModel(scope: "office", gateway: "gw-b") == Self.model(2))
        widened.state = .aborted
        widened.reason = "2 of 2 rolled back"
        try await s.setRollout(widened)
        #expect(try await s.rollout(scope: "office") == widened)
        #expect(try await s.assignedModel(scope: "office", gateway: "gw-b") == Self.model(1))
        #expect(try await s.assignedModel(scope: "office", gateway: Self.g) == Self.model(2))
        widened.state = .rolledBack
        try await s.setRollout(widened)
        #expect(try await s.assignedModel(scope: "office", gateway: Self.g) == Self.model(1))
        // A first model rolled back leaves nothing to run.
        try await s.startRollout(
            Rollout(scope: "lab", version: 1, previous: nil, waves: 2, state: .rolledBack, started: 1), members: [])
        try await s.addModel(Self.model(1, scope: "lab"))
        try await s.setAlias(scope: "lab", alias: "champion", version: 1)
        #expect(try await s.assignedModel(scope: "lab", gateway: Self.g) == nil)
        // A new rollout replaces the members.
        try await s.startRollout(
            Rollout(scope: "office", version: 2, previous: 1, waves: 2, state: .complete, started: 2_000),
            members: [RolloutMember(gateway: "gw-d", wave: 0)])
        #expect(try await s.rolloutMembers(scope: "office") == [RolloutMember(gateway: "gw-d", wave: 0)])
        #expect(try await s.assignedModel(scope: "office", gateway: "gw-b") == Self.model(2))
    }

    // MARK: Fleet page

    @Test(arguments: StoreKind.allCases)
    func theFleetPageFiltersSortsAndPagesInTheStore(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        let roster = FleetRoster(
            ["gw-a", "gw-b", "gw-c", "lab-1", "lab-2"].map {
                ServerConfig.Gateway(id: $0, scope: $0.hasPrefix("lab") ? "lab" : "office", tokenHash: "")
            })
        let now = t.clock.now().seconds
        _ = try await s.insertTelemetry(gateway: "gw-a", batchID: "1", rows: [Self.row(1)])
        t.clock.advance(1_000)
        try await s.setGatewayStatus(GatewayStatus(gateway: "gw-b", active: "m@2", sha256: "aa", refused: nil, at: 1))
        try await s.setGatewayStatus(GatewayStatus(gateway: "lab-1", active: "m@1", sha256: "bb", refused: nil, at: 1))
        _ = try await s.raiseAlert(
            kind: "drift", subject: "gw-b/sound", scope: "office", gateway: "gw-b", numbers: [:], message: "d", at: 1)
        _ = try await s.raiseAlert(
            kind: "silent", subject: "gw-a", scope: "office", gateway: "gw-a", numbers: [:], message: "s", at: 1)
        try await s.insertMonitor(Self.window("gw-b", from: 1_767_596_400, expected: 0.77))
        try await s.startRollout(
            Rollout(scope: "office", version: 2, previous: 1, waves: 2, started: now),
            members: [
                RolloutMember(gateway: "gw-b", wave: 0, since: now + 900), RolloutMember(gateway: "gw-c", wave: 1),
            ])
        let clockNow = t.clock.now().seconds
        let doc = try await s.fleet(
            FleetQuery(), configured: roster, now: clockNow, onlineWithin: 300, probation: 3_600)
        #expect(doc.states == ["online": 2, "offline": 1, "never": 2])
        #expect(doc.models == ["m@2": 1, "m@1": 1, "none": 3])
        #expect(doc.conditions == ["silent": 1, "inProbation": 1, "rolledBack": 0])
        #expect(doc.matching == 5 && doc.gateways.map(\.id) == ["gw-a", "gw-b", "gw-c", "lab-1", "lab-2"])
        let b = doc.gateways[1]
        #expect(b.state == "online" && b.active == "m@2" && b.wave == 1 && b.openAlerts == 1 && b.drifting == 1)
        #expect(b.estimatedAccuracy == 0.77 && b.lastSeen == Instant(seconds: clockNow).iso8601)
        #expect(doc.gateways[0].state == "offline" && doc.gateways[0].openAlerts == 1 && doc.gateways[0].drifting == 0)

        let page2 = try await s.fleet(
            FleetQuery(sort: .id, descending: true, page: 2, pageSize: 2), configured: roster, now: clockNow,
            onlineWithin: 300, probation: 3_600)
        #expect(page2.gateways.map(\.id) == ["gw-c", "gw-b"] && page2.matching == 5 && page2.page == 2)
        let lab = try await s.fleet(
            FleetQuery(scope: "lab", state: "never"), configured: roster, now: clockNow, onlineWithin: 300,
            probation: 3_600)
        #expect(lab.gateways.map(\.id) == ["lab-2"] && lab.matching == 1)
        #expect(lab.states == doc.states) // the counts are the whole fleet's
        let bySeen = try await s.fleet(
            FleetQuery(sort: .seen, descending: true), configured: roster, now: clockNow, onlineWithin: 300,
            probation: 3_600)
        #expect(bySeen.gateways.map(\.id) == ["gw-b", "lab-1", "gw-a", "gw-c", "lab-2"])
        let byModel = try await s.fleet(
            FleetQuery(sort: .model), configured: roster, now: clockNow, onlineWithin: 300, probation: 3_600)
        #expect(byModel.gateways.map(\.id) == ["lab-1", "gw-b", "gw-a", "gw-c", "lab-2"])
        let byAlerts = try await s.fleet(
            FleetQuery(sort: .alerts, descending: true), configured: roster, now: clockNow, onlineWithin: 300,
            probation: 3_600)
        #expect(byAlerts.gateways.map(\.id) == ["gw-a", "gw-b", "gw-c", "lab-1", "lab-2"])
        let byScope = try await s.fleet(
            FleetQuery(sort: .scope, descending: true), configured: roster, now: clockNow, onlineWithin: 300,
            probation: 3_600)
        #expect(byScope.gateways.map(\.id) == ["gw-a", "gw-b", "gw-c", "lab-1", "lab-2"]) // office > lab
        // A changed configuration replaces the copy.
        let smaller = FleetRoster([ServerConfig.Gateway(id: "gw-a", scope: "office", tokenHash: "")])
        let one = try await s.fleet(FleetQuery(), configured: smaller, now: clockNow, onlineWithin: 300, probation: 1)
        #expect(one.gateways.map(\.id) == ["gw-a"] && one.states == ["offline": 1])
    }
}
