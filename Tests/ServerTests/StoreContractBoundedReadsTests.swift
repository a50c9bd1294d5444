import FleetProtocol
import Foundation
import GRDB
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// The reads the silence check, the metrics scrape and a model's page make, answered from an index on both stores
/// instead of reading every open alert or grouping every rollback.
@Suite struct StoreContractBoundedReadsTests {
    @Test(arguments: StoreKind.allCases)
    func openAlertsOfOneKindAndTheirCounts(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        #expect(try await s.openAlerts(kind: "silent").isEmpty)
        #expect(try await s.openAlertCounts().isEmpty)
        for (i, g) in ["gw-a", "gw-b", "gw-c"].enumerated() {
            _ = try await s.raiseAlert(
                kind: "silent", subject: g, scope: "office", gateway: g, numbers: [:], message: "\(g) silent",
                at: 100 + Double(i))
        }
        _ = try await s.raiseAlert(
            kind: "drift", subject: "gw-a/sound", scope: "office", gateway: "gw-a", numbers: [:], message: "drift",
            at: 110)
        _ = try await s.clearAlert(kind: "silent", subject: "gw-b", at: 120)
        #expect(try await s.openAlerts(kind: "silent").map(\.gateway) == ["gw-a", "gw-c"])
        #expect(try await s.openAlerts(kind: "drift").map(\.message) == ["drift"])
        #expect(try await s.openAlerts(kind: "accuracy").isEmpty)
        #expect(try await s.openAlertCounts() == ["silent": 2, "drift": 1])
    }

    @Test(arguments: StoreKind.allCases)
    func gatewaysThatRolledOneBundleBack(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        let a = String(repeating: "a", count: 64)
        let b = String(repeating: "b", count: 64)
        func rollback(_ gateway: String, _ sha: String, at: Double) -> ModelRollbackRecord {
            ModelRollbackRecord(
                gateway: gateway, version: 2, sha256: sha, guardName: "stuck", reason: "r", at: at, received: at)
        }
        #expect(try await s.rolledBackGateways(sha256: a) == 0)
        // gw-a twice (two rollbacks of the same bundle count once), gw-b once; another bundle apart.
        for r in [rollback("gw-a", a, at: 1), rollback("gw-a", a, at: 2), rollback("gw-b", a, at: 3)] {
            #expect(try await s.addRollback(r))
        }
        #expect(try await s.addRollback(rollback("gw-c", b, at: 4)))
        #expect(try await s.rolledBackGateways(sha256: a) == 2)
        #expect(try await s.rolledBackGateways(sha256: b) == 1)
        #expect(try await s.rolledBackGateways() == [a: 2, b: 1])
    }

    /// Both stores read them through an index (SQLite's query plan names it).
    @Test func sqliteAnswersFromItsIndexes() async throws {
        let dir = try temporaryDirectory("bounded-reads")
        let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path)
        for (sql, index) in [
            ("SELECT * FROM alerts WHERE kind = 'silent' AND cleared_at IS NULL ORDER BY id", "alerts_open"),
            ("SELECT kind, COUNT(*) FROM alerts WHERE cleared_at IS NULL GROUP BY 1", "alerts_open"),
            ("SELECT COUNT(DISTINCT gateway) FROM model_rollbacks WHERE sha256 = 'a'", "model_rollbacks_bundle"),
        ] {
            let plan = try await store.pool.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(
                    separator: "; ")
            }
            #expect(plan.contains(index), "\(sql): \(plan)")
        }
    }
}
