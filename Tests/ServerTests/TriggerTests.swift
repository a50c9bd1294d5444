import Evaluator
import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Server
import Testing

/// The retraining schedule runs on the registry's clock: a manual clock moves it, nothing sleeps.
@Suite(.serialized) struct TriggerTests {
    @Test func scheduledRetrainingFollowsTheClock() async throws {
        let dir = try temporaryDirectory("schedule")
        _ = try SigningKeys.save(SigningKeys.generate(), prefix: dir.appendingPathComponent("server").path)
        var config = try ServerConfig.parse(
            yaml: """
                gateways: [{ id: gw-a, scope: office, token: a }]
                retrain: { trials: 3, newLabelledRows: 0, every: 1h }
                alerts: { minimumRows: 1000000 }
                """)
        config.stateDirectory = dir.path
        config.signingKey = dir.appendingPathComponent("server.key").path
        let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path)
        let clock = ManualClock(Instant(seconds: 1_767_600_000))
        let registry = ModelRegistry(
            config: config, store: store,
            artifacts: try ArtifactStore(root: dir.appendingPathComponent("artifacts").path),
            signing: try SigningKeys.readPrivateKey(path: config.signingKey!), announcer: RecordingAnnouncer(),
            logger: Logger(label: "test"),
            clock: clock)
        let (rows, labels) = simulatedDays(0..<2, gateway: "gw-a")
        _ = try await store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: rows)
        try await store.insertLabels(labels)

        // Never trained: the schedule is due at once, and the model is stamped with the clock's time.
        await registry.checkTriggers()
        let first = try await store.models(scope: "office")
        #expect(first.map(\.version) == [1])
        #expect(first.first?.created == clock.now().seconds)

        // Not again until an hour of the clock has passed.
        await registry.checkTriggers()
        clock.advance(3599)
        await registry.checkTriggers()
        #expect(try await store.models(scope: "office").count == 1)
        clock.advance(1)
        await registry.checkTriggers()
        #expect(try await store.models(scope: "office").map(\.version) == [1, 2])
    }
}
