import Evaluator
import FleetProtocol
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import OccupantCore
import OccupantTesting
import Testing
import Training

@testable import OccupantCLI
@testable import Server

/// Room models: trained once a room has enough labels, assigned to its gateway only when they beat the fleet model
/// on the room's own held-out rows, and reported per room.
@Suite(.serialized) struct RoomModelTests {
    /// `rows` with every label flipped: a room whose sensors mean the opposite (the fleet model learns it wrong).
    func inverted(_ labels: [LabelRange]) -> [LabelRange] {
        labels.map {
            LabelRange(gateway: $0.gateway, from: $0.from, to: $0.to, occupied: !$0.occupied, source: $0.source)
        }
    }

    /// On each store: the room models, their aliases and decisions live in the tables every model uses.
    @Test(arguments: StoreKind.allCases)
    func aRoomModelIsAssignedOnlyWhenItBeatsTheFleetModelOnTheRoomsHeldOutRows(_ kind: StoreKind) async throws {
        // The system's clock: a job's lease is measured by it.
        let rig = try await RouteRig.make(
            "rooms", kind: kind,
            extraYAML: """
                retrain: { trials: 3, holdout: 0.25, rooms: { labels: 5, days: 3 } }
                promotion: { margin: 0.005 }
                dashboard: { viewerToken: viewer-token }
                """)
        defer { rig.close() }
        let (store, config, registry, routes, announcer) = (
            rig.store, rig.config, rig.registry, rig.routes, rig.announcer
        )
        // The fleet model learns from gw-b, whose labels mean the opposite of gw-a's.
        let (rb, lb) = simulatedDays(0..<3, gateway: "gw-b", step: 120)
        _ = try await store.insertTelemetry(gateway: "gw-b", batchID: nil, rows: rb)
        try await store.insertLabels(inverted(lb))
        let fleetJob = try await registry.retrain(scope: "office", trigger: "test")
        let fleetVersion = try #require(fleetJob.version, "\(fleetJob.reason)")
        if !fleetJob.promoted {
            _ = try await registry.promoteByOperator(scope: "office", version: fleetVersion, by: "test")
        }
        let fleet = try #require(try await store.model(scope: "office", version: fleetVersion))
        // The scope's job also judged gw-b (three days of labels): its room model is no better than the fleet model
        // trained on the same rows, so gw-b keeps the fleet model.
        #expect(try await store.models(scope: "room:gw-b").count == 1)
        #expect(try await store.alias(scope: "room:gw-b", alias: "champion") == nil)
        // gw-a: not enough labels yet: no room model, the fleet model.
        #expect(try await registry.trainRoom(gateway: "gw-a", trigger: "test") == nil)
        #expect(try await registry.model(for: "gw-a")?.sha256 == fleet.sha256)

        // Five days of gw-a's own labels: its room model beats the fleet model on gw-a's latest rows.
        let (ra, la) = simulatedDays(0..<5, gateway: "gw-a", seed: 7, step: 120)
        _ = try await store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: ra)
        try await store.insertLabels(la)
        let decision = try #require(try await registry.trainRoom(gateway: "gw-a", trigger: "test"))
        #expect(decision.assigned, "\(decision.reason)")
        #expect(decision.reason.hasPrefix("room model assigned"))
        let holdout = try #require(decision.holdout)
        let fleetScore = try #require(holdout.fleet)
        #expect(holdout.fleetVersion == fleetVersion)
        #expect(try #require(holdout.room.accuracy) > (try #require(fleetScore.accuracy)) + 0.005)
        // The held-out rows are gw-a's latest, after the fleet model's data: neither model trained on them.
        let from = try #require(Instant(iso8601: holdout.from))
        #expect(from.seconds >= fleet.dataTo)
        #expect(holdout.rows > 0 && holdout.rows < ra.count / 2)
        let room = try #require(try await registry.model(for: "gw-a"))
        #expect(room.scope == "room:gw-a" && room.version == decision.roomVersion)
        let bundle = try ModelBundle.decode(try registry.artifacts.get(sha256: room.sha256))
        #expect(bundle.manifest.scope.description == "room gw-a")
        // Only gw-a: gw-b keeps the fleet model; gw-a was told of its new model.
        #expect(try await registry.model(for: "gw-b")?.sha256 == fleet.sha256)
        #expect(announcer.available.last.map { $0.0 } == "gw-a")
        let roomReport = try ModelRegistry.decodeReport(room.report)
        #expect(roomReport.gateways?.map(\.gateway) == ["gw-a"] && roomReport.gateway == "gw-a")

        // The per-room report over HTTP, for the admin and the viewer, not for a gateway.
        try await Application(router: routes.router()).test(.router) { client in
            let uri = "/v1/scopes/office/rooms"
            for token in ["admin-token", "viewer-token"] {
                let response = try await client.execute(
                    uri: uri, method: .get, headers: [.authorization: "Bearer \(token)"])
                #expect(response.status == .ok)
                let document = try FleetJSON.decode(RoomsDocument.self, from: Data(buffer: response.body))
                let a = try #require(document.rooms.first { $0.gateway == "gw-a" })
                #expect(a.eligible && a.runs == "room v\(room.version)" && a.last?.assigned == true)
                #expect(a.last?.holdout?.fleetVersion == fleetVersion)
                #expect(ServerCommand.Rooms.lines(document).contains { $0.hasPrefix("gw-a") && $0.contains("room v") })
                let k = try #require(document.rooms.first { $0.gateway == "küche" })
                #expect(!k.eligible && k.waiting == "0 of 5 label spans, on 0 of 3 days")
                #expect(k.runs == "fleet v\(fleetVersion)")
            }
            let gateway = try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer token-a"])
            #expect(gateway.status == .forbidden)
            let unknown = try await client.execute(
                uri: "/v1/scopes/nowhere/rooms", method: .get, headers: [.authorization: "Bearer admin-token"])
            #expect(unknown.status == .notFound)
        }

        // The CLI's client over a real connection: `occupant server rooms office`.
        let app = Application(router: routes.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let document = try await RegistryClient.with(
                baseURL: "http://127.0.0.1:\(client.port!)", token: "viewer-token"
            ) { try await $0.rooms(scope: "office") }
            #expect(document.rooms.map(\.gateway) == ["gw-a", "gw-b", "küche", "room 1"])
            #expect(document.rooms[0].last?.assigned == true)
        }

        // A rule the room model cannot meet (a margin of 1): the room goes back to the fleet model, and is told so.
        var strict = config
        strict.promotion.margin = 1
        let strictRegistry = ModelRegistry(
            config: strict, store: store, artifacts: registry.artifacts, signing: await registry.signing,
            announcer: announcer, logger: .init(label: "test"), jobs: registry.jobs)
        let kept = try #require(try await strictRegistry.trainRoom(gateway: "gw-a", trigger: "test"))
        #expect(!kept.assigned && kept.reason.contains("does not beat the fleet model by the margin"), "\(kept.reason)")
        #expect(kept.reason.hasPrefix("fleet model kept"))
        #expect(try await strictRegistry.model(for: "gw-a")?.sha256 == fleet.sha256)
        #expect(announcer.available.last.map { "\($0.0) v\($0.1)" } == "gw-a v\(fleetVersion)")
    }

    @Test func labelCoverageCountsSpansAndTheDaysTheyFallOn() {
        let day = 86_400.0
        let labels = [
            LabelRange(gateway: "g", from: 0, to: 3_600, occupied: true, source: "t"),
            LabelRange(gateway: "g", from: 7_200, to: 9_000, occupied: false, source: "t"),
            // Over midnight into day 2: days 1 and 2.
            LabelRange(gateway: "g", from: 2 * day - 60, to: 2 * day + 60, occupied: true, source: "t"),
            // Ends exactly at midnight: day 5 only.
            LabelRange(gateway: "g", from: 5 * day, to: 6 * day, occupied: true, source: "t"),
        ]
        let coverage = ModelRegistry.labelCoverage(labels)
        #expect(coverage.spans == 4 && coverage.days == 4)
    }

    @Test func roomSettingsAreReadAndBadValuesRefusedInOneLine() throws {
        let defaults = try ServerConfig.parse(yaml: "gateways: [{ id: g, token: t }]")
        #expect(defaults.retrain.rooms == .init(enabled: true, labels: 50, days: 7))
        let set = try ServerConfig.parse(
            yaml: "gateways: [{ id: g, token: t }]\nretrain: { rooms: { labels: 80, days: 14, enabled: false } }")
        #expect(set.retrain.rooms == .init(enabled: false, labels: 80, days: 14))
        for (yaml, message) in [
            ("retrain: { rooms: { labels: 0 } }", "0 is out of range 1…1000000"),
            ("retrain: { rooms: { days: 1 } }", "1 is out of range 2…3650"),
            ("retrain: { rooms: { days: 2.5 } }", "expected a whole number, got 2.5"),
            ("retrain: { rooms: { label: 5 } }", "label"),
        ] {
            #expect {
                try ServerConfig.parse(yaml: "gateways: [{ id: g, token: t }]\n" + yaml)
            } throws: { error in
                let text = "\(error)"
                return text.contains("retrain.rooms") && text.contains(message) && !text.contains("\n")
            }
        }
    }
}

@Suite struct RoomRolloutTests {
    @Test(arguments: StoreKind.allCases)
    func aGatewayOnItsRoomModelDoesNotHoldUpTheScopesRollout(_ kind: StoreKind) async throws {
        let rig = try await RouteRig.make(
            "room-rollout", kind: kind,
            extraYAML: """
                promotion: { firstWave: { gateways: [gw-a, gw-b] }, probation: 0 }
                """)
        defer { rig.close() }
        let store = rig.store
        func record(_ scope: String, _ version: Int) -> ModelRecord {
            ModelRecord(
                scope: scope, version: version, modelID: "m", sha256: String(repeating: "\(version)", count: 64),
                size: 1, created: 0, dataFrom: 0, dataTo: 0, labelledRowsSeen: 0, report: "{}")
        }
        for v in [1, 2] { try await store.addModel(record("office", v)) }
        try await store.setAlias(scope: "office", alias: "champion", version: 1)
        // gw-a runs a room model of its own.
        try await store.addModel(record("room:gw-a", 1))
        try await store.setAlias(scope: "room:gw-a", alias: "champion", version: 1)
        try await rig.registry.promote(scope: "office", record: record("office", 2), previous: 1)
        #expect(try await store.rollout(scope: "office")?.reached == 0)
        #expect(try await rig.registry.model(for: "gw-a")?.scope == "room:gw-a")
        #expect(try await rig.registry.model(for: "küche")?.version == 1)
        // gw-b runs v2: the first wave passed (gw-a, on its room model, is not waited for).
        try await rig.registry.gatewayReported(
            GatewayStatus(gateway: "gw-b", active: "m@2", sha256: record("office", 2).sha256, refused: nil, at: 0))
        #expect(try await store.rollout(scope: "office")?.reached == 1)
        #expect(try await rig.registry.model(for: "küche")?.version == 2)
    }
}
