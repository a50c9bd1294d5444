import AsyncHTTPClient
import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Testing

@testable import Gateway

/// Log lines kept in memory, so a test can count warnings.
final class RecordedLog: LogHandler, @unchecked Sendable {
    // @unchecked: `stored` is only touched under `lock`; the other properties are set before the logger is shared.
    private let lock = NSLock()
    private var stored: [(Logger.Level, String)] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.withLock { stored.append((event.level, event.message.description)) }
    }

    var lines: [(level: Logger.Level, text: String)] { lock.withLock { stored.map { ($0.0, $0.1) } } }
    func count(_ level: Logger.Level) -> Int { lines.filter { $0.level == level }.count }
    var logger: Logger { Logger(label: "recorded") { _ in self } }
}

/// Spooled telemetry survives every answer that is not about the batch itself (issue 11, finding 6).
@Suite(.serialized) struct TelemetryRetentionTests {
    @Test(arguments: [
        (200, TelemetryUploader.Disposition.delivered), (201, .delivered),
        (400, .drop), (413, .drop), (415, .drop), (422, .drop),
        (401, .keep(.unauthorized)), (403, .keep(.forbidden)), (404, .keep(.notFound)),
        (408, .keep(.unreachable)), (429, .keep(.unreachable)), (500, .keep(.unreachable)), (503, .keep(.unreachable)),
        (409, .keep(.unexpected(409))), (302, .keep(.unexpected(302))),
    ])
    func onlyABadBatchIsDropped(status: Int, expected: TelemetryUploader.Disposition) {
        #expect(TelemetryUploader.disposition(status: status) == expected)
    }

    @Test func retriesBackOffExponentiallyUpToACap() {
        let delays = (0...12).map { TelemetryUploader.retryDelay(interval: 30, failures: $0) }
        #expect(delays.prefix(6) == [30, 30, 60, 120, 240, 300])
        #expect(delays.allSatisfy { $0 <= TelemetryUploader.maximumBackoff })
        // A longer interval than the cap is never shortened.
        #expect(TelemetryUploader.retryDelay(interval: 900, failures: 5) == 900)
        #expect(TelemetryUploader.retryDelay(interval: 1, failures: 1000) == TelemetryUploader.maximumBackoff)
    }

    func spool(_ dir: String, rows: Int) throws -> TelemetrySpool {
        let spool = try TelemetrySpool(directory: dir, limit: 1000, batchSize: 2, logger: testLogger())
        for s in 0..<rows {
            spool.append(
                Sample(
                    at: Instant(seconds: 1_767_571_200 + Double(s) * 30),
                    readings: [Reading(channel: "sound", value: .number(Double(40 + s)))]))
        }
        try spool.flush()
        return spool
    }

    @Test func aWrongTokenKeepsTheSpoolUntilTheRightOneDeliversIt() async throws {
        let broker = try await MosquittoBroker()
        let port = try freeLoopbackPort()
        let dir = try temporaryDirectory("telemetry-401")
        let configPath = dir.appendingPathComponent("server.yaml").path
        try """
        stateDirectory: \(dir.path)/state
        http: { port: \(port) }
        broker: { port: \(broker.port), clientId: server-retention }
        adminToken: admin-token
        gateways:
          - { id: gw-a, scope: office, token: token-a }
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let server = try ChildProcess(["server", "run", "--config", configPath])
        defer {
            server.signal(SIGKILL)
            broker.stop()
        }
        let base = "http://127.0.0.1:\(port)"
        func telemetryRows() async throws -> Int? {
            var request = HTTPClientRequest(url: base + "/v1/stats")
            request.headers.add(name: "Authorization", value: "Bearer admin-token")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            let doc = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
            return doc?["telemetryRows"] as? Int
        }
        _ = try await waitUntil(timeout: 30, "the server answers (\(server.stderr))") {
            try? await telemetryRows()
        }

        // 1. The wrong token: 401 on every round, every row kept, one warning (not one per round).
        let spoolDir = dir.appendingPathComponent("spool").path
        let log = RecordedLog()
        let systemd = try NotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": systemd.path])
        let wrong = TelemetryUploader(
            client: ServerClient(baseURL: base, gatewayID: "gw-a", token: "not-the-token"),
            spool: try spool(spoolDir, rows: 6), interval: 1, logger: log.logger, notifier: notifier)
        await wrong.uploadAll()
        await wrong.uploadAll()
        await wrong.uploadAll()
        #expect(wrong.health.state == .unauthorized && wrong.health.failures == 3)
        #expect(wrong.spool.count == 6, "spooled rows lost on 401")
        #expect(wrong.uploaded.rejected == 0 && wrong.uploaded.rows == 0)
        #expect(log.count(.warning) == 1, "\(log.lines)")
        let warning = try #require(log.lines.first { $0.level == .warning }?.text)
        #expect(warning.contains("HTTP 401") && warning.contains("6 rows"), "\(warning)")
        #expect(!log.lines.contains { $0.text.contains("not-the-token") }, "the token was logged")
        #expect(try await telemetryRows() == 0)
        // systemd's status line says so (once).
        notifier.status("marker") // everything the uploader sent came before this
        let statuses = try await systemd.waitFor("STATUS=marker")
        #expect(statuses == ["STATUS=telemetry upload unauthorized, 6 rows kept on disk", "STATUS=marker"])

        // 2. Restarted with the right token: the same spool on disk is delivered, every row.
        let right = TelemetryUploader(
            client: ServerClient(baseURL: base, gatewayID: "gw-a", token: "token-a"),
            spool: try TelemetrySpool(directory: spoolDir, limit: 1000, batchSize: 2, logger: testLogger()),
            interval: 1, logger: log.logger, notifier: notifier)
        #expect(right.spool.count == 6)
        await right.uploadAll()
        #expect(right.health.state == .ok)
        #expect(right.spool.count == 0)
        #expect(right.uploaded.rows == 6 && right.uploaded.batches == 3)
        #expect(try await telemetryRows() == 6)
    }

    @Test func aBatchTheServerCallsBadIsDroppedAndLogged() async throws {
        let host = try await TestTrainingHost(gatewayID: "gw-bad")
        let dir = try temporaryDirectory("telemetry-400").appendingPathComponent("spool").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // One malformed batch (the oldest), then a good one.
        try "not a row\n".write(toFile: dir + "/seg-0000000000001-a.ndjson", atomically: true, encoding: .utf8)
        let good = #"{"at":"2026-01-05T00:00:00.000Z","readings":{"sound":40},"health":{}}"#
        try (good + "\n").write(toFile: dir + "/seg-0000000000002-b.ndjson", atomically: true, encoding: .utf8)
        let log = RecordedLog()
        let uploader = TelemetryUploader(
            client: ServerClient(baseURL: host.url, gatewayID: "gw-bad", token: "gw-token"),
            spool: try TelemetrySpool(directory: dir, limit: 1000, batchSize: 2, logger: testLogger()),
            interval: 1, logger: log.logger)
        await uploader.uploadAll()
        await host.stop()
        #expect(host.requests.map(\.status) == [400, 200])
        #expect(uploader.uploaded.rejected == 1 && uploader.uploaded.rows == 1)
        #expect(uploader.spool.count == 0)
        #expect(uploader.health.state == .ok)
        #expect(
            log.lines.contains { $0.level == .error && $0.text.contains("HTTP 400") && $0.text.contains("dropped") })
        #expect(host.rows == [good])
    }

    @Test func a5xxKeepsTheBatchAndTheRecoveryIsAnnouncedOnce() async throws {
        let host = try await TestTrainingHost(gatewayID: "gw-5xx")
        host.failNextTelemetry()
        let log = RecordedLog()
        let systemd = try NotifySocket()
        let uploader = TelemetryUploader(
            client: ServerClient(baseURL: host.url, gatewayID: "gw-5xx", token: "gw-token"),
            spool: try spool(try temporaryDirectory("telemetry-5xx").appendingPathComponent("spool").path, rows: 2),
            interval: 1, logger: log.logger,
            notifier: SystemdNotifier(environment: ["NOTIFY_SOCKET": systemd.path]))
        await uploader.uploadAll()
        #expect(uploader.health.state == .unreachable && uploader.spool.count == 2)
        await uploader.uploadAll()
        await host.stop()
        #expect(uploader.health.state == .ok && uploader.health.failures == 0 && uploader.spool.count == 0)
        #expect(host.requests.map(\.status) == [500, 200])
        #expect(log.count(.warning) == 1 && log.lines.contains { $0.text.contains("takes telemetry again") })
        let statuses = try await systemd.waitFor("STATUS=telemetry upload ok again")
        #expect(
            statuses == [
                "STATUS=telemetry upload unreachable, 2 rows kept on disk", "STATUS=telemetry upload ok again",
            ])
    }

    @Test(.timeLimit(.minutes(1))) func anAnswerThatNeverEndsTimesOutAndKeepsTheBatch() async throws {
        let host = try await TestTrainingHost(gatewayID: "gw-stall")
        host.stallNextTelemetry()
        let uploader = TelemetryUploader(
            client: ServerClient(baseURL: host.url, gatewayID: "gw-stall", token: "gw-token"),
            spool: try spool(try temporaryDirectory("telemetry-stall").appendingPathComponent("spool").path, rows: 2),
            interval: 1, logger: testLogger(), requestTimeout: 1)
        await uploader.uploadAll()
        #expect(uploader.health.state == .unreachable && uploader.spool.count == 2)
        await uploader.uploadAll()
        await host.stop()
        #expect(uploader.health.state == .ok && uploader.spool.count == 0)
        #expect(host.rows.count == 2)
    }
}
