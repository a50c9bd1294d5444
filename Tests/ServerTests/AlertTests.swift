import Evaluator
import Foundation
import Hummingbird
import Logging
import NIOCore
import OccupantCore
import OccupantTesting
import Server
import Testing

@Suite(.serialized) struct AlertTests {
    /// The champion is trained on honest labels; then the room's labels stop matching what the sensors say (a new
    /// use of the room, say). Its accuracy on the newly labelled rows falls below its holdout baseline: one alert.
    @Test func championQualityDropRaisesOneAlert() async throws {
        let dir = try temporaryDirectory("alerts")
        _ = try SigningKeys.save(SigningKeys.generate(), prefix: dir.appendingPathComponent("server").path)
        var config = try ServerConfig.parse(
            yaml: """
                gateways: [{ id: gw-a, scope: office, token: a }]
                retrain: { trials: 3 }
                alerts: { margin: 0.05, minimumRows: 500 }
                """)
        config.stateDirectory = dir.path
        config.signingKey = dir.appendingPathComponent("server.key").path
        let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path)
        let announcer = RecordingAnnouncer()
        let clock = ManualClock(Instant(seconds: 1_767_600_000))
        let registry = ModelRegistry(
            config: config, store: store,
            artifacts: try ArtifactStore(root: dir.appendingPathComponent("artifacts").path),
            signing: try SigningKeys.readPrivateKey(path: config.signingKey!), announcer: announcer,
            logger: Logger(label: "test"),
            clock: clock)
        let (rows, labels) = simulatedDays(0..<2, gateway: "gw-a")
        _ = try await store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: rows)
        try await store.insertLabels(labels)
        let first = try await registry.retrain(scope: "office", trigger: "test")
        #expect(first.promoted, "\(first.reason)")

        // Before any new labels: nothing to judge, no alert.
        try await registry.checkQuality(scope: "office")
        #expect(announcer.state.withLock { $0.alerts }.isEmpty)

        // A third day whose labels are inverted.
        let (newRows, newLabels) = simulatedDays(2..<3, gateway: "gw-a")
        _ = try await store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: newRows)
        try await store.insertLabels(
            newLabels.map {
                var l = $0
                l.occupied.toggle()
                return l
            })
        clock.advance(86_400)
        try await registry.checkQuality(scope: "office")
        try await registry.checkQuality(scope: "office")
        let alerts = announcer.state.withLock { $0.alerts }
        #expect(alerts.count == 1)
        let alert = try #require(alerts.first)
        #expect(alert.numbers["measured"]! < alert.numbers["baseline"]! - 0.05)
        #expect(alert.kind == "accuracy" && alert.state == "open" && alert.numbers["version"] == 1)
        #expect(alert.message.contains("occupancy-office@1"))
        // Stamped by the registry's clock, not the host's.
        #expect(alert.raisedAt == clock.now().iso8601)
        #expect(try await store.alerts(scope: "office").count == 1)
        #expect(try await store.metrics(scope: "office").contains { $0.kind == "live" })

        // The labels are corrected and another honest day arrives: the condition stops, the alert is cleared once.
        try await store.insertLabels(newLabels)
        let (day4, labels4) = simulatedDays(3..<4, gateway: "gw-a")
        _ = try await store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: day4)
        try await store.insertLabels(labels4)
        clock.advance(86_400)
        try await registry.checkQuality(scope: "office")
        let after = announcer.state.withLock { $0.alerts }
        #expect(after.count == 2)
        let cleared = try #require(after.last)
        #expect(cleared.id == alert.id && cleared.state == "cleared" && cleared.clearedAt == clock.now().iso8601)
        #expect(try await store.alertDocuments(open: true).isEmpty)
        // Judged again with more good rows: nothing more to say.
        let (day5, labels5) = simulatedDays(4..<5, gateway: "gw-a")
        _ = try await store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: day5)
        try await store.insertLabels(labels5)
        try await registry.checkQuality(scope: "office")
        #expect(announcer.state.withLock { $0.alerts }.count == 2)
    }

    /// The webhook gets the alert as JSON over real HTTP.
    @Test func alertIsPostedToTheWebhook() async throws {
        let received = Locked<[String]>([])
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            received.withLock { $0.append(String(buffer: body)) }
            return .noContent
        }
        try await withLoopbackApp(router) { port in
            var config = ServerConfig()
            config.broker = nil
            config.alerts.webhook = "http://127.0.0.1:\(port)/hook"
            let mqtt = try ServerMQTT(
                config: config,
                store: try SQLiteStore(path: try temporaryDirectory("hook").appendingPathComponent("s.sqlite").path),
                logger: Logger(label: "t"))
            await mqtt.alert(
                AlertDocument(
                    id: 7, kind: "accuracy", scope: "office", gateway: nil,
                    numbers: ["baseline": 0.97, "measured": 0.8, "rows": 900],
                    message: "m@3 accuracy 0.8000 on 900 rows",
                    raisedAt: "2026-11-22T00:00:00Z"))
            let bodies = try await waitUntil(timeout: 10, "the webhook POST") {
                received.withLock { $0.isEmpty ? nil : $0 }
            }
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(bodies[0].utf8)) as? [String: Any])
            #expect(doc["scope"] as? String == "office")
            #expect((doc["numbers"] as? [String: Any])?["measured"] as? Double == 0.8)
            #expect(doc["id"] as? Int == 7 && doc["state"] as? String == "open")
        }
    }
}
