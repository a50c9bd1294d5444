import FleetProtocol
import OccupantCore
import PostgresNIO

/// The dashboard's per-gateway and per-model reads on PostgreSQL, each an indexed query (as `SQLiteStore` answers
/// them) instead of the protocol's defaults, which read a whole table or a gateway's whole history and filter it here.
extension PostgresStore {
    /// The `decidedBy` and shadow flag of each monitor window as stored columns, with indexes for the Gateway
    /// screen's model changes and the shadow evidence; the Models screen's report figures as columns filled on insert;
    /// rollbacks by bundle.
    static let screensMigration = PostgresMigrations.Migration(
        version: 6, name: "indexed dashboard reads (model changes, shadow windows, model summaries, rollbacks)",
        statements: [
            """
            ALTER TABLE monitor_windows
                ADD COLUMN decided_by text GENERATED ALWAYS AS (document::jsonb ->> 'decidedBy') STORED,
                ADD COLUMN has_shadow boolean GENERATED ALWAYS AS
                    (coalesce(jsonb_typeof(document::jsonb -> 'shadow') = 'object', false)) STORED
            """,
            "CREATE INDEX monitor_windows_decided ON monitor_windows (gateway, window_from) INCLUDE (decided_by)",
            "CREATE INDEX monitor_windows_shadow ON monitor_windows (gateway, window_from) WHERE has_shadow",
            """
            ALTER TABLE models ADD COLUMN summarised boolean NOT NULL DEFAULT false,
                ADD COLUMN holdout_accuracy double precision, ADD COLUMN holdout_f1 double precision,
                ADD COLUMN holdout_auc double precision, ADD COLUMN holdout_rows bigint, ADD COLUMN ece double precision,
                ADD COLUMN false_transitions_per_day double precision
            """,
            "CREATE INDEX model_rollbacks_bundle ON model_rollbacks (sha256, gateway)",
        ])

    /// Fills the summary columns of a model just inserted (in its transaction), from its report.
    static func storeSummary(_ tx: Tx, _ m: ModelRecord) async throws {
        let s = ModelSummary(m)
        try await tx.rows(
            """
            UPDATE models SET summarised = true, holdout_accuracy = \(s.accuracy), holdout_f1 = \(s.f1),
                holdout_auc = \(s.auc), holdout_rows = \(s.holdoutRows), ece = \(s.ece),
                false_transitions_per_day = \(s.falseTransitionsPerDay)
            WHERE scope = \(m.scope) AND version = \(m.version)
            """)
    }

    /// Spans are disjoint: the one that starts before `from` (if it reaches into the range), then those that start
    /// inside it; both range scans of `labels_spans`.
    public func labels(gateway: String, from: Double, to: Double) async throws -> [LabelRange] {
        try await rows(
            """
            SELECT start, "end", occupied, source FROM (
                (SELECT start, "end", occupied, source FROM labels WHERE gateway = \(gateway) AND start < \(from)
                    ORDER BY start DESC LIMIT 1)
                UNION ALL
                (SELECT start, "end", occupied, source FROM labels
                    WHERE gateway = \(gateway) AND start >= \(from) AND start < \(to))) s
            WHERE "end" > \(from) ORDER BY start
            """
        ).map {
            LabelRange(
                gateway: gateway, from: try $0[0].decode(Double.self), to: try $0[1].decode(Double.self),
                occupied: try $0[2].decode(Bool.self), source: try $0[3].decode(String.self))
        }
    }

    /// One pass over the gateway's `monitor_windows_decided` range (an index-only scan), keeping only the changes.
    public func modelChanges(gateway: String, limit: Int) async throws -> [(at: Double, decidedBy: String?)] {
        try await rows(
            """
            SELECT at, decided FROM (
                SELECT window_from AS at, decided_by AS decided,
                    LAG(decided_by) OVER (ORDER BY window_from) AS prev,
                    ROW_NUMBER() OVER (ORDER BY window_from) AS n
                FROM monitor_windows WHERE gateway = \(gateway)) w
            WHERE n = 1 OR prev IS DISTINCT FROM decided ORDER BY at DESC LIMIT \(limit)
            """
        ).map { (at: try $0[0].decode(Double.self), decidedBy: try $0[1].decode(String?.self)) }.reversed()
    }

    public func gatewayStatus(gateway: String) async throws -> GatewayStatus? {
        try await rows("SELECT * FROM gateway_status WHERE gateway = \(gateway)").first.map(Self.gatewayStatus(from:))
    }

    /// From the summary columns; a model stored before they existed is summarised from its report.
    public func modelSummaries(scope: String) async throws -> [ModelSummary] {
        try await rows(
            """
            SELECT scope, version, model_id, sha256, size, created, data_from, data_to,
                CASE WHEN summarised THEN NULL ELSE report END AS report, holdout_accuracy, holdout_f1, holdout_auc,
                holdout_rows, ece, false_transitions_per_day
            FROM models WHERE scope = \(scope) ORDER BY version
            """
        ).map { r in
            if let report = try r["report"].decode(String?.self) {
                return ModelSummary(
                    ModelRecord(
                        scope: try r["scope"].decode(String.self), version: try r["version"].decode(Int.self),
                        modelID: try r["model_id"].decode(String.self), sha256: try r["sha256"].decode(String.self),
                        size: try r["size"].decode(Int.self), created: try r["created"].decode(Double.self),
                        dataFrom: try r["data_from"].decode(Double.self), dataTo: try r["data_to"].decode(Double.self),
                        labelledRowsSeen: 0, report: report))
            }
            return ModelSummary(
                scope: try r["scope"].decode(String.self), version: try r["version"].decode(Int.self),
                modelID: try r["model_id"].decode(String.self), sha256: try r["sha256"].decode(String.self),
                size: try r["size"].decode(Int.self), created: try r["created"].decode(Double.self),
                dataFrom: try r["data_from"].decode(Double.self), dataTo: try r["data_to"].decode(Double.self),
                accuracy: try r["holdout_accuracy"].decode(Double?.self), f1: try r["holdout_f1"].decode(Double?.self),
                auc: try r["holdout_auc"].decode(Double?.self), holdoutRows: try r["holdout_rows"].decode(Int?.self),
                ece: try r["ece"].decode(Double?.self),
                falseTransitionsPerDay: try r["false_transitions_per_day"].decode(Double?.self))
        }
    }

    /// An index-only scan of `model_rollbacks_bundle`.
    public func rolledBackGateways() async throws -> [String: Int] {
        Dictionary(
            try await rows("SELECT sha256, count(DISTINCT gateway) FROM model_rollbacks GROUP BY 1").map {
                (try $0[0].decode(String.self), try $0[1].decode(Int.self))
            }, uniquingKeysWith: { $1 })
    }

    /// The newest window by the primary key, then the shadow windows of the span from `monitor_windows_shadow`
    /// (windows that started more than a day before the span are not read; monitor windows are hourly); only the
    /// shadow section is sent, and only what shadow evidence reads is kept (as `SQLiteStore` does).
    public func shadowWindows(gateway: String, span: Double) async throws -> [MonitorDocument] {
        try await rows(
            """
            SELECT w.window_from, w.window_to, w.decided_by, (w.document::jsonb -> 'shadow')::text AS shadow
            FROM monitor_windows w, (
                SELECT window_to - \(span) AS since FROM monitor_windows WHERE gateway = \(gateway)
                ORDER BY window_from DESC LIMIT 1) n
            WHERE w.gateway = \(gateway) AND w.has_shadow AND w.window_from > n.since - 86400
                AND w.window_to > n.since
            ORDER BY w.window_from
            """
        ).compactMap { r in
            guard
                let shadow = try? FleetJSON.decode(ShadowWindow.self, from: try r["shadow"].decode(String.self).utf8)
            else { return nil }
            return MonitorDocument.shadowEvidence(
                gateway: gateway, from: try r["window_from"].decode(Double.self),
                to: try r["window_to"].decode(Double.self), decidedBy: try r["decided_by"].decode(String?.self),
                shadow: shadow)
        }
    }
}

extension MonitorDocument {
    /// A window reduced to what shadow evidence reads: `decidedBy` and the shadow section's model, counts, agreement,
    /// expected accuracy, runs and completeness (both stores answer `shadowWindows` with these).
    static func shadowEvidence(gateway: String, from: Double, to: Double, decidedBy: String?, shadow: ShadowWindow)
        -> MonitorDocument
    {
        MonitorDocument(
            gateway: gateway,
            window: .init(from: TimeValue(seconds: from), to: TimeValue(seconds: to), samples: 0),
            inputs: [:],
            predictions: .init(meanProbability: nil, positiveRate: nil, transitions: 0, histogram: [], stale: 0),
            drift: nil, expectedAccuracy: nil, bundleAccuracy: nil, decidedBy: decidedBy,
            process: .init(cpuSeconds: nil, rssBytes: nil, uptimeSeconds: nil),
            shadow: ShadowWindow(
                model: shadow.model, version: shadow.version, sha256: shadow.sha256, scored: shadow.scored,
                compared: shadow.compared, agreement: shadow.agreement, transitions: shadow.transitions,
                meanProbability: nil, expectedAccuracy: shadow.expectedAccuracy, bundleAccuracy: nil, stale: 0,
                runs: shadow.runs, complete: shadow.complete))
    }
}
