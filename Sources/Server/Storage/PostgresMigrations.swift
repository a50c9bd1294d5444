import Logging
import OccupantCore
import PostgresNIO

/// The PostgreSQL schema, versioned in `occupant_schema`: each migration is applied once, in its own transaction,
/// while the applying process holds a session advisory lock, so processes that start together wait for each other
/// instead of racing. New migrations go at the end of `all`, numbered on.
enum PostgresMigrations {
    struct Migration {
        let version: Int
        let name: String
        let statements: [String]
    }

    /// The advisory lock key (`'occupant'` as bytes).
    static let lockKey = 0x6F63_6375_7061_6E74

    /// Identifiers of gateways and scopes compare byte-wise (`COLLATE "C"`), as in SQLite, whatever the database's
    /// locale: pages sort the same on both stores.
    static let all: [Migration] = [
        Migration(
            version: 1, name: "telemetry, labels, registry, delivery, alerts, monitor windows, fleet",
            statements: [
                """
                CREATE TABLE channels (
                    gateway text COLLATE "C" NOT NULL, channel text NOT NULL,
                    id integer GENERATED ALWAYS AS IDENTITY UNIQUE, kind text, PRIMARY KEY (gateway, channel))
                """,
                // Readings: TelemetryCodec bytes. The key is also the index of "this gateway's rows since X" and
                // "this gateway's window".
                """
                CREATE TABLE telemetry (
                    gateway text COLLATE "C" NOT NULL, at double precision NOT NULL, readings bytea NOT NULL,
                    PRIMARY KEY (gateway, at))
                """,
                """
                CREATE TABLE batches (
                    gateway text COLLATE "C" NOT NULL, batch text NOT NULL, rows bigint NOT NULL,
                    received double precision NOT NULL, PRIMARY KEY (gateway, batch))
                """,
                """
                CREATE TABLE labels (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, gateway text COLLATE "C" NOT NULL,
                    start double precision NOT NULL, "end" double precision NOT NULL, occupied boolean NOT NULL,
                    source text NOT NULL)
                """,
                #"CREATE INDEX labels_spans ON labels (gateway, start, "end")"#,
                """
                CREATE TABLE models (
                    scope text COLLATE "C" NOT NULL, version bigint NOT NULL, model_id text NOT NULL,
                    sha256 text NOT NULL, size bigint NOT NULL, created double precision NOT NULL,
                    data_from double precision NOT NULL, data_to double precision NOT NULL,
                    labelled_rows_seen bigint NOT NULL, report text NOT NULL, PRIMARY KEY (scope, version))
                """,
                """
                CREATE TABLE aliases (
                    scope text COLLATE "C" NOT NULL, alias text NOT NULL, version bigint NOT NULL,
                    PRIMARY KEY (scope, alias))
                """,
                """
                CREATE TABLE promotions (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, scope text COLLATE "C" NOT NULL,
                    at double precision NOT NULL, challenger bigint NOT NULL, champion bigint,
                    promoted boolean NOT NULL, reason text NOT NULL)
                """,
                "CREATE INDEX promotions_scope ON promotions (scope, id)",
                """
                CREATE TABLE metrics (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, scope text COLLATE "C" NOT NULL,
                    version bigint NOT NULL, at double precision NOT NULL, kind text NOT NULL, metric text NOT NULL,
                    value double precision NOT NULL, rows bigint NOT NULL)
                """,
                "CREATE INDEX metrics_scope ON metrics (scope, id)",
                """
                CREATE TABLE rollouts (
                    scope text COLLATE "C" PRIMARY KEY, version bigint NOT NULL, previous bigint,
                    waves bigint NOT NULL, reached bigint NOT NULL, state text NOT NULL, reason text,
                    started double precision NOT NULL, reached_at double precision NOT NULL)
                """,
                """
                CREATE TABLE rollout_members (
                    scope text COLLATE "C" NOT NULL, gateway text COLLATE "C" NOT NULL, wave bigint NOT NULL,
                    since double precision, passed_at double precision, rolled_back_at double precision, reason text,
                    PRIMARY KEY (scope, gateway))
                """,
                """
                CREATE TABLE gateway_status (
                    gateway text COLLATE "C" PRIMARY KEY, active text COLLATE "C", sha256 text, refused text,
                    at double precision NOT NULL)
                """,
                """
                CREATE TABLE gateway_seen (gateway text COLLATE "C" PRIMARY KEY, at double precision NOT NULL)
                """,
                """
                CREATE TABLE alerts (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, scope text COLLATE "C" NOT NULL,
                    raised_at double precision NOT NULL, message text NOT NULL, kind text NOT NULL,
                    subject text NOT NULL, gateway text COLLATE "C", numbers text NOT NULL,
                    cleared_at double precision, acknowledged_at double precision, acknowledged_by text)
                """,
                // At most one open alert per (kind, subject), across processes: raising one is an upsert on this.
                "CREATE UNIQUE INDEX alerts_open ON alerts (kind, subject) WHERE cleared_at IS NULL",
                "CREATE INDEX alerts_open_gateway ON alerts (gateway) WHERE cleared_at IS NULL",
                "CREATE INDEX alerts_cleared ON alerts (cleared_at DESC, id DESC) WHERE cleared_at IS NOT NULL",
                """
                CREATE TABLE monitor_windows (
                    gateway text COLLATE "C" NOT NULL, window_from double precision NOT NULL,
                    window_to double precision NOT NULL, received double precision NOT NULL, document text NOT NULL,
                    expected_accuracy double precision, PRIMARY KEY (gateway, window_from))
                """,
                """
                CREATE TABLE monitor_realised (
                    gateway text COLLATE "C" NOT NULL, window_from double precision NOT NULL, document text NOT NULL,
                    PRIMARY KEY (gateway, window_from))
                """,
                """
                CREATE TABLE model_rollbacks (
                    gateway text COLLATE "C" NOT NULL, sha256 text NOT NULL, at double precision NOT NULL,
                    version bigint, guard text NOT NULL, reason text NOT NULL, received double precision NOT NULL,
                    PRIMARY KEY (gateway, sha256, at))
                """,
                #"CREATE TABLE fleet (id text COLLATE "C" PRIMARY KEY, scope text COLLATE "C" NOT NULL)"#,
                "CREATE INDEX fleet_scope ON fleet (scope, id)",
                "CREATE TABLE fleet_signature (signature text NOT NULL)",
            ]),
        PostgresStore.artifactsMigration,
        Migration(
            version: 3, name: "gateways' status figures (dashboard)",
            statements: ["ALTER TABLE gateway_status ADD COLUMN figures text"]),
        PostgresJobQueue.migration,
        PostgresEventLedger.migration,
        PostgresStore.screensMigration,
        PostgresOutbox.migration,
    ]

    /// Applies the migrations this database lacks, holding the advisory lock on one connection meanwhile.
    static func apply(_ client: PostgresClient, logger: Logger) async throws {
        do {
            try await client.withConnection { c in
                try await c.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
                do {
                    try await migrate(c, logger: logger)
                } catch {
                    _ = try? await c.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                    throw error
                }
                try await c.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
            }
        } catch let error as OccupantError {
            throw error
        } catch {
            throw OccupantError(.io, "PostgreSQL store: \(PostgresStore.describe(error))")
        }
    }

    private static func migrate(_ c: PostgresConnection, logger: Logger) async throws {
        try await c.query(
            """
            CREATE TABLE IF NOT EXISTS occupant_schema (
                version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """, logger: logger)
        var applied = Set<Int>()
        for try await version in try await c.query("SELECT version FROM occupant_schema", logger: logger).decode(
            Int.self)
        {
            applied.insert(version)
        }
        let known = all.map(\.version).max() ?? 0
        if let newest = applied.max(), newest > known {
            throw OccupantError(
                .configuration,
                "the PostgreSQL database has schema version \(newest), newer than this server knows (\(known)): run the newer occupant, or another database"
            )
        }
        for m in all where !applied.contains(m.version) {
            try await c.query("BEGIN", logger: logger)
            do {
                for statement in m.statements { try await c.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await c.query(
                    "INSERT INTO occupant_schema (version, name) VALUES (\(m.version), \(m.name))", logger: logger)
                try await c.query("COMMIT", logger: logger)
            } catch {
                _ = try? await c.query("ROLLBACK", logger: logger)
                throw error
            }
            logger.info("PostgreSQL schema: applied v\(m.version) (\(m.name))")
        }
    }
}
