import Foundation
import Hummingbird
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

extension OutboxTests {
    /// The alert webhook through the outbox, against a real HTTP receiver on loopback that answers 500 until it
    /// recovers: the alert waits in the outbox with the error noted, survives the server's death (SIGKILL), and is
    /// delivered — once — by the restarted server when the hook answers 2xx.
    @Test func aWebhookAlertRefusedWith500IsDeliveredOnceAfterARestart() async throws {
        // Each request's body, and the status it was answered with.
        let received = Locked<[(status: Int, body: String)]>([])
        let failing = Locked(true)
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            var request = request
            let body = String(buffer: try await request.collectBody(upTo: 1 << 20))
            let status: HTTPResponse.Status = failing.withLock { $0 } ? .internalServerError : .noContent
            received.withLock { $0.append((Int(status.code), body)) }
            return status
        }
        try await withLoopbackApp(router) { hookPort in
            let h = try await ServerHarness(
                name: "outbox-webhook", extra: "alerts: { webhook: http://127.0.0.1:\(hookPort)/hook }")
            try await h.start()
            try await Self.upload(h)
            let (status, outcome) = try await h.json("POST", "/v1/scopes/office/retrain")
            #expect(status == 200 && outcome["promoted"] as? Bool == true, "\(outcome)")
            #expect(try await h.request("POST", "/v1/scopes/office/rollout/abort", token: "admin-token").status == 200)
            let database = h.dir.path + "/state/server.sqlite"
            let waiting = "SELECT count(*) FROM outbox WHERE channel = 'webhook' AND sent IS NULL"
            try await waitUntil(timeout: 30, "the hook refused the alert and the outbox noted it") {
                let noted = try await Self.sqlite(
                    database,
                    "SELECT count(*) FROM outbox WHERE channel = 'webhook' AND sent IS NULL AND error LIKE '%500%'")
                return noted == "1" && received.withLock({ $0.contains { $0.status == 500 } }) ? true : nil
            }
            // The server dies with the alert undelivered; the hook recovers; the server starts again.
            h.process?.signal(SIGKILL)
            _ = try await h.process?.wait(timeout: 10)
            failing.withLock { $0 = false }
            try await h.start()
            let delivered = try await waitUntil(timeout: 90, "the alert accepted by the hook") {
                received.withLock { r in r.first { $0.status == 204 } }
            }
            #expect(delivered.body.contains("rollout aborted"), "\(delivered.body)")
            try await waitUntil(timeout: 30, "the entry marked sent") {
                try await Self.sqlite(database, waiting) == "0" ? true : nil
            }
            // Once: one entry, sent; the hook accepted one request, and every request it got was this alert.
            #expect(try await Self.sqlite(database, "SELECT count(*) FROM outbox WHERE channel = 'webhook'") == "1")
            let all = received.withLock { $0 }
            #expect(all.filter { $0.status == 204 }.count == 1, "\(all.map(\.status))")
            #expect(Set(all.map(\.body)).count == 1)
        }
    }
}
