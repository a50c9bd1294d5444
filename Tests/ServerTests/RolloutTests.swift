import FleetProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import OccupantCore
import OccupantTesting
import Testing

@testable import OccupantCLI
@testable import Server

/// Quality-gated rollout: waves widen only after probation, a wave that rolls back (or raises alerts) stops the
/// rollout and gets the previous model back, and an operator can see, abort, resume and roll back.
@Suite(.serialized) struct RolloutTests {
    static let waves = """
        promotion: { waves: [{ gateways: [gw-a] }, { percent: 50 }], probation: 1h, abortShare: 0.1 }
        """

    /// A rig with v1 as champion (every gateway runs it) and v2 promoted: v2's rollout has started.
    static func started(_ name: String, clock: ManualClock, yaml: String = waves) async throws -> (
        RouteRig, ModelRecord
    ) {
        let rig = try RouteRig(name, clock: clock, extraYAML: yaml)
        for version in 1...2 {
            try await rig.store.addModel(
                ModelRecord(
                    scope: "office", version: version, modelID: "occupancy-office", sha256: "sha-v\(version)",
                    size: 10, created: clock.now().seconds, dataFrom: 0, dataTo: 1, labelledRowsSeen: 0, report: "{}"))
        }
        try await rig.store.setAlias(scope: "office", alias: "champion", version: 1)
        let v2 = try #require(try await rig.store.model(scope: "office", version: 2))
        try await rig.registry.promote(scope: "office", record: v2, previous: 1)
        return (rig, v2)
    }

    static func report(
        _ rig: RouteRig, _ gateway: String, running version: Int, rolledBack: String? = nil, passed: Bool = false
    ) async throws {
        try await rig.registry.gatewayReported(
            GatewayStatus(
                gateway: gateway, active: "occupancy-office@\(version)", sha256: "sha-v\(version)", refused: nil,
                at: 0),
            rolledBack: rolledBack.map { ("sha-v2", $0) }, passedProbation: passed)
    }

    static func document(_ rig: RouteRig) async throws -> RolloutDocument {
        try #require(try await rig.registry.rolloutDocument(scope: "office"))
    }

    static func assigned(_ rig: RouteRig) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for g in ["gw-a", "gw-b", "küche", "room 1"] { out[g] = try await rig.registry.model(for: g)?.version ?? 0 }
        return out
    }

    @Test func planCountsPercentagesCumulativelyAndEndsWithEveryone() {
        let members = (0..<10).map { "gw-\($0)" }
        let plan = ModelRegistry.plan(
            [.init(gateways: ["gw-7"]), .init(percent: 10), .init(percent: 50), .init(percent: 50)], members: members)
        // Each wave adds its named gateways and its cumulative share of the scope in hashed-id order; the repeated
        // 50 % adds nobody and is skipped; the rest is the last wave.
        let ordered = members.sorted { tokenHash($0) < tokenHash($1) }
        #expect(ordered[0] != "gw-7") // so the 10 % wave adds one gateway
        let third = Set(ordered.prefix(5)).subtracting(["gw-7", ordered[0]])
        let rest = Set(members).subtracting(third).subtracting(["gw-7", ordered[0]])
        #expect(plan == [["gw-7"], [ordered[0]], third.sorted(), rest.sorted()])
        #expect(ModelRegistry.plan([], members: members) == [members.sorted()])
    }

    @Test func wavesWidenOnlyAfterProbationAndTheRolloutCompletes() async throws {
        let clock = ManualClock()
        let (rig, _) = try await Self.started("rollout-widen", clock: clock)
        var d = try await Self.document(rig)
        #expect(d.state == "running" && d.waves.count == 3)
        #expect(d.waves.map(\.state) == ["inProbation", "pending", "pending"])
        #expect(d.waves[0].gateways.map(\.gateway) == ["gw-a"])
        let second = d.waves[1].gateways.map(\.gateway)
        let third = d.waves[2].gateways.map(\.gateway)
        #expect(second.count + third.count == 3 && second.count >= 1 && !second.contains("gw-a"))
        #expect(try await Self.assigned(rig) == ["gw-a": 2, "gw-b": 1, "küche": 1, "room 1": 1])
        #expect(rig.announcer.available.map(\.0) == ["gw-a"])
        #expect(d.waves[0].counts == ["installing": 1])

        // gw-a runs v2: in probation for an hour; half an hour later the next wave still waits.
        try await Self.report(rig, "gw-a", running: 2)
        clock.advance(1_800)
        try await rig.registry.advanceRollout(scope: "office")
        d = try await Self.document(rig)
        #expect(d.waves[0].counts == ["inProbation": 1] && d.waves[1].state == "pending")
        #expect(try await Self.assigned(rig).filter { $0.value == 2 }.keys.sorted() == ["gw-a"])

        // Past probation: the periodic check widens to wave 2 and tells its gateways.
        clock.advance(1_801)
        try await rig.registry.advanceRollout(scope: "office")
        d = try await Self.document(rig)
        #expect(d.waves.map(\.state) == ["passed", "inProbation", "pending"])
        #expect(rig.announcer.available.map(\.0).dropFirst().sorted() == second.sorted())
        for g in second { #expect(try await rig.registry.model(for: g)?.version == 2) }
        for g in third { #expect(try await rig.registry.model(for: g)?.version == 1) }

        // A gateway that says it passed probation counts at once (no need to wait out the server's hour).
        for g in second { try await Self.report(rig, g, running: 2, passed: true) }
        d = try await Self.document(rig)
        #expect(d.waves.map(\.state) == ["passed", "passed", "inProbation"])
        for g in third { #expect(try await rig.registry.model(for: g)?.version == 2) }

        for g in third { try await Self.report(rig, g, running: 2) }
        clock.advance(3_601)
        try await rig.registry.advanceRollout(scope: "office")
        d = try await Self.document(rig)
        #expect(d.state == "complete" && d.waves.allSatisfy { $0.state == "passed" })
        #expect(try await Self.assigned(rig).values.allSatisfy { $0 == 2 })
    }

    @Test func aRollbackInTheFirstWaveAbortsAndTheSecondWaveNeverGetsIt() async throws {
        let clock = ManualClock()
        let (rig, _) = try await Self.started("rollout-abort", clock: clock)
        try await Self.report(rig, "gw-a", running: 2)
        clock.advance(600)
        // gw-a's flapping guard took v2 back: it runs v1 again and says why.
        try await Self.report(
            rig, "gw-a", running: 1, rolledBack: "flapping: 14 published transitions in the last hour (limit 6)")
        var d = try await Self.document(rig)
        #expect(d.state == "aborted")
        #expect(d.waves.map(\.state) == ["aborted", "pending", "pending"])
        #expect(d.waves[0].gateways.first?.state == "rolledBack")
        #expect(d.waves[0].gateways.first?.reason?.contains("flapping") == true)
        #expect(d.reason?.contains("1 of 1 gateways in wave 1 rolled back") == true, "\(d.reason ?? "")")
        let alert = try #require(rig.announcer.state.withLock { $0.alerts }.last)
        #expect(alert.kind == "rollout" && alert.state == "open" && alert.numbers["bad"] == 1)
        #expect(alert.message.contains("rollout aborted"))
        // Every gateway is assigned v1, and gw-a was told to fetch it.
        #expect(try await Self.assigned(rig).values.allSatisfy { $0 == 1 })
        #expect(rig.announcer.available.last.map { [$0.0: $0.1] } == ["gw-a": 1])

        // Hours later nothing has widened: the second wave never received v2.
        let announced = rig.announcer.available.count
        clock.advance(7_200)
        try await rig.registry.advanceRollout(scope: "office")
        #expect(rig.announcer.available.count == announced)
        d = try await Self.document(rig)
        #expect(d.state == "aborted" && d.waves[1].state == "pending")

        // An operator resumes: wave 1 is offered v2 again and the alert clears.
        d = try #require(try await rig.registry.rolloutAction(scope: "office", .resume, by: "ops"))
        #expect(d.state == "running" && d.reason == "resumed by ops")
        #expect(try await rig.registry.model(for: "gw-a")?.version == 2)
        #expect(rig.announcer.state.withLock { $0.alerts }.last?.state == "cleared")

        // And then rolls everything back: the champion is v1 again, everyone runs it, and it is final.
        d = try #require(try await rig.registry.rolloutAction(scope: "office", .rollback, by: "ops"))
        #expect(d.state == "rolledBack")
        #expect(try await rig.store.alias(scope: "office", alias: "champion") == 1)
        #expect(try await Self.assigned(rig).values.allSatisfy { $0 == 1 })
        await #expect(throws: OccupantError.self) {
            try await rig.registry.rolloutAction(scope: "office", .rollback, by: "ops")
        }
    }

    @Test func aNewVersionAfterAnAbortStartsFromWhatTheLaterWavesStillRun() async throws {
        let clock = ManualClock()
        let (rig, _) = try await Self.started("rollout-after-abort", clock: clock)
        try await Self.report(rig, "gw-a", running: 1, rolledBack: "stuck: unchanged for 20 min")
        #expect(try await Self.document(rig).state == "aborted")
        try await rig.store.addModel(
            ModelRecord(
                scope: "office", version: 3, modelID: "occupancy-office", sha256: "sha-v3", size: 10,
                created: clock.now().seconds, dataFrom: 0, dataTo: 1, labelledRowsSeen: 0, report: "{}"))
        let d = try await rig.registry.promoteByOperator(scope: "office", version: 3, by: "ops")
        // v2 (the champion alias, which only gw-a ever ran) is not what the others fall back to: v1 is.
        #expect(d.version == 3 && d.previous == 1 && d.state == "running")
        #expect(try await Self.assigned(rig) == ["gw-a": 3, "gw-b": 1, "küche": 1, "room 1": 1])
        #expect(try await rig.store.promotions(scope: "office").last?.reason == "promoted by ops")
        await #expect(throws: OccupantError.self) {
            try await rig.registry.promoteByOperator(scope: "office", version: 3, by: "ops")
        }
        await #expect(throws: OccupantError.self) {
            try await rig.registry.promoteByOperator(scope: "office", version: 9, by: "ops")
        }
    }

    @Test func aGuardAlertAfterProbationIsRaisedOnceAndClearedWhenTheStatusDropsIt() async throws {
        let clock = ManualClock()
        let rig = try RouteRig("guard-alert", clock: clock)
        let tripped = ModelStatusDocument.RolledBack(
            version: 3, sha256: String(repeating: "a", count: 64), guardName: "flapping",
            reason: "14 published changes in the last hour (limit 6)", at: "2026-01-05T10:00:00.000Z")
        try await rig.registry.guardReported(gateway: "gw-a", alert: tripped)
        try await rig.registry.guardReported(gateway: "gw-a", alert: tripped)
        var alerts = rig.announcer.state.withLock { $0.alerts }
        #expect(alerts.count == 1)
        #expect(
            alerts.first?.kind == "guard" && alerts.first?.gateway == "gw-a" && alerts.first?.numbers["version"] == 3)
        #expect(alerts.first?.message.contains("the flapping guard tripped on v3 after probation") == true)
        try await rig.registry.guardReported(gateway: "gw-a", alert: nil)
        alerts = rig.announcer.state.withLock { $0.alerts }
        #expect(alerts.map(\.state) == ["open", "cleared"])
    }

    @Test func anAlertRaisedWhileTheWaveRunsTheVersionAbortsToo() async throws {
        let clock = ManualClock()
        let (rig, _) = try await Self.started("rollout-alert", clock: clock)
        // An alert about gw-a from before it ran v2 does not count against v2.
        _ = try await rig.store.raiseAlert(
            kind: "input", subject: "gw-a/sound", scope: "office", gateway: "gw-a", numbers: [:],
            message: "old", at: clock.now().seconds)
        clock.advance(60)
        try await Self.report(rig, "gw-a", running: 2)
        #expect(try await Self.document(rig).state == "running")
        clock.advance(60)
        _ = try await rig.store.raiseAlert(
            kind: "drift", subject: "gw-a/sound_mean", scope: "office", gateway: "gw-a", numbers: ["score": 0.4],
            message: "gateway gw-a: feature sound_mean drifted", at: clock.now().seconds)
        try await rig.registry.advanceRollout(scope: "office")
        let d = try await Self.document(rig)
        #expect(d.state == "aborted")
        #expect(d.reason?.contains("alert: gateway gw-a: feature sound_mean drifted") == true, "\(d.reason ?? "")")
    }

    @Test func withoutWavesEveryoneGetsItAtOnceAndOneRollbackInFourIsWithinTheShare() async throws {
        let clock = ManualClock()
        let (rig, _) = try await Self.started("rollout-single", clock: clock, yaml: "promotion: { abortShare: 0.3 }")
        var d = try await Self.document(rig)
        #expect(d.waves.count == 1 && d.waves[0].gateways.count == 4)
        #expect(try await Self.assigned(rig).values.allSatisfy { $0 == 2 })
        try await Self.report(rig, "gw-b", running: 1, rolledBack: "stuck: probability unchanged for 2 h")
        for g in ["gw-a", "küche", "room 1"] { try await Self.report(rig, g, running: 2) }
        clock.advance(24 * 3_600 + 1)
        try await rig.registry.advanceRollout(scope: "office")
        d = try await Self.document(rig)
        #expect(d.state == "complete", "\(d)")
        #expect(d.waves[0].counts == ["passed": 3, "rolledBack": 1])
    }

    @Test func theHTTPAPIShowsAndActsOnTheRolloutForTheAdminOnly() async throws {
        let clock = ManualClock()
        let admin: HTTPFields = [.authorization: "Bearer admin-token"]
        let gateway: HTTPFields = [.authorization: "Bearer token-a"]
        let empty = try RouteRig("rollout-http", clock: clock, extraYAML: Self.waves)
        try await empty.test { client in
            let none = try await client.execute(uri: API.rollout(scope: "office"), method: .get, headers: admin)
            #expect(none.status == .notFound)
            #expect(String(buffer: none.body).contains("no rollout yet"))
            let unknown = try await client.execute(uri: API.rollout(scope: "attic"), method: .get, headers: admin)
            #expect(unknown.status == .notFound)
        }
        let (rig, _) = try await Self.started("rollout-http-2", clock: clock)
        try await rig.test { client in
            let denied = try await client.execute(uri: API.rollout(scope: "office"), method: .get, headers: gateway)
            #expect(denied.status == .forbidden)
            let shown = try await client.execute(uri: API.rollout(scope: "office"), method: .get, headers: admin)
            #expect(shown.status == .ok)
            let d = try FleetJSON.decode(RolloutDocument.self, from: Array(buffer: shown.body))
            #expect(d.version == 2 && d.previous == 1 && d.waves.count == 3 && d.probationSeconds == 3_600)

            let bad = try await client.execute(uri: "/v1/scopes/office/rollout/explode", method: .post, headers: admin)
            #expect(bad.status == .badRequest)
            #expect(String(buffer: bad.body).contains("not a rollout action (abort, resume, rollback)"))
            let early = try await client.execute(
                uri: API.rollout(scope: "office", action: .resume), method: .post, headers: admin)
            #expect(early.status == .conflict)
            #expect(String(buffer: early.body).contains("only an aborted one can be resumed"))
            let notAdmin = try await client.execute(
                uri: API.rollout(scope: "office", action: .abort), method: .post, headers: gateway)
            #expect(notAdmin.status == .forbidden)
            #expect(try await rig.registry.rolloutDocument(scope: "office")?.state == "running")

            let aborted = try await client.execute(
                uri: API.rollout(scope: "office", action: .abort), method: .post, headers: admin,
                body: ByteBuffer(string: #"{"by":"night shift"}"#))
            #expect(aborted.status == .ok)
            let after = try FleetJSON.decode(RolloutDocument.self, from: Array(buffer: aborted.body))
            #expect(after.state == "aborted" && after.reason == "aborted by night shift")
            #expect(after.waves[0].gateways.first?.state == "withdrawn")
        }
    }

    @Test func theCommandLineTableNamesEachWaveAndItsNotableGateways() async throws {
        let clock = ManualClock()
        let (rig, _) = try await Self.started("rollout-table", clock: clock)
        try await Self.report(rig, "gw-a", running: 1, rolledBack: "flapping: 14 transitions in the last hour")
        let lines = ServerCommand.Rollout.lines(try await Self.document(rig))
        #expect(
            lines[0]
                == "office v2 (from v1): aborted — 1 of 1 gateways in wave 1 rolled back or raised alerts (more than 10 %): gw-a rolled back: flapping: 14 transitions in the last hour"
        )
        #expect(lines[1].contains("probation 1 h per wave"))
        #expect(lines[2].hasPrefix("WAVE"))
        #expect(
            lines[3].contains("aborted") && lines[3].contains("1 rolledBack")
                && lines[3].contains("gw-a rolledBack: flapping"))
    }

    /// A v4 database's rollouts (one named first wave, `widened` once it ran the version) become two-wave rollouts.
    @Test func theV4RolloutsAreMigrated() async throws {
        let dir = try temporaryDirectory("rollout-migrate")
        let path = dir.appendingPathComponent("server.sqlite").path
        let sql = """
            CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
            INSERT INTO grdb_migrations VALUES ('v1'), ('v2: disjoint label spans, channel kinds'),
                ('v3: alerts with a lifecycle, gateways last heard from'), ('v4: gateways'' monitor windows');
            CREATE TABLE rollouts (scope TEXT PRIMARY KEY, version INTEGER NOT NULL, previous INTEGER, wave TEXT NOT NULL,
                widened INTEGER NOT NULL);
            INSERT INTO rollouts VALUES ('office', 3, 2, 'gw-a' || char(10) || 'gw-b', 0), ('lab', 5, 4, 'gw-x', 1);
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [path, sql]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)

        let store = try SQLiteStore(path: path)
        let office = try #require(try await store.rollout(scope: "office"))
        #expect(office.version == 3 && office.previous == 2 && office.waves == 2)
        #expect(office.reached == 0 && office.state == .running)
        #expect(try await store.rolloutMembers(scope: "office").map(\.gateway) == ["gw-a", "gw-b"])
        #expect(office.version(forWave: 0, champion: 3) == 3 && office.version(forWave: nil, champion: 3) == 2)
        let lab = try #require(try await store.rollout(scope: "lab"))
        #expect(lab.state == .complete && lab.version(forWave: nil, champion: 5) == 5)
    }
}
