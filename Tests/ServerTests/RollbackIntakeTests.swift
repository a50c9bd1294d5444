import FleetProtocol
import Foundation
import HummingbirdTesting
import Logging
import MQTT
import NIOCore
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// A gateway's automatic rollback reaches the server through its retained `model/status`: stored once per (gateway,
/// bundle, time) however often the status is delivered again, kept across a restart of the store, shown in the
/// gateway listing's text, and a malformed member is refused with one reason.
@Suite(.serialized) struct RollbackIntakeTests {
    static let sha = String(repeating: "c3", count: 32)

    static func status(at: String = "2026-01-05T10:00:00.000Z", sha: String = sha) -> String {
        #"{"active":"good@1","at":"2026-01-05T10:00:01.000Z","refused":null,"rolledBack":{"version":5,"sha256":"\#(sha)","guard":"stuck","reason":"probability 0.5 unchanged for 1200 s while the inputs moved (limit 1200 s)","at":"\#(at)"},"sha256":null}"#
    }

    @Test func rollbacksAreStoredOnceAndListed() async throws {
        let rig = try await MQTTIntakeRig("rollback-intake")
        let store = rig.store
        // The same status three times (a retained message delivered again), then a malformed one, then a second
        // rollback of the same bundle later.
        for _ in 0..<3 { try rig.publishStatus(Self.status()) }
        try rig.publishStatus(Self.status(at: "yesterday"))
        try rig.publishStatus(Self.status(at: "2026-01-06T10:00:00.000Z"))
        let stored = try await waitUntil(timeout: 20, "two rollbacks stored") {
            () async throws -> [ModelRollbackRecord]? in
            let all = try await store.rollbacks(gateway: "gw-a")
            return all.count >= 2 ? all : nil
        }
        #expect(stored.count == 2)
        #expect(stored.allSatisfy { $0.sha256 == Self.sha && $0.version == 5 && $0.guardName == "stuck" })
        #expect(
            stored.map(\.at) == [
                Instant(iso8601: "2026-01-05T10:00:00Z")!.seconds, Instant(iso8601: "2026-01-06T10:00:00Z")!.seconds,
            ])
        #expect(stored[0].summary.hasPrefix("v5 stuck: probability 0.5 unchanged"))
        // The status itself is stored as before.
        #expect(try await store.gatewayStatuses().first { $0.gateway == "gw-a" }?.active == "good@1")
        await rig.stop()

        // Kept across a restart of the store.
        let reopened = try SQLiteStore(path: rig.path)
        #expect(try await reopened.rollbacks(gateway: nil).count == 2)
    }

    /// `GET /v1/gateways` names each gateway's last rollback; a gateway without one has no `rolledBack` member.
    @Test func theGatewayListingShowsTheLastRollback() async throws {
        let rig = try RouteRig("rollback-listing")
        for (version, at) in [(4, 1_767_600_000.0), (5, 1_767_700_000.0)] {
            let stored = try await rig.store.addRollback(
                ModelRollbackRecord(
                    gateway: "gw-a", version: version, sha256: String(repeating: "\(version)", count: 64),
                    guardName: version == 5 ? "flapping" : "stuck", reason: "v\(version)'s numbers", at: at,
                    received: at + 1))
            #expect(stored)
        }
        try await rig.test { client in
            let response = try await client.execute(uri: API.gateways, method: .get, headers: bearer("admin-token"))
            #expect(!String(buffer: response.body).contains(#""rolledBack":null"#))
            let listing = try decode(GatewayListing.self, response)
            #expect(listing.gateways.first { $0.id == "gw-a" }?.rolledBack == "v5 flapping: v5's numbers")
            #expect(listing.gateways.filter { $0.id != "gw-a" }.allSatisfy { $0.rolledBack == nil })
        }
    }
}
