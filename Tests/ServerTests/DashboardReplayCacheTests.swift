import Evaluator
import FleetProtocol
import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Testing
import Training

@testable import Server

/// The Gateway screen's replay cache (`Dashboard+Replay`): a cached screen is the uncached one; telemetry uploaded
/// late for a cached hour (through this server or another process on the same PostgreSQL) changes it; a late label
/// shows. And the replay of an hour is what `ModelRegistry.replay` finds for its rows; the readings column is read as
/// `JSONDecoder` reads it.
@Suite(.serialized, .ownThread) struct DashboardReplayCacheTests {
    /// Day 10 of the simulated office (every 30 s), its hourly monitor windows decided by the trained bundle.
    static let day = MonitorFleetTests.days(10..<11)

    /// The trained bundle as `office`@1 in `store` and `artifacts`, and the day's windows; the telemetry is the
    /// caller's.
    static func seed(_ store: any ServerStore, _ artifacts: ArtifactStore, _ config: ServerConfig) async throws {
        let bundle = try MonitorFleetTests.trained.get()
        let bytes = try bundle.encodeUnsigned()
        let sha = try artifacts.put(bytes)
        try await store.addModel(
            ModelRecord(
                scope: "office", version: 1, modelID: "occupancy-office", sha256: sha, size: bytes.count,
                created: 1_767_571_200, dataFrom: 1_767_571_200, dataTo: 1_767_574_800, labelledRowsSeen: 0,
                report: "{}"))
        let intake = Intake(config.intake)
        for w in try MonitorFleetTests.gateway(bundle, days: 10..<11).windows {
            try await store.insertMonitor(
                try intake.monitor(json: try FleetJSON.bytes(w), gateway: "gw-a", now: (w.window.to.seconds ?? 0) + 1))
        }
    }

    /// The same dashboard with no cache: every hour replayed on every view.
    static func uncached(_ d: Dashboard) -> Dashboard {
        var config = d.config
        config.dashboard.replayCacheBytes = 0
        return Dashboard(config: config, store: d.store, registry: d.registry, access: d.access, clock: d.clock)
    }

    static func timeline(_ d: Dashboard) async throws -> GatewayTimeline {
        try await d.timeline(gateway: "gw-a", scope: "office", hours: 24)
    }

    /// The day's rows less an outage from 10:20 to 12:40 into the span (the gateway spooled them), and those rows.
    static func outage(from start: Double) -> (stored: [TelemetryRow], late: [TelemetryRow]) {
        let hole = (start + 10 * 3600 + 1200)..<(start + 12 * 3600 + 2400)
        return (day.rows.filter { !hole.contains($0.at) }, day.rows.filter { hole.contains($0.at) })
    }

    @Test func aCachedScreenIsTheUncachedOne() async throws {
        let rig = try RouteRig("dash-cache-same")
        try await Self.seed(rig.store, rig.registry.artifacts, rig.config)
        _ = try await rig.store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: Self.day.rows)
        let d = rig.routes.dashboard
        let first = try await Self.timeline(d)
        let filled = d.replayCache.counts
        #expect(filled.hits == 0 && filled.misses == filled.hours && filled.hours >= 24)
        let second = try await Self.timeline(d)
        // Every hour from the cache this time, and the same screen as with no cache at all.
        #expect(d.replayCache.counts.hits == filled.hours && d.replayCache.counts.misses == filled.misses)
        let uncached = try await Self.timeline(Self.uncached(d))
        #expect(second == first)
        #expect(second == uncached)
        #expect(first.replayedWith == ["model:occupancy-office@1"] && first.unreplayed.isEmpty)
        #expect(first.states.count > 2 && first.probability.count > 250)
    }

    @Test func telemetryUploadedLateForACachedHourChangesTheScreen() async throws {
        let rig = try RouteRig("dash-cache-late")
        try await Self.seed(rig.store, rig.registry.artifacts, rig.config)
        let d = rig.routes.dashboard
        let span = try await Self.timeline(Self.uncached(d))
        let (stored, late) = Self.outage(from: span.from)
        _ = try await rig.store.insertTelemetry(gateway: "gw-a", batchID: "b1", rows: stored)
        let before = try await Self.timeline(d)
        #expect(try await Self.timeline(d) == before) // cached now

        // The spool arrives: the hours it lands in (and those whose lead-in it reaches) are replayed again.
        let (hits, misses) = (d.replayCache.counts.hits, d.replayCache.counts.misses)
        #expect(try await rig.store.insertTelemetry(gateway: "gw-a", batchID: "b2", rows: late).accepted == late.count)
        let after = try await Self.timeline(d)
        #expect(after != before)
        #expect(after == (try await Self.timeline(Self.uncached(d))))
        #expect(after.probability.reduce(0) { $0 + $1.rows } > before.probability.reduce(0) { $0 + $1.rows })
        // Only those: the other hours still came from the cache.
        let counts = d.replayCache.counts
        #expect(counts.misses - misses >= 3 && counts.hits - hits >= 12)
    }

    @Test func aLabelStoredLateForACachedHourShows() async throws {
        let rig = try RouteRig("dash-cache-label")
        try await Self.seed(rig.store, rig.registry.artifacts, rig.config)
        _ = try await rig.store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: Self.day.rows)
        let d = rig.routes.dashboard
        let before = try await Self.timeline(d)
        #expect(before.labels.isEmpty)
        let label = LabelRange(
            gateway: "gw-a", from: before.from + 3600, to: before.from + 5400, occupied: true, source: "http")
        try await rig.store.insertLabels([label])
        let after = try await Self.timeline(d)
        #expect(after.labels.map(\.from) == [label.from] && after.labels.map(\.to) == [label.to])
        // Labels are not part of the replay: its states are the cached ones, and the uncached screen's.
        #expect(after.states == before.states)
        #expect(after == (try await Self.timeline(Self.uncached(d))))
    }

    /// Two server processes on one PostgreSQL: the screen cached in one changes when the late spool is stored
    /// through the other (whose write the first process never sees).
    @Test func lateTelemetryStoredThroughAnotherProcessOnPostgreSQLChangesTheScreen() async throws {
        let (_, _, stores) = try await PostgresStoreTests.stores(2)
        defer { for store in stores { store.close() } }
        let dir = try temporaryDirectory("dash-cache-pg")
        var config = try ServerConfig.parse(
            yaml: """
                adminToken: admin-token
                gateways:
                  - { id: gw-a, scope: office, token: token-a }
                """)
        config.stateDirectory = dir.path
        let key = dir.appendingPathComponent("signer").path
        _ = try SigningKeys.save(SigningKeys.generate(), prefix: key)
        let registry = ModelRegistry(
            config: config, store: stores[0],
            artifacts: try ArtifactStore(root: dir.appendingPathComponent("artifacts").path),
            signing: try SigningKeys.readPrivateKey(path: key + ".key"), announcer: RecordingAnnouncer(),
            logger: Logger(label: "test"), clock: SystemClock())
        let d = Routes(config: config, store: stores[0], registry: registry).dashboard
        try await Self.seed(stores[0], registry.artifacts, config)
        let span = try await Self.timeline(Self.uncached(d))
        let (stored, late) = Self.outage(from: span.from)
        _ = try await stores[0].insertTelemetry(gateway: "gw-a", batchID: "b1", rows: stored)
        let before = try await Self.timeline(d)
        #expect(try await Self.timeline(d) == before)
        #expect(before.replayedWith == ["model:occupancy-office@1"])

        #expect(try await stores[1].insertTelemetry(gateway: "gw-a", batchID: "b2", rows: late).accepted == late.count)
        let after = try await Self.timeline(d)
        #expect(after != before)
        #expect(after == (try await Self.timeline(Self.uncached(d))))
    }

    /// An hour replayed row by row is what the realised accuracy's table replay finds for the same rows, bit for bit.
    @Test func anHoursReplayIsTheTableReplay() throws {
        let bundle = try MonitorFleetTests.trained.get()
        let rows = Self.day.rows
        let lead = ModelRegistry.leadIn(bundle)
        for k in [2, 7, 15, 23] {
            let from = rows[0].at + Double(k) * 3600
            let part = rows[TrainingData.lowerBound(rows, from - lead)..<TrainingData.lowerBound(rows, from + 3600)]
            let fast = try #require(try Dashboard.replayHour(bundle: bundle, rows: part, from: from))
            let table = try #require(try Dashboard.tableReplay(bundle: bundle, rows: part, from: from))
            #expect(fast.times == table.times && fast.states == table.states && fast.times.count == 120)
            #expect(fast.probabilities.map(\.bitPattern) == table.probabilities.map(\.bitPattern))
        }
        // No rows, or none with a channel the bundle reads: nothing to replay.
        #expect(try Dashboard.replayHour(bundle: bundle, rows: [], from: 0) == nil)
        let noSound = rows.prefix(200).map {
            TelemetryRow(gateway: $0.gateway, at: $0.at, readings: $0.readings.filter { $0.key != "sound" })
        }
        #expect(try Dashboard.replayHour(bundle: bundle, rows: noSound[...], from: 0) == nil)
    }

    @Test func aPlotCoordinateIsWhatPrintfWrites() {
        var rng = SystemRandomNumberGenerator()
        var values: [Double] = [0, -0.0, 0.05, 0.15, 0.25, -0.04, 0.04, -12.36, 1e15, -1e16, 12345.65, .nan, .infinity]
        for _ in 0..<20000 {
            values.append(Double.random(in: -2000...2000, using: &rng))
            values.append(Double(Int.random(in: -20000...20000, using: &rng)) / 20)
        }
        for v in values {
            #expect(DashboardPlots.f(v) == String(format: "%.1f", v), "\(v)")
        }
    }

    @Test func theReadingsColumnIsReadAsJSONDecoderReadsIt() throws {
        var rng = SystemRandomNumberGenerator()
        func slow(_ text: String) -> [String: ChannelValue?]? {
            (try? FleetJSON.decode([String: JSONReading].self, from: text.utf8))?.channelValues
        }
        for _ in 0..<2000 {
            var readings: [String: ChannelValue?] = [:]
            for name in ["co2", "sound", "hvac", "t", "ü name"] where Bool.random(using: &rng) {
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: readings[name] = .some(nil)
                case 1: readings[name] = .number(Double(Int.random(in: -100_000...100_000, using: &rng)))
                case 2: readings[name] = .category(["idle", "heating", "ü", ""].randomElement(using: &rng)!)
                case 3: readings[name] = .number(Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &rng)))
                default: readings[name] = .number(Double.random(in: -1e6...1e6, using: &rng))
                }
            }
            let text = encodeReadings(readings)
            let fast = try #require(ReadingsText.parse(text), "\(text)")
            #expect(fast == slow(text), "\(text)")
        }
        // What only JSONDecoder reads (an escape, white space) or refuses (a boolean, a bad number) is left to it.
        for text in [
            #"{"a\"b":1}"#, #"{"a": 1}"#, #"{"a":true}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":1,"a":2}"#,
            #"{"a":"x\ny"}"#,
            "{", "", "[]", #"{"a":1}x"#, #"{"a":nul}"#, #"{"a":1e999}"#,
        ] {
            #expect(ReadingsText.parse(text) == nil, "\(text)")
        }
        #expect(ReadingsText.parse("{}") == [:])
        #expect(decodeReadings(#"{"a\"b":1}"#) == ["a\"b": .number(1)])
    }
}
