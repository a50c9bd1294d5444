import AsyncHTTPClient
import FleetProtocol
import Foundation
import NIOCore
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// `POST /v1/gateways/{id}/monitor` over real HTTP on loopback into a real SQLite file: a gateway's window is stored
/// once however often it comes, judged for alerts, and a bad one — malformed, from an unknown gateway, for another
/// gateway — gets a 4xx with a one-line JSON error while nothing stored changes.
@Suite(.serialized) struct MonitorUploadRouteTests {
    func post(
        _ base: String, _ gateway: String, token: String, body: String
    ) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: base + API.gatewayMonitor(gateway))
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: answer))
    }

    /// Every stored window of every configured gateway.
    func everything(_ rig: RouteRig) async throws -> [MonitorDocument] {
        var all: [MonitorDocument] = []
        for g in rig.config.gateways { all += try await rig.store.monitorWindows(gateway: g.id, since: nil) }
        return all
    }

    @Test func aWindowIsStoredOnceAndBadOnesGet4xxAndChangeNothing() async throws {
        let rig = try RouteRig("monitor-post")
        let hourAgo = (Date().timeIntervalSince1970 / 3_600).rounded(.down) * 3_600 - 7_200
        let good = MonitorIntakeTests.document(gateway: "gw-a", from: hourAgo)
        try await rig.live { base in
            // The gateway's own window: stored, judged (temperature stuck in 80 % of it: one `input` alert).
            let first = try await post(base, "gw-a", token: "token-a", body: good)
            #expect(first.status == 200, "\(first.body)")
            let receipt = try FleetJSON.decode(MonitorReceipt.self, from: first.body.utf8)
            #expect(receipt.gateway == "gw-a" && receipt.from.seconds == hourAgo && !receipt.duplicate)
            // Sent again (the answer was lost, the gateway restarted): a duplicate, still one window.
            let again = try await post(base, "gw-a", token: "token-a", body: good)
            #expect(again.status == 200)
            #expect(try FleetJSON.decode(MonitorReceipt.self, from: again.body.utf8).duplicate)
            #expect(try await rig.store.monitorWindows(gateway: "gw-a", since: nil).count == 1)
            #expect(
                try await rig.store.monitorWindows(gateway: "gw-a", since: nil).first
                    == FleetJSON.decode(MonitorDocument.self, from: good.utf8))
            #expect(rig.announcer.state.withLock { $0.alerts }.map(\.kind) == ["input"])

            let before = try await everything(rig)
            let alertsBefore = try await rig.store.alertDocuments(open: false)
            let next = MonitorIntakeTests.document(gateway: "gw-a", from: hourAgo + 3_600)
            let bad: [(what: String, gateway: String, token: String, body: String, status: Int, error: String)] = [
                ("malformed", "gw-a", "token-a", "{not json", 400, "not valid JSON"),
                (
                    "a missing member", "gw-a", "token-a", #"{"gateway":"gw-a","window":{"from":1,"to":2}}"#, 400,
                    "'window.samples' is missing"
                ),
                ("an unknown gateway's token", "gw-z", "token-z", next, 401, "unknown token"),
                ("an unknown gateway (admin)", "gw-z", "admin-token", next, 404, "unknown gateway 'gw-z'"),
                (
                    "another gateway's path", "gw-b", "token-a",
                    MonitorIntakeTests.document(gateway: "gw-b", from: hourAgo),
                    403, "this token belongs to gateway 'gw-a', not 'gw-b'"
                ),
                (
                    "another gateway's document", "gw-a", "token-a",
                    MonitorIntakeTests.document(gateway: "gw-b", from: hourAgo + 3_600), 403,
                    "gateway 'gw-b' differs from 'gw-a'"
                ),
            ]
            for b in bad {
                let answer = try await post(base, b.gateway, token: b.token, body: b.body)
                #expect(answer.status == b.status, "\(b.what): \(answer.status) \(answer.body)")
                #expect(!answer.body.trimmingCharacters(in: .newlines).contains("\n"), "\(b.what)")
                let error = try? FleetJSON.decode(ErrorDocument.self, from: answer.body.utf8).error
                #expect(error?.contains(b.error) == true, "\(b.what): \(answer.body)")
            }
            #expect(try await everything(rig) == before)
            #expect(try await rig.store.alertDocuments(open: false) == alertsBefore)
        }
    }
}
