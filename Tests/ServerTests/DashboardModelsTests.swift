import FleetProtocol
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

extension DashboardRig {
    /// v3 of office: a challenger whose report has event figures, an ablation and hyper-parameters, with markup in
    /// the places a report carries free text; a metric history of six records (holdout v1–v3, live v2, shadow v2
    /// and v3); v3's decision (kept as challenger, markup in its reason).
    static let markupGroup = "<b>co2</b>"
    static let challengerReport = """
        {"trigger":"labels <i>new</i>","reason":"beats the rule","holdout":{"from":"2026-01-01T00:00:00.000Z",
           "to":"2026-01-02T00:00:00.000Z","rows":140,"challenger":{"accuracy":0.93,"f1":0.9,"auc":0.96}},
         "training":{"rows":5000,"labelledRows":4000,"occupiedRows":1500,"folds":[{},{},{}],"threshold":0.47,
           "treeCount":120,"trials":40,"prunedTrials":12,"seed":7,
           "chosen":{"family":"trees","groups":["raw","time"],"boosting":{"maxDepth":4,"learningRate":0.1}},
           "calibrator":{"kind":"isotonic"},
           "calibration":{"ece":0.03,"bins":[{"count":10,"meanProbability":0.2,"observedRate":0.25}]},
           "events":{"days":3,"publishedTransitions":12,"falseTransitions":1,"falseTransitionsPerDay":0.5,
             "onsets":6,"missedOnsets":0,"onsetLatencyP50Seconds":120,"onsetLatencyP95Seconds":300,
             "clears":6,"missedClears":1,"clearLatencyP50Seconds":600,"clearLatencyP95Seconds":900},
           "ablation":[{"group":"\(markupGroup)","change":"removed","accuracy":0.9,"logLoss":0.3,
             "accuracyDelta":-0.03,"logLossDelta":0.05}]}}
        """

    func seedModelHistory() async throws {
        let now = clock.now().seconds
        try await store.addModel(
            ModelRecord(
                scope: "office", version: 3, modelID: "occupancy-office", sha256: "sha-v3", size: 10, created: now,
                dataFrom: 0, dataTo: 2, labelledRowsSeen: 0, report: Self.challengerReport))
        try await store.setAlias(scope: "office", alias: "challenger", version: 3)
        for (version, at, kind, value) in [
            (1, -3000.0, "holdout", 0.88), (2, -2000, "holdout", 0.91), (2, -1000, "live", 0.9),
            (3, -500, "holdout", 0.93), (2, -100, "shadow", 0.89), (3, -100, "shadow", 0.87),
        ] {
            try await store.addMetric(
                MetricRecord(
                    scope: "office", version: version, at: now + at, kind: kind, metric: "accuracy", value: value,
                    rows: 100))
        }
        try await store.addPromotion(
            PromotionRecord(
                scope: "office", at: now, challenger: 3, champion: 2, promoted: false,
                reason: "shadow evidence <img src=x>: does not beat the champion"))
    }
}

/// The Models screen over its routes: the version list from the summary columns, the metric history, the selected
/// version's figures, champion beside challenger, decisions with their outcome, and its JSON twin.
@Suite struct DashboardModelsTests {
    @Test func theModelsScreenShowsHistoryComparisonAndTheSelectedVersion() async throws {
        let d = try await DashboardRig("dash-models")
        try await d.seedModelHistory()
        try await d.rig.test { client in
            let (cookie, _) = try await dashboardLogin(client, token: "viewer-token")
            let page = try await client.execute(
                uri: "/dashboard/models/office?version=3", method: .get, headers: [.cookie: cookie])
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            // Versions from the summary columns: v3's figures, v2's, v1 without any.
            #expect(html.contains("93.0 %") && html.contains("91.0 %") && html.contains(">0.50<"))
            // The metric history: one mark per metric record, three series with their shapes named.
            let history = try #require(html.range(of: #"<svg id="history""#))
            let rest = html[history.lowerBound...]
            let plot = rest[..<(try #require(rest.range(of: "</svg>")).upperBound)]
            #expect(plot.components(separatedBy: #"<path class="mark""#).count - 1 == 6)
            #expect(plot.contains("holdout accuracy (circle)") && plot.contains("live accuracy (square)"))
            #expect(plot.contains("shadow accuracy (triangle)") && plot.contains("value (%)"))
            // Champion (v2, promoted by the rig) beside the challenger (v3).
            #expect(html.contains(">champion: v2</a>") && html.contains(">challenger: v3</a>"))
            #expect(html.contains("89.0 % (100 rows)") && html.contains("87.0 % (100 rows)"))
            // v3's event figures, data window, hyper-parameters and ablation, every free text escaped.
            #expect(html.contains("<h2 id=\"version\">Version 3</h2>"))
            #expect(html.contains("False transitions per day</th><td class=\"n\">0.50"))
            #expect(html.contains("Onset latency p50</th><td class=\"n\">2 min"))
            #expect(html.contains("Clears (missed)</th><td class=\"n\">6 (1)"))
            #expect(html.contains("maxDepth</th><td>4") && html.contains("Calibrator</th><td>isotonic"))
            #expect(html.contains("Training rows</th><td>5000") && html.contains("Folds (day-blocked)</th><td>3"))
            #expect(html.contains("Golden vectors</th><td>bundle not in the artifact store"))
            #expect(html.contains("&lt;b&gt;co2&lt;/b&gt;") && !html.contains(DashboardRig.markupGroup))
            #expect(html.contains("labels &lt;i&gt;new&lt;/i&gt;") && !html.contains("<i>new"))
            #expect(html.contains("-3.00") && html.contains("+0.0500"))
            // Decisions with their outcome; the reason's markup as text.
            #expect(html.contains("rollout running, wave 1 of 2"))
            #expect(html.contains("kept as challenger"))
            #expect(html.contains("shadow evidence &lt;img src&#61;x&gt;") || html.contains("&lt;img src=x&gt;"))
            #expect(!html.contains("<img"))
            #expect(html.contains("/v1/scopes/office/models/3"))

            // Without a version the champion is selected; an unknown version is a 404 naming it.
            let champion = String(
                buffer: try await client.execute(
                    uri: "/dashboard/models/office", method: .get, headers: [.cookie: cookie]
                )
                .body)
            #expect(champion.contains("<h2 id=\"version\">Version 2</h2>"))
            let unknown = try await client.execute(
                uri: "/dashboard/models/office?version=9", method: .get, headers: [.cookie: cookie])
            #expect(unknown.status == .notFound && String(buffer: unknown.body).contains("has no version 9"))
            // A scope without metrics or models.
            let lab = String(
                buffer: try await client.execute(uri: "/dashboard/models/lab", method: .get, headers: [.cookie: cookie])
                    .body)
            #expect(lab.contains("No metric recorded for this scope yet") && !lab.contains("<svg id=\"history\""))
        }
    }

    @Test func theShadowModelsEvidenceOnTheFirstWaveIsShown() async throws {
        let d = try await DashboardRig("dash-models-shadow")
        try await d.seedModelHistory()
        try await d.store.setAlias(scope: "office", alias: ModelRegistry.shadowAlias, version: 3)
        let now = d.clock.now().seconds
        // gw-a (first wave) scored v3 in shadow for 20 labelled samples: v2 right on all, v3 on half.
        try await d.store.insertMonitor(
            MonitorDocument(
                gateway: "gw-a",
                window: .init(from: TimeValue(seconds: now - 1800), to: TimeValue(seconds: now), samples: 20),
                inputs: [:],
                predictions: .init(meanProbability: 0.6, positiveRate: 1, transitions: 0, histogram: [], stale: 0),
                drift: nil, expectedAccuracy: 0.9, bundleAccuracy: 0.92, decidedBy: "model:occupancy-office@2",
                process: .init(cpuSeconds: nil, rssBytes: nil, uptimeSeconds: nil),
                shadow: ShadowWindow(
                    model: "occupancy-office@3", version: 3, sha256: "sha-v3", scored: 20, compared: 20,
                    agreement: 0.5, transitions: 1, meanProbability: 0.5, expectedAccuracy: 0.8, bundleAccuracy: 0.93,
                    stale: 0,
                    runs: [
                        .init(from: now - 1800, to: now - 900, n: 10, active: true, shadow: true),
                        .init(from: now - 890, to: now - 10, n: 10, active: true, shadow: false),
                    ], complete: true)))
        try await d.store.insertLabels([
            LabelRange(gateway: "gw-a", from: now - 1800, to: now, occupied: true, source: "http")
        ])
        // Only the shadow windows come back, with what the evidence reads.
        let windows = try await d.store.shadowWindows(gateway: "gw-a", span: 86_400)
        #expect(windows.map(\.decidedBy) == ["model:occupancy-office@2"] && windows.first?.shadow?.runs.count == 2)
        try await d.rig.test { client in
            let (cookie, _) = try await dashboardLogin(client, token: "admin-token")
            let html = String(
                buffer: try await client.execute(
                    uri: "/dashboard/models/office", method: .get, headers: [.cookie: cookie]
                ).body)
            #expect(html.contains("Version 3 runs in shadow beside the champion, version 2"))
            #expect(html.contains(">challenger: v3</a>"))
            let start = try #require(html.range(of: #"<table id="shadow-evidence">"#)).upperBound
            let table = html[start...]
            let row = String(table[..<(try #require(table.range(of: "</tbody>")).upperBound)])
            #expect(row.contains(">gw-a</a>") && row.contains("model:occupancy-office@2"))
            #expect(
                row.contains(">50.0 %</td><td class=\"n\">20</td><td class=\"n\">100.0 %</td><td class=\"n\">50.0 %<"))
        }
    }

    @Test func theVersionJSONServesWhatThePageShows() async throws {
        let d = try await DashboardRig("dash-models-json")
        try await d.seedModelHistory()
        try await d.rig.test { client in
            let admin: HTTPFields = [.authorization: "Bearer admin-token"]
            let response = try await client.execute(uri: "/v1/scopes/office/models/2", method: .get, headers: admin)
            #expect(response.status == .ok)
            let doc = try FleetJSON.decode(ModelVersionDocument.self, from: Array(response.body.readableBytesView))
            #expect(doc.model.version == 2 && doc.model.aliases == ["champion"] && doc.goldenVectors == nil)
            #expect(doc.decisions.count == 1 && doc.decisions[0].outcome.contains("rollout running"))
            #expect(doc.metrics.map(\.kind) == ["holdout", "live", "shadow"])
            #expect(doc.model.report["holdout"]?["rows"]?.number == 120)
            let v3 = try FleetJSON.decode(
                ModelVersionDocument.self,
                from: Array(
                    try await client.execute(uri: "/v1/scopes/office/models/3", method: .get, headers: admin).body
                        .readableBytesView))
            #expect(v3.model.aliases == ["challenger"] && v3.decisions.first?.outcome == "kept as challenger")
            for (uri, status) in [
                ("/v1/scopes/office/models/9", HTTPResponse.Status.notFound),
                ("/v1/scopes/office/models/two", .badRequest), ("/v1/scopes/nowhere/models/1", .notFound),
            ] {
                let r = try await client.execute(uri: uri, method: .get, headers: admin)
                #expect(r.status == status, "\(uri)")
            }
            let gateway = try await client.execute(
                uri: "/v1/scopes/office/models/2", method: .get, headers: [.authorization: "Bearer token-a"])
            #expect(gateway.status == .forbidden)
        }
    }

    /// The document as it was before it embedded `RegistryListing.Model`: every member at the top level.
    struct FlatModelVersionDocument: Codable {
        var scope: String
        var version: Int
        var modelID: String
        var sha256: String
        var size: Int
        var created: String
        var dataFrom: String
        var dataTo: String
        var aliases: [String]
        var goldenVectors: Int?
        var rolledBackGateways: Int
        var metrics: [RegistryListing.Metric]
        var decisions: [ModelVersionDocument.Decision]
        var report: JSON
    }

    /// The version document composes the registry listing's model, and its JSON is the flat one it always was.
    @Test func theVersionJSONKeepsItsFlatShape() async throws {
        let d = try await DashboardRig("dash-models-json-shape")
        try await d.seedModelHistory()
        try await d.rig.test { client in
            let admin: HTTPFields = [.authorization: "Bearer admin-token"]
            for version in [2, 3] {
                let response = try await client.execute(
                    uri: "/v1/scopes/office/models/\(version)", method: .get, headers: admin)
                let body = Array(response.body.readableBytesView.dropLast()) // the newline
                let flat = try FleetJSON.decode(FlatModelVersionDocument.self, from: body)
                #expect(try FleetJSON.bytes(flat) == body, "v\(version)")
                let doc = try FleetJSON.decode(ModelVersionDocument.self, from: body)
                #expect(try FleetJSON.bytes(doc) == body, "v\(version)")
                let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
                #expect(
                    object.keys.sorted() == [
                        "aliases", "created", "dataFrom", "dataTo", "decisions", "metrics", "modelID", "report",
                        "rolledBackGateways", "scope", "sha256", "size", "version",
                    ])
                #expect(doc.model.version == version && flat.created == doc.model.created)
            }
        }
    }

    @Test func summariesComeFromColumnsFilledOnInsertAndBackfilledByTheMigration() async throws {
        let dir = try temporaryDirectory("dash-model-summaries")
        let path = dir.appendingPathComponent("server.sqlite").path
        // A store at v8 with a model stored before the summary columns existed.
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteStore.migrator.migrate(queue, upTo: "v8: the configured fleet (dashboard)")
            try await queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO models (scope, version, model_id, sha256, size, created, data_from, data_to,
                            labelled_rows_seen, report) VALUES ('office', 1, 'm', 'sha-1', 1, 0, 0, 1, 0, ?),
                            ('office', 2, 'm', 'sha-2', 1, 0, 0, 1, 0, 'not json'),
                            ('office', 3, 'm', 'sha-3', 1, 0, 0, 1, 0, '{"holdout":{"challenger":{"accuracy":"NaN"}}}')
                        """, arguments: [DashboardRig.report])
            }
        }
        let store = try SQLiteStore(path: path)
        var summaries = try await store.modelSummaries(scope: "office")
        #expect(summaries.map(\.accuracy) == [0.91, nil, nil])
        #expect(summaries[0].holdoutRows == 120 && summaries[0].ece == 0.04 && summaries[0].auc == 0.95)
        // Inserted after the migration: the trigger fills the columns.
        try await store.addModel(
            ModelRecord(
                scope: "office", version: 4, modelID: "m", sha256: "sha-4", size: 1, created: 0, dataFrom: 0,
                dataTo: 1, labelledRowsSeen: 0, report: DashboardRig.challengerReport))
        summaries = try await store.modelSummaries(scope: "office")
        #expect(summaries.last?.accuracy == 0.93 && summaries.last?.falseTransitionsPerDay == 0.5)
        // The same figures as decoding the report (the fallback for other stores).
        let decoded = try #require(try await store.model(scope: "office", version: 4)).report
        #expect(
            ModelSummary(
                ModelRecord(
                    scope: "office", version: 4, modelID: "m", sha256: "sha-4", size: 1, created: 0, dataFrom: 0,
                    dataTo: 1, labelledRowsSeen: 0, report: decoded)) == summaries.last)
        // Listing reads the columns, never the report: a report changed behind the store's back does not show.
        try await store.execute(sql: "UPDATE models SET report = '{}' WHERE version = 4")
        #expect(try await store.modelSummaries(scope: "office").last?.accuracy == 0.93)
    }
}
