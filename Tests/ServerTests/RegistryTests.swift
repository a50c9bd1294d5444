import Evaluator
import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Server
import Testing
import Training

/// Records what the registry would push and alert.
final class RecordingAnnouncer: FleetAnnouncer {
    let state = Locked<(available: [(String, Int)], alerts: [AlertDocument])>(([], []))
    func modelAvailable(gateway: String, model: ModelRecord, url: String) async {
        state.withLock { $0.available.append((gateway, model.version)) }
    }
    func alert(_ alert: AlertDocument) async { state.withLock { $0.alerts.append(alert) } }
    var available: [(String, Int)] { state.withLock { $0.available } }
    /// Announcements that named a shadow assignment (nil: none), in order.
    let shadows = Locked<[(gateway: String, shadow: Int?)]>([])
    func modelAvailable(gateway: String, model: ModelRecord, url: String, shadow: ModelRecord?) async {
        shadows.withLock { $0.append((gateway, shadow?.version)) }
        await modelAvailable(gateway: gateway, model: model, url: url)
    }
    var shadowAnnouncements: [(gateway: String, shadow: Int?)] { shadows.withLock { $0 } }
}

@Suite(.serialized) struct RegistryTests {
    func makeConfig(_ dir: URL, firstWave: [String] = []) throws -> ServerConfig {
        let key = dir.appendingPathComponent("server").path
        _ = try SigningKeys.save(SigningKeys.generate(), prefix: key)
        var config = try ServerConfig.parse(
            yaml: """
                gateways:
                  - { id: gw-a, scope: office, token: a }
                  - { id: gw-b, scope: office, token: b }
                retrain: { trials: 4, holdout: 0.25 }
                """)
        config.stateDirectory = dir.path
        config.signingKey = key + ".key"
        config.promotion.firstWave = firstWave
        config.promotion.probation = 0 // the wave passes as soon as it runs the model
        return config
    }

    @Test func storeKeepsBatchesOnceAndSurvivesReopening() async throws {
        let dir = try temporaryDirectory("store")
        let path = dir.appendingPathComponent("server.sqlite").path
        let (rows, labels) = simulatedDays(0..<1, gateway: "gw-a", step: 600)
        do {
            let store = try SQLiteStore(path: path)
            let first = try await store.insertTelemetry(gateway: "gw-a", batchID: "b1", rows: rows)
            #expect(first.accepted == rows.count && !first.duplicate)
            let again = try await store.insertTelemetry(gateway: "gw-a", batchID: "b1", rows: rows)
            #expect(again.accepted == 0 && again.duplicate)
            // The same readings under another batch id (an MQTT copy, say) add nothing either.
            let copy = try await store.insertTelemetry(gateway: "gw-a", batchID: "b2", rows: Array(rows.prefix(10)))
            #expect(copy.accepted == 0 && !copy.duplicate)
            try await store.insertLabels(labels)
        }
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.telemetryCount() == rows.count)
        #expect(try await reopened.labelledRowCount(gateways: ["gw-a"]) == rows.count)
        #expect(try await reopened.labels(gateways: ["gw-a"]).count == labels.count)
    }

    @Test func joinUsesTheLatestLabelForEachRow() {
        let rows = (0..<10).map {
            TelemetryRow(gateway: "g", at: Double(1_000_000_000 + $0 * 10), readings: ["sound": .number(Double($0))])
        }
        let labels = [
            LabelRange(gateway: "g", from: 1_000_000_000, to: 1_000_000_100, occupied: false, source: "t"),
            LabelRange(gateway: "g", from: 1_000_000_030, to: 1_000_000_050, occupied: true, source: "t"),
        ]
        let table = TrainingData.table(rows: rows, labels: labels)
        #expect(table.labels.map { $0.map(Int.init) } == [0, 0, 0, 1, 1, 0, 0, 0, 0, 0])
        #expect(table.channels == ["sound"])
    }

    @Test func retrainPromotesByTheRuleAndRollsOutInWaves() async throws {
        let dir = try temporaryDirectory("registry")
        let config = try makeConfig(dir, firstWave: ["gw-a"])
        let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path)
        let announcer = RecordingAnnouncer()
        let registry = ModelRegistry(
            config: config, store: store,
            artifacts: try ArtifactStore(root: dir.appendingPathComponent("artifacts").path),
            signing: try SigningKeys.readPrivateKey(path: config.signingKey!), announcer: announcer,
            logger: Logger(label: "test"))

        let none = try await registry.retrain(scope: "office", trigger: "test")
        #expect(none.version == nil && none.reason.contains("no labelled telemetry"))

        let (rows, labels) = simulatedDays(0..<3, gateway: "gw-a")
        _ = try await store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: rows)
        try await store.insertLabels(labels)

        // First model: no champion, must beat the rule.
        let first = try await registry.retrain(scope: "office", trigger: "test")
        #expect(first.version == 1)
        #expect(first.promoted, "\(first.reason)")
        #expect(first.reason.contains("rule ("))
        #expect(try await store.alias(scope: "office", alias: "champion") == 1)
        // No previous model: everyone gets it at once.
        #expect(announcer.available.map(\.0).sorted() == ["gw-a", "gw-b"])
        let record = try #require(try await registry.model(for: "gw-b"))
        // The bundle on disk is signed by the server's key and opens.
        let bytes = try registry.artifacts.get(sha256: record.sha256)
        let key = try SigningKeys.readPublicKey(path: dir.appendingPathComponent("server.pub").path)
        let bundle = try ModelBundle.open(
            bytes, trustedKeys: [key], now: Instant(seconds: Date().timeIntervalSince1970))
        #expect(bundle.manifest.version == 1)
        #expect(bundle.manifest.scope.description == "site office")

        // Same data again: the challenger cannot beat the champion by the margin, so it stays a challenger.
        let second = try await registry.retrain(scope: "office", trigger: "test")
        #expect(second.version == 2)
        #expect(!second.promoted, "\(second.reason)")
        #expect(second.reason.contains("does not beat the champion by the margin"))
        #expect(try await store.alias(scope: "office", alias: "champion") == 1)
        #expect(try await store.alias(scope: "office", alias: "challenger") == 2)
        let decisions = try await store.promotions(scope: "office")
        #expect(decisions.map(\.promoted) == [true, false])

        // A forced promotion of v2 with a first wave: gw-b keeps v1 until gw-a runs v2.
        let v2 = try #require(try await store.model(scope: "office", version: 2))
        try await registry.promote(scope: "office", record: v2, previous: 1)
        #expect(try await registry.model(for: "gw-a")?.version == 2)
        #expect(try await registry.model(for: "gw-b")?.version == 1)
        #expect(announcer.available.suffix(1).map(\.0) == ["gw-a"])
        try await registry.gatewayReported(
            GatewayStatus(gateway: "gw-a", active: "x@2", sha256: v2.sha256, refused: nil, at: 0))
        #expect(try await registry.model(for: "gw-b")?.version == 2)
        #expect(announcer.available.suffix(1).map(\.0) == ["gw-b"])
    }

    @Test func promotionRuleNeedsTheMarginAndTheRule() {
        func metrics(_ accuracy: Double) -> BinaryMetricsFixture { BinaryMetricsFixture(accuracy: accuracy) }
        let rule = PromotionRule(metric: .accuracy, margin: 0.01)
        let c = metrics(0.95).value
        let p = metrics(0.945).value
        let r = metrics(0.90).value
        #expect(!rule.decide(challenger: c, champion: (1, p), rule: ("sound >= 10", r)).promote)
        #expect(rule.decide(challenger: c, champion: (1, metrics(0.94).value), rule: ("sound >= 10", r)).promote)
        #expect(!rule.decide(challenger: c, champion: nil, rule: ("sound >= 10", metrics(0.96).value)).promote)
        #expect(rule.decide(challenger: c, champion: nil, rule: nil).promote)
    }
}

/// Metrics with a given accuracy: `n` rows of which round(accuracy·n) are right.
struct BinaryMetricsFixture {
    let value: BinaryMetrics
    init(accuracy: Double, n: Int = 1000) {
        let right = Int((accuracy * Double(n)).rounded())
        let labels = [UInt8](repeating: 1, count: n)
        let decisions = (0..<n).map { $0 < right }
        value = BinaryMetrics(decisions: decisions, scores: decisions.map { $0 ? 1 : 0 }, labels: labels)
    }
}
