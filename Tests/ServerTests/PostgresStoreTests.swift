import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// What only the shared store has to get right: several processes (here, several stores, each with its own pool)
/// on one database at once, the schema's versioning, and how telemetry is kept.
@Suite struct PostgresStoreTests {
    /// A fresh database and `count` stores on it, created at the same moment (as processes started together).
    static func stores(_ count: Int) async throws -> (server: PostgresServer, database: String, stores: [PostgresStore])
    {
        let (server, database) = try await PostgresServer.sharedDatabase()
        var settings = ServerConfig.Postgres()
        settings.port = server.port
        settings.user = server.user
        settings.database = database
        settings.tls = .disable
        let stores = try (0..<count).map { _ in try PostgresStore(settings) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { try await store.ready() } }
            try await group.waitForAll()
        }
        return (server, database, stores)
    }

    @Test func processesStartingTogetherApplyEachMigrationOnce() async throws {
        let (server, database, stores) = try await Self.stores(4)
        defer { for store in stores { store.close() } }
        let applied = try await server.psql(
            "SELECT string_agg(version::text, ',') FROM occupant_schema", database: database)
        #expect(applied == PostgresMigrations.all.map { "\($0.version)" }.joined(separator: ","))
        // A fifth start finds nothing to do.
        let (_, _, more) = try await Self.stores(1)
        more[0].close()
    }

    @Test func theSameBatchFromTwoProcessesAtOnceIsStoredOnce() async throws {
        let (_, _, stores) = try await Self.stores(2)
        defer { for store in stores { store.close() } }
        let rows = (0..<200).map {
            TelemetryRow(
                gateway: "gw-a", at: Double($0) * 10,
                readings: ["sound": .number(Double($0)), "hvac": .category("off")])
        }
        for batch in 0..<5 {
            let shifted = rows.map {
                TelemetryRow(gateway: "gw-a", at: $0.at + Double(batch) * 10_000, readings: $0.readings)
            }
            let results = try await withThrowingTaskGroup(of: (accepted: Int, duplicate: Bool).self) { group in
                for store in stores + stores {
                    group.addTask {
                        try await store.insertTelemetry(gateway: "gw-a", batchID: "b\(batch)", rows: shifted)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { !$0.duplicate }.map(\.accepted) == [200])
            #expect(results.filter(\.duplicate).count == 3)
        }
        #expect(try await stores[1].telemetryCount() == 1_000)
    }

    @Test func anAlertRaisedByTwoProcessesAtOnceOpensOnce() async throws {
        let (_, _, stores) = try await Self.stores(2)
        defer { for store in stores { store.close() } }
        let raised = try await withThrowingTaskGroup(of: Int?.self) { group in
            for i in 0..<8 {
                let store = stores[i % 2]
                group.addTask {
                    try await store.raiseAlert(
                        kind: "silent", subject: "gw-a", scope: "office", gateway: "gw-a", numbers: [:],
                        message: "gw-a silent", at: Double(i)
                    )?.id
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(raised.compactMap { $0 }.count == 1)
        #expect(try await stores[0].alertDocuments(open: true).count == 1)
    }

    @Test func labelsFromTwoProcessesAtOnceStayDisjoint() async throws {
        let (_, _, stores) = try await Self.stores(2)
        defer { for store in stores { store.close() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                let store = stores[i % 2]
                let from = Double((i * 37) % 500)
                group.addTask {
                    try await store.insertLabels([
                        LabelRange(gateway: "gw-a", from: from, to: from + 60, occupied: i % 3 == 0, source: "http")
                    ])
                }
            }
            try await group.waitForAll()
        }
        let spans = try await stores[0].labels(gateways: ["gw-a"])
        #expect(!spans.isEmpty)
        for (a, b) in zip(spans, spans.dropFirst()) {
            #expect(a.to <= b.from, "\(a) overlaps \(b)")
            #expect(a.to < b.from || a.occupied != b.occupied, "touching spans of one state not merged: \(a) \(b)")
        }
    }

    @Test func aDatabaseMigratedByANewerServerIsRefused() async throws {
        let (server, database, stores) = try await Self.stores(1)
        stores[0].close()
        try await server.psql(
            "INSERT INTO occupant_schema (version, name) VALUES (99, 'from the future')", database: database)
        var settings = ServerConfig.Postgres()
        settings.port = server.port
        settings.user = server.user
        settings.database = database
        settings.tls = .disable
        let newer = try PostgresStore(settings)
        defer { newer.close() }
        do {
            try await newer.ready()
            Issue.record("a newer schema was accepted")
        } catch let error as OccupantError {
            #expect(error.message.contains("schema version 99, newer than this server knows"), "\(error)")
            #expect(!error.message.contains("\n"))
        }
        // Every operation fails the same way, instead of touching the data.
        await #expect(throws: OccupantError.self) { _ = try await newer.telemetryCount() }
    }

    @Test func anUnreachableDatabaseIsOneLineAtStart() async throws {
        var settings = ServerConfig.Postgres()
        settings.port = try freeLoopbackPort()
        settings.tls = .disable
        let store = try PostgresStore(settings)
        defer { store.close() }
        do {
            try await store.ready()
            Issue.record("nothing listens there")
        } catch let error as OccupantError {
            #expect(error.message.hasPrefix("PostgreSQL store: cannot connect"), "\(error)")
            #expect(error.message.lowercased().contains("refused"), "\(error)")
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func telemetryRowsAreCompactBinaryAndReadThroughTheKey() async throws {
        let (server, database, stores) = try await Self.stores(1)
        defer { stores[0].close() }
        _ = try await stores[0].insertTelemetry(
            gateway: "gw-a", batchID: "b",
            rows: (0..<50).map {
                TelemetryRow(
                    gateway: "gw-a", at: Double($0), readings: ["sound": .number(12.5), "hvac": .category("heating")])
            })
        // Two readings: id, tag and 8 bytes; id, tag, length and 7 bytes. JSON text would be 34 bytes.
        let size = try await server.psql(
            "SELECT max(octet_length(readings)) FROM telemetry", database: database)
        #expect(size == "20")
        // The scope's window and "rows since X" are range scans of the primary key.
        let plan = try await server.psql(
            """
            SET enable_seqscan = off;
            EXPLAIN SELECT at, readings FROM telemetry WHERE gateway = 'gw-a' AND at >= 10 AND at < 20 ORDER BY at;
            """, database: database)
        #expect(plan.contains("telemetry_pkey"), "\(plan)")
    }

    @Test func aBundleRecordedByOneProcessIsServedByAnother() async throws {
        let (server, database) = try await PostgresServer.sharedDatabase()
        var settings = ServerConfig.Postgres()
        settings.port = server.port
        settings.user = server.user
        settings.database = database
        settings.tls = .disable
        let folderA = try ArtifactStore(root: try temporaryDirectory("artifacts-a").path)
        let folderB = try ArtifactStore(root: try temporaryDirectory("artifacts-b").path)
        let a = try PostgresStore(settings, artifacts: folderA)
        let b = try PostgresStore(settings, artifacts: folderB)
        defer {
            a.close()
            b.close()
        }
        let bytes = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let sha = try folderA.put(bytes)
        var record = StoreContractTests.model(1)
        record.sha256 = sha
        try await a.addModel(record)
        try await a.setAlias(scope: "office", alias: "champion", version: 1)
        #expect(throws: OccupantError.self) { _ = try folderB.get(sha256: sha) }
        // Handing out the record brings the bundle into B's folder, checked against its hash.
        #expect(try await b.assignedModel(scope: "office", gateway: "gw-a") == record)
        #expect(try folderB.get(sha256: sha) == bytes)
        #expect(try await server.psql("SELECT count(*) FROM artifacts", database: database) == "1")
        // Damaged in the database: refused, never written to the folder.
        let folderC = try ArtifactStore(root: try temporaryDirectory("artifacts-c").path)
        let c = try PostgresStore(settings, artifacts: folderC)
        defer { c.close() }
        try await server.psql("UPDATE artifacts SET bytes = 'garbage'::bytea", database: database)
        await #expect(throws: OccupantError.self) { _ = try await c.model(scope: "office", version: 1) }
        #expect(!FileManager.default.fileExists(atPath: folderC.path(sha256: sha)!))
    }

    @Test func retentionRemovesOldRawRowsButNotLabelledOnesOrALiveModelsData() async throws {
        let (_, _, stores) = try await Self.stores(1)
        let s = stores[0]
        defer { s.close() }
        let times = stride(from: 0.0, to: 1_000, by: 10).map { $0 }
        for g in ["gw-a", "gw-b", "gw-x"] {
            _ = try await s.insertTelemetry(
                gateway: g, batchID: "b",
                rows: times.map { TelemetryRow(gateway: g, at: $0, readings: ["s": .number(1)]) })
        }
        // Labelled: [100, 200) of gw-a. The champion of office was trained on [300, 400]; an old, unaliased model's
        // window [500, 600] protects nothing; lab's champion window protects lab's gateways only.
        try await s.insertLabels([LabelRange(gateway: "gw-a", from: 100, to: 200, occupied: true, source: "http")])
        var champion = StoreContractTests.model(2)
        champion.dataFrom = 300
        champion.dataTo = 400
        var old = StoreContractTests.model(1)
        old.dataFrom = 500
        old.dataTo = 600
        var lab = StoreContractTests.model(1, scope: "lab")
        lab.dataFrom = 0
        lab.dataTo = 1_000
        for m in [old, champion, lab] { try await s.addModel(m) }
        try await s.setAlias(scope: "office", alias: "champion", version: 2)
        try await s.setAlias(scope: "lab", alias: "champion", version: 1)

        let removed = try await s.pruneTelemetry(
            before: 700, gatewaysByScope: ["office": ["gw-a", "gw-b"], "lab": ["gw-x"]])
        // gw-a keeps [100, 200) labelled, [300, 400] and [700, 1000): 10 + 11 + 30; gw-b: 11 + 30; gw-x: all 100.
        let a = try await s.telemetry(gateway: "gw-a", from: 0, to: 1_000).map(\.at)
        let labelled: [Double] = Array(stride(from: 100.0, to: 200, by: 10))
        let trainedOn: [Double] = Array(stride(from: 300.0, through: 400, by: 10))
        let recent: [Double] = Array(stride(from: 700.0, to: 1_000, by: 10))
        #expect(a == labelled + trainedOn + recent)
        #expect(try await s.telemetry(gateway: "gw-b", from: 0, to: 1_000).count == 41)
        #expect(try await s.telemetry(gateway: "gw-x", from: 0, to: 1_000).count == 100)
        #expect(removed == (100 - 51) + (100 - 41))
        #expect(try await s.labels(gateways: ["gw-a"]).count == 1)
        // Once more: nothing left to remove.
        #expect(try await s.pruneTelemetry(before: 700, gatewaysByScope: ["office": ["gw-a", "gw-b"]]) == 0)
    }
}
