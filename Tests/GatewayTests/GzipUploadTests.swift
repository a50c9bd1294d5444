import Foundation
import OccupantCore
import OccupantTesting
import ServiceLifecycle
import Testing

@testable import Gateway

/// The gateway compresses its uploads (issue 15 §4) and, told 415 by a training host that predates gzip intake, sends
/// the same batch plain at once and every later one plain: nothing is dropped for it.
@Suite(.serialized) struct GzipUploadTests {
    func run(_ name: String, refuseGzip: Bool, until rows: Int) async throws -> TestTrainingHost {
        let broker = try await MosquittoBroker()
        let host = try await TestTrainingHost(gatewayID: name)
        if refuseGzip { host.refuseGzip() }
        var config = try GatewayConfig.parse(
            yaml: """
                gatewayId: \(name)
                simulate: { scenario: day, speed: 60, seed: 3 }
                broker: { port: \(broker.port) }
                stateDirectory: \(try temporaryDirectory(name).path)
                telemetry: { interval: 10s }
                server: { url: "http://127.0.0.1:\(host.port)", token: gw-token, pollInterval: 1h, uploadInterval: 2s, uploadBatch: 10 }
                """)
        config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
        let runtime = try GatewayRuntime(config: config, logger: testLogger())
        let group = ServiceGroup(services: runtime.services, logger: testLogger())
        let task = Task { try await group.run() }
        _ = try await waitUntil(timeout: 60, "\(rows) rows delivered") { host.rows.count >= rows ? true : nil }
        await group.triggerGracefulShutdown()
        try await task.value
        await host.stop()
        return host
    }

    @Test func batchesGoGzipAndArriveWhole() async throws {
        let host = try await run("gzip-up", refuseGzip: false, until: 30)
        let posts = host.requests.filter { $0.method == "POST" && $0.batchID != nil }
        // Every batch of 512 bytes or more goes compressed (ten rows are over 1 KB), a smaller one plain; all taken.
        #expect(posts.contains { $0.encoding == "gzip" })
        for post in posts {
            #expect(post.status == 200)
            #expect((post.encoding == "gzip") == (post.bytes ?? 0 >= ServerClient.gzipAbove), "\(post)")
        }
        let rows = host.rows
        #expect(Set(rows).count == rows.count)
        #expect(rows.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) is [String: Any] })
    }

    @Test func aHostThatRefusesGzipGetsTheSameBatchPlainAndNoneIsLost() async throws {
        let host = try await run("gzip-old", refuseGzip: true, until: 30)
        let posts = host.requests.filter { $0.method == "POST" && $0.batchID != nil }
        // Small batches go plain anyway; the first large one is refused once and resent plain at once, and every
        // batch after it goes plain.
        let refused = try #require(posts.firstIndex { $0.encoding == "gzip" })
        #expect(posts[refused].status == 415)
        #expect(posts.filter { $0.status == 415 }.count == 1)
        #expect(posts[(refused + 1)...].allSatisfy { $0.encoding == nil && $0.status == 200 })
        #expect(posts[refused + 1].batchID == posts[refused].batchID)
        #expect(host.rows.count >= 30 && Set(host.rows).count == host.rows.count)
    }
}
