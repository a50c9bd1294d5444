import FleetProtocol
import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// A gateway's assignment — its room model first, else its scope's champion as far as a rollout has reached it —
/// answered by the store in one read, on both stores; and what that costs a poll and a rollout step on PostgreSQL.
@Suite struct StoreContractAssignmentTests {
    static func model(_ version: Int, scope: String = "office") -> ModelRecord {
        StoreContractTests.model(version, scope: scope)
    }

    @Test(arguments: StoreKind.allCases)
    func aRoomsChampionComesBeforeTheScopesAssignment(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        for v in [1, 2] { try await s.addModel(Self.model(v)) }
        try await s.setAlias(scope: "office", alias: "champion", version: 2)
        try await s.startRollout(
            Rollout(scope: "office", version: 2, previous: 1, waves: 2, started: 0),
            members: [RolloutMember(gateway: "gw-a", wave: 0), RolloutMember(gateway: "gw-b", wave: 1)])
        // No room model: the scope's assignment, as far as the rollout has reached the gateway.
        #expect(try await s.assignedModel(scope: "office", gateway: "gw-a", room: "room:gw-a") == Self.model(2))
        #expect(try await s.assignedModel(scope: "office", gateway: "gw-b", room: "room:gw-b") == Self.model(1))
        // A room model trained but not assigned changes nothing.
        try await s.addModel(Self.model(1, scope: "room:gw-b"))
        #expect(try await s.assignedModel(scope: "office", gateway: "gw-b", room: "room:gw-b") == Self.model(1))
        // Assigned: the room's model, whatever the scope's rollout; not with room models off (room nil).
        try await s.setAlias(scope: "room:gw-b", alias: "champion", version: 1)
        #expect(
            try await s.assignedModel(scope: "office", gateway: "gw-b", room: "room:gw-b")
                == Self.model(1, scope: "room:gw-b"))
        #expect(try await s.assignedModel(scope: "office", gateway: "gw-b", room: nil) == Self.model(1))
        #expect(try await s.assignedModel(scope: "office", gateway: "gw-b") == Self.model(1))
        // A scope with no champion: the room's model still; neither: none.
        #expect(
            try await s.assignedModel(scope: "lab", gateway: "gw-b", room: "room:gw-b")
                == Self.model(1, scope: "room:gw-b"))
        #expect(try await s.assignedModel(scope: "lab", gateway: "gw-a", room: "room:gw-a") == nil)
        // Taken back: the scope's assignment again.
        try await s.setAlias(scope: "room:gw-b", alias: "champion", version: nil)
        #expect(try await s.assignedModel(scope: "office", gateway: "gw-b", room: "room:gw-b") == Self.model(1))
    }

    @Test(arguments: StoreKind.allCases)
    func whichScopesHaveAnAliasIsOneRead(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        #expect(try await s.scopes([], withAlias: "champion") == [])
        try await s.addModel(Self.model(1, scope: "room:gw-a"))
        try await s.addModel(Self.model(1, scope: "room:küche"))
        try await s.setAlias(scope: "room:gw-a", alias: "champion", version: 1)
        try await s.setAlias(scope: "room:küche", alias: "champion", version: 1)
        try await s.setAlias(scope: "room:küche", alias: "shadow", version: 1)
        try await s.setAlias(scope: "room:küche", alias: "champion", version: nil)
        let asked = ["room:gw-a", "room:gw-b", "room:küche"] + (0..<500).map { "room:g\($0)" }
        #expect(try await s.scopes(asked, withAlias: "champion") == ["room:gw-a"])
        #expect(try await s.scopes(asked, withAlias: "shadow") == ["room:küche"])
    }

    /// On PostgreSQL, counted: a gateway's poll (the `model` route, answered `304`) is one query, with room models
    /// on, a room model or not, a rollout or not; a rollout step asks which of its wave run room models in one.
    @Test func aPollAndARolloutStepsRoomCheckAreOneQueryEachOnPostgres() async throws {
        let rig = try await RouteRig.make(
            "assignment-queries", kind: .postgres,
            extraYAML: "promotion: { firstWave: { gateways: [gw-a, gw-b] }, probation: 3600 }")
        defer { rig.close() }
        let store = try #require(rig.store as? PostgresStore)
        for v in [1, 2] { try await store.addModel(Self.model(v)) }
        try await store.setAlias(scope: "office", alias: "champion", version: 1)
        try await store.addModel(Self.model(1, scope: "room:gw-a"))
        try await store.setAlias(scope: "room:gw-a", alias: "champion", version: 1)
        try await rig.registry.promote(scope: "office", record: Self.model(2), previous: 1)
        @Sendable func count() -> Int { store.queries.load(ordering: .relaxed) }
        let expected = ["gw-a": Self.model(1, scope: "room:gw-a"), "gw-b": Self.model(2), "küche": Self.model(1)]
        try await rig.test { client in
            for (gateway, token) in [("gw-a", "token-a"), ("gw-b", "token-b"), ("küche", "token-k")] {
                let model = try #require(expected[gateway])
                let before = count()
                let status = try await client.execute(
                    uri: API.gatewayModel(gateway), method: .get,
                    headers: [.authorization: "Bearer \(token)", .ifNoneMatch: "\"\(model.sha256)\""]
                ).status
                let n = count() - before
                #expect(status == .notModified, "\(gateway)")
                #expect(n == 1, "\(gateway): \(n) queries")
            }
        }
        let before = count()
        let roomed = try await rig.registry.gatewaysWithRoomModels(["gw-a", "gw-b", "küche", "room 1"])
        let n = count() - before
        #expect(roomed == ["gw-a"] && n == 1, "\(roomed), \(n) queries")
    }
}
