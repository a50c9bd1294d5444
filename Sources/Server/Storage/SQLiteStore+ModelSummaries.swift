import FleetProtocol
import GRDB
import OccupantCore

/// A model version as the Models screen lists it: its record without the report, and the few report figures the
/// version table and the champion/challenger comparison show. Listing a scope's versions reads these, never the
/// reports (a report carries the whole training leaderboard).
public struct ModelSummary: Sendable, Equatable {
    public var scope: String
    public var version: Int
    public var modelID: String
    public var sha256: String
    public var size: Int
    public var created: Double
    public var dataFrom: Double
    public var dataTo: Double
    /// The challenger's holdout figures (`holdout.challenger.*`, `holdout.rows`).
    public var accuracy: Double?
    public var f1: Double?
    public var auc: Double?
    public var holdoutRows: Int?
    /// Out-of-fold expected calibration error and false transitions per day (`training.calibration.ece`,
    /// `training.events.falseTransitionsPerDay`).
    public var ece: Double?
    public var falseTransitionsPerDay: Double?

    public init(
        scope: String, version: Int, modelID: String, sha256: String, size: Int, created: Double, dataFrom: Double,
        dataTo: Double, accuracy: Double? = nil, f1: Double? = nil, auc: Double? = nil, holdoutRows: Int? = nil,
        ece: Double? = nil, falseTransitionsPerDay: Double? = nil
    ) {
        self.scope = scope
        self.version = version
        self.modelID = modelID
        self.sha256 = sha256
        self.size = size
        self.created = created
        self.dataFrom = dataFrom
        self.dataTo = dataTo
        self.accuracy = accuracy
        self.f1 = f1
        self.auc = auc
        self.holdoutRows = holdoutRows
        self.ece = ece
        self.falseTransitionsPerDay = falseTransitionsPerDay
    }

    /// The report paths of the summary figures (also the columns' backfill).
    static let paths: [(column: String, path: String)] = [
        ("holdout_accuracy", "$.holdout.challenger.accuracy"), ("holdout_f1", "$.holdout.challenger.f1"),
        ("holdout_auc", "$.holdout.challenger.auc"), ("holdout_rows", "$.holdout.rows"),
        ("ece", "$.training.calibration.ece"),
        ("false_transitions_per_day", "$.training.events.falseTransitionsPerDay"),
    ]

    /// From a full record, decoding its report (the fallback for a store without the summary columns).
    public init(_ m: ModelRecord) {
        let report = try? FleetJSON.decode(JSON.self, from: Array(m.report.utf8))
        func number(_ path: String) -> Double? {
            var node = report
            for key in path.dropFirst(2).split(separator: ".") { node = node?[String(key)] }
            if case .number(let n)? = node { return n }
            return nil
        }
        self.init(
            scope: m.scope, version: m.version, modelID: m.modelID, sha256: m.sha256, size: m.size, created: m.created,
            dataFrom: m.dataFrom, dataTo: m.dataTo, accuracy: number(Self.paths[0].path),
            f1: number(Self.paths[1].path),
            auc: number(Self.paths[2].path), holdoutRows: number(Self.paths[3].path).map { Int($0) },
            ece: number(Self.paths[4].path), falseTransitionsPerDay: number(Self.paths[5].path))
    }
}

extension ServerStore {
    /// Decodes every report of the scope: a store with summary columns answers from them instead.
    public func modelSummaries(scope: String) async throws -> [ModelSummary] {
        try await models(scope: scope).map(ModelSummary.init)
    }

    /// The gateway's monitor windows ending within `span` seconds of its newest one that carry a shadow section
    /// (default: every window read).
    public func shadowWindows(gateway: String, span: Double) async throws -> [MonitorDocument] {
        guard let end = try await monitorWindowsEnd(gateway: gateway) else { return [] }
        return try await monitorWindows(gateway: gateway, since: end - span).filter { $0.shadow != nil }
    }

    /// Gateways that rolled back each bundle (by SHA-256).
    public func rolledBackGateways() async throws -> [String: Int] {
        var gateways: [String: Set<String>] = [:]
        for r in try await rollbacks(gateway: nil) { gateways[r.sha256, default: []].insert(r.gateway) }
        return gateways.mapValues(\.count)
    }
}

extension SQLiteStore {
    /// The summary columns of `models`, filled from the report by a trigger on insert and backfilled here; indexes
    /// for the Models screen's per-scope reads of metrics and promotions.
    static func migrateModelSummaries(_ db: Database) throws {
        guard try db.tableExists("models") else { return }
        // Only numbers: a report may carry NaN as a string, or lack the figure.
        let value = { (source: String, path: String) in
            "CASE WHEN json_valid(\(source)) AND json_type(\(source), '\(path)') IN ('integer', 'real') "
                + "THEN json_extract(\(source), '\(path)') END"
        }
        let columns = ModelSummary.paths
        var sql = columns.map {
            "ALTER TABLE models ADD COLUMN \($0.column) \($0.column == "holdout_rows" ? "INTEGER" : "REAL");"
        }
        sql.append(
            "UPDATE models SET " + columns.map { "\($0.column) = \(value("report", $0.path))" }.joined(separator: ", ")
                + ";")
        sql.append(
            """
            CREATE TRIGGER models_summary AFTER INSERT ON models BEGIN
                UPDATE models SET \(columns.map { "\($0.column) = \(value("NEW.report", $0.path))" }.joined(separator: ", "))
                WHERE scope = NEW.scope AND version = NEW.version;
            END;
            """)
        if try db.tableExists("metrics") { sql.append("CREATE INDEX metrics_by_scope ON metrics (scope, id);") }
        if try db.tableExists("promotions") {
            sql.append("CREATE INDEX promotions_by_scope ON promotions (scope, id);")
        }
        try db.execute(sql: sql.joined(separator: "\n"))
    }

    public func modelSummaries(scope: String) async throws -> [ModelSummary] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT scope, version, model_id, sha256, size, created, data_from, data_to, holdout_accuracy,
                        holdout_f1, holdout_auc, holdout_rows, ece, false_transitions_per_day
                    FROM models WHERE scope = ? ORDER BY version
                    """, arguments: [scope]
            )
            .map {
                ModelSummary(
                    scope: $0["scope"], version: $0["version"], modelID: $0["model_id"], sha256: $0["sha256"],
                    size: $0["size"], created: $0["created"], dataFrom: $0["data_from"], dataTo: $0["data_to"],
                    accuracy: $0["holdout_accuracy"], f1: $0["holdout_f1"], auc: $0["holdout_auc"],
                    holdoutRows: $0["holdout_rows"], ece: $0["ece"],
                    falseTransitionsPerDay: $0["false_transitions_per_day"])
            }
        }
    }

    /// Only what shadow evidence reads (the deciding model and the shadow section's figures and runs), extracted by
    /// SQLite as plain columns, one row per run: no document is decoded. The newest window is found by the primary
    /// key (not `MAX(window_to)`, which reads every window of the gateway), and windows that started more than a day
    /// before the span are not read (the key's range bounds the scan; monitor windows are hourly).
    public func shadowWindows(gateway: String, span: Double) async throws -> [MonitorDocument] {
        let rows = try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    WITH d AS MATERIALIZED (
                        SELECT window_from, window_to, json_extract(document, '$.decidedBy') AS decided,
                            json_extract(document, '$.shadow') AS s
                        FROM monitor_windows, (
                            SELECT window_to - ?2 AS since FROM monitor_windows WHERE gateway = ?1
                            ORDER BY window_from DESC LIMIT 1)
                        WHERE gateway = ?1 AND window_from > since - 86400 AND window_to > since),
                    w AS MATERIALIZED (
                        SELECT window_from, window_to, decided, s, json_extract(s, '$.model') AS model,
                            json_extract(s, '$.version') AS version, json_extract(s, '$.sha256') AS sha256,
                            json_extract(s, '$.scored') AS scored, json_extract(s, '$.compared') AS compared,
                            json_extract(s, '$.agreement') AS agreement, json_extract(s, '$.transitions') AS transitions,
                            json_extract(s, '$.expectedAccuracy') AS expected, json_extract(s, '$.complete') AS complete
                        FROM d WHERE json_type(s) = 'object')
                    SELECT w.window_from, w.window_to, w.decided, w.model, w.version, w.sha256, w.scored, w.compared,
                        w.agreement, w.transitions, w.expected, w.complete,
                        json_extract(r.value, '$.from') AS run_from, json_extract(r.value, '$.to') AS run_to,
                        json_extract(r.value, '$.n') AS run_n, json_extract(r.value, '$.active') AS run_active,
                        json_extract(r.value, '$.shadow') AS run_shadow
                    FROM w LEFT JOIN json_each(w.s, '$.runs') r
                    ORDER BY w.window_from, r.key
                    """, arguments: [gateway, span])
        }
        var out: [MonitorDocument] = []
        var current: Double?
        for row in rows {
            let from: Double = row["window_from"]
            if from != current {
                current = from
                guard let model: String = row["model"] else { continue }
                out.append(
                    MonitorDocument.shadowEvidence(
                        gateway: gateway, from: from, to: row["window_to"], decidedBy: row["decided"],
                        shadow: ShadowWindow(
                            model: model, version: row["version"] ?? 0, sha256: row["sha256"] ?? "",
                            scored: row["scored"] ?? 0, compared: row["compared"] ?? 0, agreement: row["agreement"],
                            transitions: row["transitions"] ?? 0, meanProbability: nil,
                            expectedAccuracy: row["expected"], bundleAccuracy: nil, stale: 0, runs: [],
                            complete: row["complete"] ?? false)))
            }
            if let runFrom: Double = row["run_from"], let runTo: Double = row["run_to"], let n: Int = row["run_n"],
                out.last?.window.from.seconds == from
            {
                out[out.count - 1].shadow?.runs.append(
                    .init(from: runFrom, to: runTo, n: n, active: row["run_active"], shadow: row["run_shadow"]))
            }
        }
        return out
    }

    public func rolledBackGateways() async throws -> [String: Int] {
        try await pool.read { db in
            Dictionary(
                try Row.fetchAll(db, sql: "SELECT sha256, COUNT(DISTINCT gateway) AS n FROM model_rollbacks GROUP BY 1")
                    .map { ($0["sha256"], $0["n"]) }, uniquingKeysWith: { $1 })
        }
    }
}
