import Evaluator
import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MQTT
import NIOCore
import OccupantCore
import OccupantTesting
import Synchronization
import Testing

@testable import Server

/// Intake that cannot be poisoned or stalled (issue 11): reading kinds per channel, bounded rows and label messages,
/// disjoint label spans with an indexed count, `synchronous=FULL`, a bounded MQTT refusal log.
@Suite(.serialized) struct IntakeHardeningTests {
    let now = Instant(iso8601: "2026-06-01T12:00:00Z")!.seconds

    func refusal<T>(_ body: () throws -> T) -> IntakeError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? IntakeError
        }
    }

    func asyncRefusal<T>(_ body: () async throws -> T) async -> IntakeError? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error as? IntakeError
        }
    }

    func store(_ name: String) throws -> SQLiteStore {
        try SQLiteStore(path: try temporaryDirectory(name).appendingPathComponent("server.sqlite").path)
    }

    /// A server side with no broker: `receive` is what a broker message goes through.
    func mqtt(_ store: SQLiteStore, gateways: [String] = ["gw-a"]) throws -> ServerMQTT {
        var config = try ServerConfig.parse(
            yaml: "gateways: ["
                + gateways.map { "{ id: \($0), scope: office, token: t-\($0) }" }.joined(separator: ", ")
                + "]")
        config.broker = nil
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return try ServerMQTT(config: config, store: store, logger: logger)
    }

    // MARK: High 2: one text reading

    @Test func aTextReadingOnANumberChannelIsRefusedOverHTTPAndMQTT() async throws {
        let rig = try RouteRig("kinds-http")
        let good = ByteBuffer(string: #"{"at":"2026-01-05T00:00:00Z","readings":{"sound":12.5,"hvac":"heating"}}"#)
        let loud = ByteBuffer(string: #"{"at":"2026-01-05T00:00:30Z","readings":{"sound":"loud","hvac":"heating"}}"#)
        let numberHVAC = ByteBuffer(string: #"{"at":"2026-01-05T00:01:00Z","readings":{"sound":1,"hvac":3}}"#)
        try await rig.test { client in
            let first = try await client.execute(
                uri: API.gatewayTelemetry("gw-a"), method: .post, headers: bearer("token-a"), body: good)
            #expect(first.status == .ok)
            let refused = try await client.execute(
                uri: API.gatewayTelemetry("gw-a"), method: .post, headers: bearer("token-a"), body: loud)
            #expect(refused.status == .badRequest)
            let message = try decode(ErrorDocument.self, refused).error
            #expect(message.contains("readings.sound") && message.contains("'loud'") && message.contains("numbers"))
            #expect(!message.contains("\n"))
            let other = try await client.execute(
                uri: API.gatewayTelemetry("gw-a"), method: .post, headers: bearer("token-a"), body: numberHVAC)
            #expect(other.status == .badRequest)
            #expect(try decode(ErrorDocument.self, other).error.contains("readings.hvac"))
            // Another gateway has its own channels: text on its `sound` is its first word on it.
            let b = try await client.execute(
                uri: API.gatewayTelemetry("gw-b"), method: .post, headers: bearer("token-b"), body: loud)
            #expect(b.status == .ok)
        }
        #expect(try await rig.store.telemetryCount() == 2)

        // MQTT: the same message is refused, logged once, and not stored.
        let store = try store("kinds-mqtt")
        let server = try mqtt(store)
        await server.receive(
            MQTTMessage(
                topic: "occupant/gw-a/telemetry", text: #"{"at":"2026-01-05T00:00:00Z","readings":{"sound":3}}"#))
        await server.receive(
            MQTTMessage(
                topic: "occupant/gw-a/telemetry", text: #"{"at":"2026-01-05T00:00:30Z","readings":{"sound":"loud"}}"#))
        #expect(try await store.telemetryCount() == 1)
        #expect(server.refusals.withLock { $0.count } == 1)
        // A batch with one bad row stores none of it.
        let mixed: [TelemetryRow] = [
            TelemetryRow(gateway: "gw-a", at: 1_767_571_300, readings: ["sound": .number(4)]),
            TelemetryRow(gateway: "gw-a", at: 1_767_571_330, readings: ["sound": .category("loud")]),
        ]
        let error = await asyncRefusal { try await store.insertTelemetry(gateway: "gw-a", batchID: "m", rows: mixed) }
        #expect(error?.status == 400)
        #expect(try await store.telemetryCount() == 1)
    }

    @Test func retrainSkipsAndCountsARowStoredByAnOlderServer() async throws {
        let dir = try temporaryDirectory("kinds-retrain")
        let (_, store, registry) = try retrainingRig(
            dir,
            yaml: """
                gateways: [{ id: gw-a, scope: office, token: a }]
                retrain: { trials: 3, holdout: 0.25 }
                """)
        let (rows, labels) = simulatedDays(0..<2, gateway: "gw-a")
        _ = try await store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: rows)
        try await store.insertLabels(labels)
        // What the intake now refuses, written as an older server could have: straight into the table.
        let at = rows[rows.count / 2].at + 15
        try await store.execute(
            sql:
                #"INSERT INTO telemetry (gateway, at, readings) VALUES ('gw-a', \#(at), '{"hvac":"off","sound":"loud","temperature":21}')"#
        )
        #expect(try await store.telemetryCount() == rows.count + 1)

        let outcome = try await registry.retrain(scope: "office", trigger: "test")
        #expect(outcome.version == 1, "\(outcome.summary)")
        #expect(outcome.skippedRows == 1)
        #expect(outcome.summary.contains("1 stored rows skipped"))
        let record = try #require(try await store.model(scope: "office", version: 1))
        #expect(record.report.contains(#""skippedRows":1"#) || record.report.contains(#""skippedRows" : 1"#))

        // The table itself: `sound` stays numeric, the row is left out.
        let stored = try await store.telemetry(gateways: ["gw-a"], from: nil)
        let joined = TrainingData.joined(rows: stored, labels: labels)
        #expect(joined.skipped == 1)
        #expect(!joined.table.categoricalChannels.contains("sound"))
        #expect(joined.table.categoricalChannels.contains("hvac"))
        #expect(joined.table.count == rows.count)
    }

    @Test func upgradingAStoreMergesItsLabelsAndLearnsChannelKindsByMajority() async throws {
        let dir = try temporaryDirectory("kinds-upgrade")
        let path = dir.appendingPathComponent("server.sqlite").path
        do {
            let store = try SQLiteStore(path: path)
            // Back to the v1 schema, with what an older server stored: overlapping labels, one text reading.
            try await store.execute(
                sql: """
                    DELETE FROM grdb_migrations WHERE identifier LIKE 'v2%';
                    DROP TABLE channels;
                    DROP INDEX labels_spans;
                    CREATE INDEX labels_by_gateway ON labels (gateway, start);
                    INSERT INTO labels (gateway, start, "end", occupied, source) VALUES
                        ('gw-a', 1000000000, 1000000100, 0, 'http'), ('gw-a', 1000000030, 1000000050, 1, 'http'),
                        ('gw-a', 1000000090, 1000000200, 0, 'mqtt');
                    INSERT INTO telemetry (gateway, at, readings) VALUES
                        ('gw-a', 1000000000, '{"sound":1}'), ('gw-a', 1000000010, '{"sound":"loud"}'),
                        ('gw-a', 1000000020, '{"sound":2}'), ('gw-a', 1000000040, '{"sound":3}');
                    """)
        }
        let store = try SQLiteStore(path: path)
        let spans = try await store.labels(gateways: ["gw-a"])
        #expect(spans.map { [$0.from - 1e9, $0.to - 1e9] } == [[0, 30], [30, 50], [50, 200]])
        #expect(spans.map(\.occupied) == [false, true, false])
        #expect(try await store.labelledRowCount(gateways: ["gw-a"]) == 4)
        // `sound` held numbers mostly: it is a number channel now.
        let refused = await asyncRefusal {
            try await store.insertTelemetry(
                gateway: "gw-a", batchID: nil,
                rows: [TelemetryRow(gateway: "gw-a", at: 1_000_000_060, readings: ["sound": .category("x")])])
        }
        #expect(refused?.message.contains("readings.sound") == true)
    }

    // MARK: High 3: labels

    @Test func overlappingLabelSpansMergeNewestWins() async throws {
        let store = try store("spans")
        let t0 = 1_000_000_000.0
        func add(_ from: Double, _ to: Double, _ occupied: Bool) async throws {
            try await store.insertLabels([
                LabelRange(gateway: "g", from: t0 + from, to: t0 + to, occupied: occupied, source: "t")
            ])
        }
        func spans() async throws -> [String] {
            try await store.labels(gateways: ["g"]).map {
                "\(Int($0.from - t0))-\(Int($0.to - t0)):\($0.occupied ? "o" : "v")"
            }
        }
        try await add(0, 100, false)
        try await add(30, 50, true)
        #expect(try await spans() == ["0-30:v", "30-50:o", "50-100:v"])
        try await add(40, 120, false)
        #expect(try await spans() == ["0-30:v", "30-40:o", "40-120:v"])
        // Touching and overlapping spans of one state become one.
        try await add(30, 40, false)
        #expect(try await spans() == ["0-120:v"])
        try await add(120, 130, false)
        try await add(0, 120, false)
        #expect(try await spans() == ["0-130:v"])
        // Inside one span of the other state: it is split around the new one.
        try await add(60, 70, true)
        #expect(try await spans() == ["0-60:v", "60-70:o", "70-130:v"])
        #expect(try await store.labelCount(gateways: ["g"]) == 3)

        // Against the join's rule (the latest label covering a row wins), on random overlapping labels.
        var random = SplitMix64(seed: 11)
        var received: [LabelRange] = []
        for _ in 0..<400 {
            let from = Double(random.next() % 1000)
            let length = Double(1 + random.next() % 80)
            received.append(
                LabelRange(
                    gateway: "r", from: t0 + from, to: t0 + from + length, occupied: random.next() % 2 == 0,
                    source: "t"))
        }
        for chunk in stride(from: 0, to: received.count, by: 37) {
            try await store.insertLabels(Array(received[chunk..<min(chunk + 37, received.count)]))
        }
        let rows = (0..<1100).map {
            TelemetryRow(gateway: "r", at: t0 + Double($0), readings: ["sound": .number(Double($0))])
        }
        _ = try await store.insertTelemetry(gateway: "r", batchID: nil, rows: rows)
        let expected = TrainingData.table(rows: rows, labels: received).labels
        let stored = try await store.labels(gateways: ["r"])
        #expect(TrainingData.table(rows: rows, labels: stored).labels == expected)
        #expect(try await store.labelledRowCount(gateways: ["r"]) == expected.compactMap { $0 }.count)
        for (a, b) in zip(stored, stored.dropFirst()) {
            #expect(a.to <= b.from)
            #expect(a.to < b.from || a.occupied != b.occupied)
        }
    }

    @Test func aScopeWith200kLabelsCountsInUnderASecond() async throws {
        let rig = try RouteRig("labels-200k")
        let t0 = 1_767_571_200.0
        let n = 200_000
        // Spans of 10 s every 20 s, alternating states: 200k disjoint spans, and a row in each and between each.
        let labels = (0..<n).map {
            LabelRange(
                gateway: "gw-a", from: t0 + Double($0) * 20, to: t0 + Double($0) * 20 + 10, occupied: $0 % 2 == 0,
                source: "t")
        }
        for chunk in stride(from: 0, to: n, by: 10_000) {
            try await rig.store.insertLabels(Array(labels[chunk..<chunk + 10_000]))
        }
        let rows = (0..<n).map {
            TelemetryRow(gateway: "gw-a", at: t0 + Double($0) * 20 + 5, readings: ["sound": .number(1)])
        }
        _ = try await rig.store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: rows)
        #expect(try await rig.store.labelCount(gateways: ["gw-a"]) == n)

        // A complexity check, not a benchmark: rows × labels took minutes here; the bound is generous.
        let clock = ContinuousClock()
        var start = clock.now
        let stats = try await rig.test { client in
            try decode(
                ServerStats.self,
                try await client.execute(uri: API.Route.stats, method: .get, headers: bearer("admin-token")))
        }
        let statsTime = clock.now - start
        #expect(stats.labelledRows == n)
        #expect(stats.labelRanges == n)
        #expect(statsTime < .seconds(1), "stats took \(statsTime)")

        var config = rig.config
        config.retrain.newLabelledRows = 100_000_000
        config.alerts.minimumRows = 100_000_000
        let registry = ModelRegistry(
            config: config, store: rig.store, artifacts: rig.registry.artifacts, signing: nil,
            announcer: RecordingAnnouncer(), logger: Logger(label: "test"))
        start = clock.now
        await registry.checkTriggers()
        let checkTime = clock.now - start
        #expect(checkTime < .seconds(1), "the retrain trigger check took \(checkTime)")
        #expect(try await rig.store.models(scope: nil).isEmpty)
    }

    @Test func labelMessagesAreBounded() async throws {
        var intake = Intake(maxFutureSkew: 300)
        intake.maxLabelsPerMessage = 3
        intake.maxLabelBytes = 2048
        let one = #"{"from":1780300000,"to":1780300060,"occupied":true}"#
        let four = "[" + Array(repeating: one, count: 4).joined(separator: ",") + "]"
        let known: (String) -> Bool = { _ in true }
        #expect(
            refusal { try intake.labels(json: Array(four.utf8), gateway: "gw", now: now, source: "t", known: known) }
                == IntakeError(400, "4 labels in one message; at most 3 (intake.maxLabelsPerMessage)"))
        let big = "[" + Array(repeating: one, count: 50).joined(separator: ",") + "]"
        let tooBig = refusal {
            try intake.labels(json: Array(big.utf8), gateway: "gw", now: now, source: "t", known: known)
        }
        #expect(tooBig?.status == 413)
        #expect(tooBig?.message.contains("intake.maxLabelBytes") == true)
        let csv = "gateway,from,to,occupied\n" + String(repeating: "gw,1780300000,1780300060,1\n", count: 4)
        #expect(refusal { try intake.labels(csv: csv, now: now, known: known) }?.message.contains("4 labels") == true)

        // Over MQTT, where no HTTP body limit applies: a message past the default 1 MiB is refused, nothing stored.
        let store = try store("labels-mqtt")
        let server = try mqtt(store)
        let label = #"{"from":1767571200,"to":1767571260,"occupied":true}"#
        let huge = "[" + Array(repeating: label, count: 25_000).joined(separator: ",") + "]"
        #expect(huge.utf8.count > 1 << 20)
        await server.receive(MQTTMessage(topic: "occupant/gw-a/labels", text: huge))
        let many = "[" + Array(repeating: label, count: 10_001).joined(separator: ",") + "]"
        #expect(many.utf8.count < 1 << 20)
        await server.receive(MQTTMessage(topic: "occupant/gw-a/labels", text: many))
        #expect(try await store.labelCount(gateways: ["gw-a"]) == 0)
        #expect(server.refusals.withLock { $0.count } == 2)
        await server.receive(MQTTMessage(topic: "occupant/gw-a/labels", text: label))
        #expect(try await store.labelCount(gateways: ["gw-a"]) == 1)
    }

    // MARK: Medium 9

    @Test func acknowledgedWritesAreSynchronousFull() async throws {
        let store = try store("synchronous")
        _ = try await store.insertTelemetry(
            gateway: "gw", batchID: "b", rows: [TelemetryRow(gateway: "gw", at: 1e9, readings: ["sound": .number(1)])])
        // 2 = FULL (GRDB's WAL default is 1 = NORMAL).
        #expect(try await store.writerPragma("synchronous") == 2)
        // A single MQTT row commits with NORMAL; the connection is back to FULL afterwards, refused or not.
        _ = try await store.insertTelemetry(
            gateway: "gw", batchID: nil,
            rows: [TelemetryRow(gateway: "gw", at: 1e9 + 1, readings: ["sound": .number(2)])])
        #expect(try await store.writerPragma("synchronous") == 2)
        let refused = await asyncRefusal {
            try await store.insertTelemetry(
                gateway: "gw", batchID: nil,
                rows: [TelemetryRow(gateway: "gw", at: 1e9 + 2, readings: ["sound": .category("loud")])])
        }
        #expect(refused?.status == 400)
        #expect(try await store.writerPragma("synchronous") == 2)
        #expect(try await store.telemetryCount() == 2)
    }

    // MARK: Medium 10

    @Test func rowsWithTooManyChannelsOrBadChannelNamesAreRefused() throws {
        let intake = Intake(ServerConfig.Intake())
        func line(_ readings: String) -> [UInt8] {
            Array(#"{"at":"2026-06-01T10:00:00Z","readings":{\#(readings)}}"#.utf8)
        }
        let tenThousand = (0..<10_000).map { "\"c\($0)\":1" }.joined(separator: ",")
        #expect(
            refusal { try intake.telemetry(json: line(tenThousand), gateway: "gw", now: now) }
                == IntakeError(400, "message: 10000 channels; at most 256 (intake.maxChannels)"))
        let longName = String(repeating: "a", count: 1 << 20)
        let long = refusal { try intake.telemetry(json: line("\"\(longName)\":1"), gateway: "gw", now: now) }
        #expect(long?.status == 400)
        #expect(long?.message.contains("1048576 bytes; at most 64 (intake.maxChannelNameBytes)") == true)
        #expect((long?.message.utf8.count ?? .max) < 200)
        for bad in ["", "1st", "co2 ppm", "küche", "a/b", "a\\nb"] {
            let e = refusal { try intake.telemetry(json: line("\"\(bad)\":1"), gateway: "gw", now: now) }
            #expect(e?.message.contains("not a channel name") == true, "\(bad)")
        }
        #expect(try intake.telemetry(json: line(#""co2_ppm":1,"T2":2"#), gateway: "gw", now: now).readings.count == 2)

        // The limits are configuration, refused when out of range.
        let config = try ServerConfig.parse(
            yaml: "intake: { maxChannels: 10, maxChannelNameBytes: 16, maxLabelBytes: 4096, maxLabelsPerMessage: 5 }")
        #expect(config.intake.maxChannels == 10 && config.intake.maxLabelsPerMessage == 5)
        #expect(Intake(config.intake).maxChannelNameBytes == 16)
        #expect(throws: DocumentErrors.self) { try ServerConfig.parse(yaml: "intake: { maxChannels: 0 }") }
        #expect(throws: DocumentErrors.self) { try ServerConfig.parse(yaml: "intake: { maxLabelBytes: 10 }") }
    }

    @Test func refusalLogIsBounded() async throws {
        var log = RefusalLog(capacity: 3)
        #expect(log.note("a") == .log)
        #expect(log.note("a") == .quiet)
        #expect(log.note("b") == .log)
        #expect(log.note("c") == .log)
        let rest = (0..<120).map { log.note("x\($0)") }
        #expect(rest.first == .suppressed(1))
        #expect(rest.filter { $0 != .quiet } == [.suppressed(1), .suppressed(10), .suppressed(100)])
        #expect(log.count == 3 && log.suppressed == 120)

        // Random gateway ids on MQTT topics: memory stays bounded, nothing is stored.
        let store = try store("refusals")
        let server = try mqtt(store)
        var random = SplitMix64(seed: 3)
        for _ in 0..<3000 {
            let id = String(random.next(), radix: 36) + String(repeating: "z", count: Int(random.next() % 300))
            await server.receive(
                MQTTMessage(topic: "occupant/\(id)/telemetry", text: #"{"at":1767571200,"readings":{"sound":1}}"#))
        }
        let (count, suppressed) = server.refusals.withLock { ($0.count, $0.suppressed) }
        #expect(count == 1024)
        #expect(suppressed == 3000 - 1024)
        #expect(try await store.telemetryCount() == 0)
    }
}
