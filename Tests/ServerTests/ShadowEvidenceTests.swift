import Evaluator
import FleetProtocol
import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// The server's side of shadow scoring on a real SQLite store: label spans joined with the gateways' shadow runs
/// count each labelled sample once for each model, and the promotion rule `promotion.shadow` promotes a challenger
/// only with enough labelled shadow rows on every gateway of the first wave showing it at least the champion's
/// accuracy plus the margin.
@Suite(.serialized, .ownThread) struct ShadowEvidenceTests {
    @Test func aRunCountsItsSamplesInsideASpan() {
        // 11 samples, one every 10 s from 100 to 200.
        let run = ShadowWindow.Run(from: 100, to: 200, n: 11, active: true, shadow: false)
        #expect(run.samples(from: 0, to: 1_000) == 11)
        #expect(run.samples(from: 100, to: 200) == 10) // [100, 200): the sample at 200 is outside
        #expect(run.samples(from: 105, to: 150) == 4) // 110, 120, 130, 140
        #expect(run.samples(from: 200, to: 300) == 1)
        #expect(run.samples(from: 300, to: 400) == 0)
        #expect(run.samples(from: 0, to: 100) == 0)
        let single = ShadowWindow.Run(from: 50, to: 50, n: 1, active: true, shadow: true)
        #expect(single.samples(from: 50, to: 51) == 1 && single.samples(from: 51, to: 60) == 0)
    }

    /// A window of `gateway` with runs every second from `start`: `pattern` is (seconds, active, shadow).
    static func window(
        _ gateway: String, start: Double, decidedBy: String, shadow: String = "occupancy-office@2",
        _ pattern: [(Int, Bool?, Bool?)]
    ) -> MonitorDocument {
        var runs: [ShadowWindow.Run] = []
        var t = start
        for (n, a, s) in pattern {
            runs.append(.init(from: t, to: t + Double(n - 1), n: n, active: a, shadow: s))
            t += Double(n)
        }
        let samples = pattern.map(\.0).reduce(0, +)
        let compared = pattern.filter { $0.1 != nil && $0.2 != nil }.map(\.0).reduce(0, +)
        let agreed = pattern.filter { $0.1 != nil && $0.1 == $0.2 }.map(\.0).reduce(0, +)
        let version = Int(shadow.split(separator: "@").last!)!
        return MonitorDocument(
            gateway: gateway,
            window: .init(from: TimeValue(seconds: start), to: TimeValue(seconds: t), samples: samples),
            inputs: [:],
            predictions: .init(meanProbability: 0.5, positiveRate: 0.5, transitions: 1, histogram: [], stale: 0),
            drift: nil, expectedAccuracy: 0.9, bundleAccuracy: nil, decidedBy: decidedBy,
            process: .init(cpuSeconds: nil, rssBytes: nil, uptimeSeconds: nil),
            shadow: .init(
                model: shadow, version: version, sha256: String(repeating: "ab", count: 32), scored: samples,
                compared: compared, agreement: compared > 0 ? Double(agreed) / Double(compared) : nil, transitions: 1,
                meanProbability: 0.5, expectedAccuracy: 0.8, bundleAccuracy: nil, stale: 0, runs: runs,
                complete: true))
    }

    @Test func labelsJoinedWithRunsGiveBothModelsRealisedAccuracy() {
        // 100 s occupied (active right, shadow right for the last 60), then 100 s vacant (both right).
        let w = Self.window(
            "gw-a", start: 1_000, decidedBy: "model:occupancy-office@1",
            [(40, true, false), (60, true, true), (100, false, false), (10, nil, true)])
        let labels = [
            LabelRange(gateway: "gw-a", from: 1_000, to: 1_100, occupied: true, source: "http"),
            LabelRange(gateway: "gw-a", from: 1_100, to: 1_150, occupied: false, source: "http"),
        ]
        let c = ShadowEvidence.counts(windows: [w], labels: labels)
        #expect(c.labelled == 150)
        #expect(c.activeCorrect == 150)
        #expect(c.shadowCorrect == 110)
        let evidence = ShadowEvidence.evidence(windows: [w], labels: labels)
        #expect(evidence.count == 1)
        #expect(evidence[0].active == "model:occupancy-office@1" && evidence[0].shadow == "occupancy-office@2")
        #expect(evidence[0].compared == 200 && abs(evidence[0].agreement! - 0.8) < 1e-12)
        #expect(evidence[0].activeAccuracy == 1 && abs(evidence[0].shadowAccuracy! - 110.0 / 150) < 1e-12)
    }

    /// The intake takes a well-formed shadow section and refuses a bad one with one line naming the field.
    @Test func theIntakeChecksTheShadowSection() throws {
        let intake = Intake(maxFutureSkew: 300)
        let now = Date().timeIntervalSince1970
        let start = (now / 100).rounded(.down) * 100 - 1_000
        let good = Self.window(
            "gw-a", start: start, decidedBy: "model:occupancy-office@1", [(50, true, true), (50, false, true)])
        #expect(try intake.monitor(json: try FleetJSON.bytes(good), gateway: "gw-a", now: now).shadow == good.shadow)
        func refusal(_ change: (inout ShadowWindow) -> Void) -> String? {
            var d = good
            change(&d.shadow!)
            do {
                _ = try intake.monitor(json: try! FleetJSON.bytes(d), gateway: "gw-a", now: now)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(refusal { $0.agreement = 1.5 } == "monitor: shadow.agreement is 1.5; it lies in 0…1")
        #expect(refusal { $0.compared = -1 } == "monitor: 'shadow' has a negative count")
        #expect(refusal { $0.runs[1].n = 0 } == "monitor: shadow.runs[1] needs n ≥ 1 and from ≤ to inside the window")
        #expect(refusal { $0.runs[0].to = start + 5_000 }?.hasPrefix("monitor: shadow.runs[0]") == true)
        #expect(
            refusal { $0.runs = Array(repeating: $0.runs[0], count: ShadowWindow.maxRuns + 1) }?.contains("at most")
                == true)
    }

    /// `promotion.shadow` in the server config: read, and bad values named one per line.
    @Test func thePromotionRuleIsReadFromTheConfig() throws {
        let gateways = "gateways: [{ id: gw-a, scope: office, token: a }]"
        let plain = try ServerConfig.parse(yaml: gateways)
        #expect(plain.promotion.shadow == nil)
        let rule = try ServerConfig.parse(yaml: gateways + "\npromotion: { shadow: { rows: 250, margin: 0.02 } }")
        #expect(rule.promotion.shadow?.rows == 250 && rule.promotion.shadow?.margin == 0.02)
        let defaults = try ServerConfig.parse(yaml: gateways + "\npromotion: { shadow: {} }")
        #expect(defaults.promotion.shadow == ServerConfig.ShadowEvidenceRule())
        do {
            _ = try ServerConfig.parse(
                yaml: gateways + "\npromotion: { shadow: { rows: 0, margin: 3, windows: 2 } }", source: "server.yaml")
            Issue.record("expected errors")
        } catch {
            let lines = error.description.split(separator: "\n")
            #expect(lines.count == 3, "\(error.description)")
            #expect(error.description.contains("promotion.shadow.rows"))
            #expect(error.description.contains("promotion.shadow.margin"))
            #expect(error.description.contains("windows"))
        }
    }

    struct Rig {
        let dir: URL
        let store: SQLiteStore
        let registry: ModelRegistry
        let announcer: RecordingAnnouncer

        init(_ name: String, rule: String) async throws {
            dir = try temporaryDirectory("shadow-\(name)")
            store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path)
            let config = try ServerConfig.parse(
                yaml: """
                    gateways:
                      - { id: gw-a, scope: office, token: token-a }
                      - { id: gw-b, scope: office, token: token-b }
                      - { id: gw-c, scope: office, token: token-c }
                    promotion: { firstWave: { gateways: [gw-a, gw-b] }, shadow: \(rule) }
                    """)
            announcer = RecordingAnnouncer()
            registry = ModelRegistry(
                config: config, store: store,
                artifacts: try ArtifactStore(root: dir.appendingPathComponent("artifacts").path), signing: nil,
                announcer: announcer, logger: Logger(label: "shadow-test"))
            for v in [1, 2] {
                try await store.addModel(
                    ModelRecord(
                        scope: "office", version: v, modelID: "occupancy-office",
                        sha256: String(repeating: "\(v)", count: 64), size: 100, created: 0, dataFrom: 0, dataTo: 0,
                        labelledRowsSeen: 0, report: "{}"))
            }
            try await registry.promote(
                scope: "office", record: try #require(try await store.model(scope: "office", version: 1)), previous: nil
            )
            // v2 passed the holdout rule: it waits in shadow for its evidence.
            try await registry.awaitShadowEvidence(scope: "office", version: 2)
        }

        /// A window on `gateway` where the challenger is right on `shadowRight` of 100 labelled samples and the
        /// champion on `activeRight`.
        func labelledWindow(_ gateway: String, start: Double, activeRight: Int, shadowRight: Int) async throws {
            // The room is occupied for the whole window; a model is right while it says occupied.
            var pattern: [(Int, Bool?, Bool?)] = []
            let both = min(activeRight, shadowRight)
            pattern.append((both, true, true))
            if activeRight > both { pattern.append((activeRight - both, true, false)) }
            if shadowRight > both { pattern.append((shadowRight - both, false, true)) }
            pattern.append((100 - max(activeRight, shadowRight), false, false))
            try await store.insertMonitor(
                ShadowEvidenceTests.window(gateway, start: start, decidedBy: "model:occupancy-office@1", pattern))
            try await store.insertLabels([
                LabelRange(gateway: gateway, from: start, to: start + 100, occupied: true, source: "http")
            ])
        }

        var promotions: [PromotionRecord] { get async throws { try await store.promotions(scope: "office") } }
    }

    @Test func theChallengerWaitsInShadowAndIsPromotedOnlyWithEnoughBetterEvidenceOnEveryFirstWaveGateway()
        async throws
    {
        let rig = try await Rig("promote", rule: "{ rows: 150, margin: 0.05 }")
        // In shadow on the scope: every gateway is told, the listing says what it waits for.
        #expect(try await rig.registry.shadowModel(for: "gw-c")?.version == 2)
        let listing = try await rig.registry.shadowListing(scope: "office")
        #expect(listing.version == 2 && listing.awaitingEvidence == 2)
        let announced = rig.announcer.shadowAnnouncements
        #expect(Set(announced.map(\.gateway)) == ["gw-a", "gw-b", "gw-c"] && announced.allSatisfy { $0.shadow == 2 })

        // gw-a: 100 labelled rows, challenger 0.90 vs champion 0.80; gw-b nothing yet: not enough, no decision.
        try await rig.labelledWindow("gw-a", start: 10_000, activeRight: 80, shadowRight: 90)
        try await rig.registry.checkShadowEvidence(scope: "office")
        #expect(try await rig.promotions.isEmpty)
        // gw-a reaches 200 rows; gw-b 200 rows too; gw-c (not in the first wave) never counts.
        try await rig.labelledWindow("gw-a", start: 20_000, activeRight: 80, shadowRight: 90)
        try await rig.labelledWindow("gw-b", start: 10_000, activeRight: 70, shadowRight: 90)
        try await rig.registry.checkShadowEvidence(scope: "office")
        #expect(try await rig.promotions.isEmpty) // gw-b: 100 of 150
        try await rig.labelledWindow("gw-b", start: 20_000, activeRight: 70, shadowRight: 90)
        try await rig.registry.checkShadowEvidence(scope: "office")
        let last = try #require(try await rig.promotions.last)
        #expect(last.promoted && last.challenger == 2 && last.champion == 1)
        #expect(last.reason.contains("gw-a: challenger 0.9000, champion 0.8000 on 200 labelled shadow rows"))
        #expect(last.reason.contains("gw-b: challenger 0.9000, champion 0.7000 on 200 labelled shadow rows"))
        #expect(try await rig.store.alias(scope: "office", alias: "champion") == 2)
        #expect(try await rig.store.alias(scope: "office", alias: ModelRegistry.awaitingShadowAlias) == nil)
        // Nobody scores v2 in shadow once it is the model to run.
        #expect(try await rig.registry.shadowModel(for: "gw-a") == nil)
        // The realised accuracies are recorded as `shadow` metrics of both versions.
        let metrics = try await rig.store.metrics(scope: "office").filter { $0.kind == "shadow" }
        #expect(metrics.map(\.version).sorted() == [1, 2])
        #expect(metrics.first { $0.version == 2 }.map { abs($0.value - 0.9) < 1e-12 && $0.rows == 400 } == true)
        #expect(metrics.first { $0.version == 1 }.map { abs($0.value - 0.75) < 1e-12 } == true)
    }

    @Test func aChallengerThatDoesNotBeatTheChampionByTheMarginOnEveryGatewayIsKeptAndItsShadowCleared()
        async throws
    {
        let rig = try await Rig("keep", rule: "{ rows: 100, margin: 0.05 }")
        // gw-a shows it better by 0.10, gw-b only by 0.02: below the margin there.
        try await rig.labelledWindow("gw-a", start: 10_000, activeRight: 80, shadowRight: 90)
        try await rig.labelledWindow("gw-b", start: 10_000, activeRight: 88, shadowRight: 90)
        try await rig.registry.checkShadowEvidence(scope: "office")
        let last = try #require(try await rig.promotions.last)
        #expect(!last.promoted && last.challenger == 2)
        #expect(last.reason.contains("gw-b: challenger 0.9000, champion 0.8800 on 100 labelled shadow rows"))
        #expect(last.reason.contains("does not beat the champion by the margin on every gateway"))
        #expect(try await rig.store.alias(scope: "office", alias: "champion") == 1)
        #expect(try await rig.store.alias(scope: "office", alias: "challenger") == 2)
        #expect(try await rig.registry.shadowModel(for: "gw-a") == nil)
        // Decided once: the next check finds nothing waiting.
        try await rig.registry.checkShadowEvidence(scope: "office")
        #expect(try await rig.promotions.count == 1)
    }
}
