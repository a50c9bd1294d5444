import FleetProtocol
import Foundation
import OccupantCore
import Testing

@testable import Server

/// The dashboard's bounded reads (a gateway's label spans over a range, its model changes, its shadow windows, a
/// scope's model summaries, rollbacks by bundle) answer the same on both stores, at the edges of their ranges too; the
/// summaries come from their columns, not the reports.
extension StoreContractTests {
    /// The first instant of the monitor windows the tests store (hourly from here).
    static let h: Double = 1_767_596_400

    static func label(_ from: Double, _ to: Double, _ occupied: Bool, _ g: String = StoreContractTests.g) -> LabelRange
    {
        LabelRange(gateway: g, from: from, to: to, occupied: occupied, source: "http")
    }

    @Test(arguments: StoreKind.allCases)
    func labelSpansOverARangeIncludeOnlyThoseThatOverlapIt(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        try await s.insertLabels([
            Self.label(0, 50, true), Self.label(50, 80, false), Self.label(80, 150, true), Self.label(300, 350, false),
            Self.label(350, 500, true), Self.label(40, 60, true, "gw-b"),
        ])
        func spans(_ from: Double, _ to: Double, _ g: String = Self.g) async throws -> [[Double]] {
            try await s.labels(gateway: g, from: from, to: to).map { [$0.from, $0.to] }
        }
        // [from, to) is half-open on both sides: a span ending at `from` or starting at `to` is outside.
        #expect(try await spans(50, 300) == [[50, 80], [80, 150]])
        #expect(try await spans(49, 301) == [[0, 50], [50, 80], [80, 150], [300, 350]])
        #expect(try await spans(60, 70) == [[50, 80]]) // inside one span that started before the range
        #expect(try await spans(150, 300).isEmpty) // the gap between spans
        #expect(try await spans(499, 1_000) == [[350, 500]])
        #expect(try await spans(500, 1_000).isEmpty)
        #expect(try await spans(-100, 0).isEmpty)
        #expect(try await spans(0, 1_000).count == 5)
        #expect(try await spans(0, 1_000, "gw-b") == [[40, 60]])
        #expect(try await spans(0, 1_000, "gw-z").isEmpty)
        let first = try #require(try await s.labels(gateway: Self.g, from: 49, to: 51).first)
        #expect(first == Self.label(0, 50, true))
    }

    @Test(arguments: StoreKind.allCases)
    func modelChangesAreWhereTheDecidingModelChanged(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        let deciders: [String?] = ["model:a@1", "model:a@1", "model:a@2", nil, nil, "model:a@1"]
        for (i, decider) in deciders.enumerated() {
            var w = Self.window(Self.g, from: Self.h + Double(i) * 3_600)
            w.decidedBy = decider
            try await s.insertMonitor(w)
        }
        try await s.insertMonitor(Self.window("gw-b", from: Self.h))
        func changes(_ g: String = Self.g, limit: Int) async throws -> [String] {
            try await s.modelChanges(gateway: g, limit: limit).map { "\(Int($0.at - Self.h)) \($0.decidedBy ?? "-")" }
        }
        #expect(try await changes(limit: 10) == ["0 model:a@1", "7200 model:a@2", "10800 -", "18000 model:a@1"])
        #expect(try await changes(limit: 2) == ["10800 -", "18000 model:a@1"]) // the newest, oldest first
        #expect(try await changes("gw-b", limit: 10) == ["0 model:occupancy-office@3"])
        #expect(try await changes("gw-z", limit: 10).isEmpty)
        // A gateway whose first window names no model starts with that.
        var none = Self.window("gw-c", from: Self.h)
        none.decidedBy = nil
        try await s.insertMonitor(none)
        #expect(try await changes("gw-c", limit: 10) == ["0 -"])
    }

    @Test(arguments: StoreKind.allCases)
    func shadowWindowsAreThoseOfTheSpanReducedToTheEvidence(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        var sent: [MonitorDocument] = []
        for i in 0..<6 {
            var w = Self.window(Self.g, from: Self.h + Double(i) * 3_600, shadow: [1, 2, 4, 5].contains(i))
            w.shadow?.runs = [
                .init(
                    from: w.window.from.seconds!, to: w.window.from.seconds! + 1_000, n: 40, active: true, shadow: nil),
                .init(
                    from: w.window.from.seconds! + 1_030, to: w.window.to.seconds!, n: 80, active: false, shadow: false),
            ]
            w.shadow?.drift = ["sound": .init(score: 0.2, threshold: 0.5, drifted: false)]
            sent.append(w)
            try await s.insertMonitor(w)
        }
        try await s.insertMonitor(Self.window("gw-b", from: Self.h + 7 * 3_600, shadow: true))
        func reduced(_ i: Int) -> MonitorDocument {
            let w = sent[i]
            return MonitorDocument.shadowEvidence(
                gateway: Self.g, from: w.window.from.seconds!, to: w.window.to.seconds!, decidedBy: w.decidedBy,
                shadow: w.shadow!)
        }
        // The newest window ends at h + 6 hours: a span of 3 hours takes the windows ending after h + 3 hours (not the one
        // ending there), of which those with a shadow section.
        let three = try await s.shadowWindows(gateway: Self.g, span: 3 * 3_600)
        #expect(three == [reduced(4), reduced(5)])
        #expect(three.first?.shadow?.meanProbability == nil && three.first?.shadow?.drift == nil)
        #expect(three.first?.shadow?.runs.count == 2)
        #expect(
            try await s.shadowWindows(gateway: Self.g, span: 3 * 3_600 + 1) == [reduced(2), reduced(4), reduced(5)])
        #expect(try await s.shadowWindows(gateway: Self.g, span: 6 * 3_600).count == 4)
        #expect(try await s.shadowWindows(gateway: Self.g, span: 0).isEmpty)
        #expect(try await s.shadowWindows(gateway: "gw-z", span: 86_400).isEmpty)
        #expect(try await s.shadowWindows(gateway: "gw-b", span: 3_600).count == 1)
    }

    @Test(arguments: StoreKind.allCases)
    func modelSummariesComeFromTheirColumnsAndRollbacksCountByBundle(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        var m1 = Self.model(1)
        m1.report =
            #"{"holdout":{"rows":120,"challenger":{"accuracy":0.9,"f1":0.8,"auc":"nan"}},"training":{"calibration":{"ece":0.04},"events":{"falseTransitionsPerDay":1.5}}}"#
        try await s.addModel(m1)
        try await s.addModel(Self.model(2))
        try await s.addModel(Self.model(1, scope: "lab"))
        let summaries = try await s.modelSummaries(scope: "office")
        #expect(summaries.map(\.version) == [1, 2])
        let expected = ModelSummary(
            scope: "office", version: 1, modelID: m1.modelID, sha256: m1.sha256, size: m1.size, created: m1.created,
            dataFrom: m1.dataFrom, dataTo: m1.dataTo, accuracy: 0.9, f1: 0.8, auc: nil, holdoutRows: 120, ece: 0.04,
            falseTransitionsPerDay: 1.5)
        #expect(summaries[0] == expected)
        #expect(summaries[1].holdoutRows == 12 && summaries[1].accuracy == nil)
        #expect(try await s.modelSummaries(scope: "nowhere").isEmpty)
        // Read from the columns filled on insert: the report is not read again.
        switch s {
        case let sqlite as SQLiteStore:
            try await sqlite.pool.write { try $0.execute(sql: "UPDATE models SET report = '{}'") }
        case let postgres as PostgresStore:
            try await postgres.execute("UPDATE models SET report = '{}'")
        default: Issue.record("an unknown store")
        }
        #expect(try await s.modelSummaries(scope: "office")[0] == expected)

        for (gateway, sha, at) in [("gw-a", "ab", 1.0), ("gw-a", "ab", 2.0), ("gw-b", "ab", 3.0), ("gw-b", "cd", 4.0)] {
            _ = try await s.addRollback(
                ModelRollbackRecord(
                    gateway: gateway, version: 1, sha256: sha, guardName: "stuck", reason: "r", at: at, received: at))
        }
        #expect(try await s.rolledBackGateways() == ["ab": 2, "cd": 1])
    }

    @Test(arguments: StoreKind.allCases)
    func openAlertsOfSomeGatewaysOnly(_ kind: StoreKind) async throws {
        let t = try await StoreUnderTest.make(kind)
        defer { t.close() }
        let s = t.store
        let odd = #"gw-"q" 'x'"#
        for (i, gateway) in ["gw-a", "gw-b", odd, "gw-a"].enumerated() {
            _ = try await s.raiseAlert(
                kind: "guard", subject: "\(gateway)/\(i)", scope: "office", gateway: gateway, numbers: [:],
                message: "\(gateway) \(i)", at: Double(100 + i))
        }
        _ = try await s.raiseAlert(
            kind: "accuracy", subject: "office", scope: "office", gateway: nil, numbers: [:], message: "scope", at: 200)
        _ = try await s.clearAlert(kind: "guard", subject: "gw-a/0", at: 300)
        #expect(
            try await s.openAlerts(gateways: ["gw-a", odd, "gw-z"]).map(\.message) == [#"gw-"q" 'x' 2"#, "gw-a 3"])
        #expect(try await s.openAlerts(gateways: ["gw-b"]).map(\.message) == ["gw-b 1"])
        #expect(try await s.openAlerts(gateways: []).isEmpty)
        let all = try await s.alertDocuments(open: true).filter { $0.gateway == "gw-a" }
        #expect(try await s.openAlerts(gateways: ["gw-a"]) == all)
    }

    @Test func postgresIndexesTheDashboardReads() async throws {
        let t = try await StoreUnderTest.make(.postgres)
        defer { t.close() }
        let store = try #require(t.store as? PostgresStore)
        let names = try await store.rows("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()").map {
            try $0[0].decode(String.self)
        }
        for index in ["monitor_windows_decided", "monitor_windows_shadow", "model_rollbacks_bundle", "labels_spans"] {
            #expect(names.contains(index), "\(index)")
        }
    }
}
