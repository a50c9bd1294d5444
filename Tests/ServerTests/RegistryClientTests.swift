import FleetProtocol
import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// The typed admin client against the real routes on a loopback port.
@Suite struct RegistryClientTests {
    @Test func answersAreTypedDocuments() async throws {
        let rig = try RouteRig("registry-client")
        let sha = try await rig.champion(Array(repeating: 1, count: 32))
        try await rig.live { base in
            try await RegistryClient.with(baseURL: base + "/", token: "admin-token") { registry in
                #expect(registry.baseURL == base)
                let listing = try await registry.models(scope: "office")
                #expect(listing.models.map(\.sha256) == [sha])
                #expect(try await registry.models(scope: "elsewhere").models.isEmpty)
                let gateways = try await registry.gateways()
                #expect(gateways.gateways.first { $0.id == "room 1" }?.assigned == "occupancy-office@1")
                let receipt = try await registry.importLabels([
                    LabelDocument(
                        gateway: "küche", from: TimeValue(seconds: 1_767_571_200),
                        to: TimeValue(seconds: 1_767_574_800), occupied: true)
                ])
                #expect(receipt == LabelsReceipt(accepted: 1))
                #expect(try await registry.stats().labelRanges == 1)
                // No labelled telemetry: the job answers, but trains nothing.
                let outcome = try await registry.retrain(scope: "office")
                #expect(!outcome.trained && outcome.reason == "no labelled telemetry in office yet", "\(outcome)")
            }
        }
    }

    @Test func refusalsCarryTheStatusAndTheServersReason() async throws {
        let rig = try RouteRig("registry-client-refused")
        try await rig.live { base in
            try await RegistryClient.with(baseURL: base, token: "token-a") { registry in
                let error = await #expect(throws: RegistryClientError.self) { try await registry.gateways() }
                #expect(error?.kind == .refused(status: 403))
                #expect(
                    error?.description == "\(base)/v1/gateways: the server answered 403: this needs the admin token")
            }
            try await RegistryClient.with(baseURL: base, token: "admin-token") { registry in
                let error = await #expect(throws: RegistryClientError.self) {
                    try await registry.retrain(scope: "no such")
                }
                #expect(error?.kind == .refused(status: 404))
                #expect(error?.url == "\(base)/v1/scopes/no%20such/retrain")
            }
        }
    }

    @Test func aServerThatIsNotThereFailsFastNamingTheURL() async throws {
        let port = try freeLoopbackPort()
        let started = ContinuousClock.now
        let error = await #expect(throws: RegistryClientError.self) {
            try await RegistryClient.with(baseURL: "http://127.0.0.1:\(port)", token: "t") { try await $0.models() }
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(error?.kind == .unreachable)
        let text = try #require(error?.description)
        #expect(text.hasPrefix("cannot reach the server at http://127.0.0.1:\(port)/v1/models: "), "\(text)")
        #expect(!text.contains("\n"), "\(text)")
    }
}
