import Foundation
import OccupantCore

extension ServerConfig {
    /// Where the server keeps its data: the embedded SQLite file (the default) or a shared PostgreSQL database
    /// (`storage: { postgres: … }`), which several server processes can use together.
    public enum Storage: Sendable, Equatable {
        case sqlite
        case postgres(Postgres)
    }

    /// `storage.postgres`: a `url` (`postgres://user@host:port/database`), or `host`/`port`/`database`/`user`; the
    /// password from `passwordFile` (never in the configuration), `tls` and the connection `pool` size.
    public struct Postgres: Sendable, Equatable {
        public enum TLSMode: String, Sendable, CaseIterable {
            /// Plain TCP (loopback or a private network only).
            case disable
            /// TLS when the server offers it.
            case prefer
            /// TLS or no connection; the server's certificate is verified (against `caFile`, else the system's).
            case require
        }
        public var host = "127.0.0.1"
        public var port = 5432
        public var database = "occupant"
        public var user = "occupant"
        /// A file holding the password (one line); nil: no password (trust, peer or certificate authentication).
        public var passwordFile: String?
        /// A Unix socket folder instead of TCP (`host` starting with `/`, as libpq does).
        public var socketDirectory: String? { host.hasPrefix("/") ? host : nil }
        public var tls = TLSMode.prefer
        /// CA certificate(s) to verify the server with (`tls: require`).
        public var caFile: String?
        /// Connections this process keeps open at most.
        public var pool = 10
        /// Raw telemetry older than this is removed (seconds), except labelled rows and the data windows of the
        /// models in use; nil: kept for ever.
        public var retention: Double?
        /// How long a process's claim on a job (a retraining) lasts without renewal: a process that stops holding it
        /// this long loses the job to another.
        public var jobLease: Double = 30

        public init() {}
    }

    static let storageKeys = ["sqlite", "postgres"]
    static let postgresKeys = [
        "url", "host", "port", "database", "user", "passwordFile", "tls", "caFile", "pool", "retention",
        "jobLease",
    ]

    mutating func apply(storage s: FieldMap) {
        if s.optional("sqlite") != nil, s.optional("postgres") != nil {
            s.optional("postgres")?.report("give either sqlite or postgres, not both")
            return
        }
        if let field = s.optional("sqlite") {
            // `sqlite: {}`: the default, said explicitly.
            _ = field.mapping(allowed: [])
            storage = .sqlite
        }
        guard let field = s.optional("postgres"), let p = field.mapping(allowed: Self.postgresKeys) else { return }
        var pg = Postgres()
        if let u = p.optional("url") {
            if p.optional("host") != nil || p.optional("port") != nil || p.optional("database") != nil
                || p.optional("user") != nil
            {
                u.report("give either url or host/port/database/user, not both")
            } else if let text = u.string() {
                switch Self.parsePostgresURL(text) {
                case .success(let parsed): pg = parsed
                case .failure(let error): u.report(error.message)
                }
            }
        }
        if let v = p.optional("host")?.string() {
            if v.isEmpty { p.optional("host")?.report("must not be empty") } else { pg.host = v }
        }
        if let v = p.optional("port")?.int(in: 1...65535) { pg.port = v }
        if let v = p.optional("database")?.string() {
            if v.isEmpty { p.optional("database")?.report("must not be empty") } else { pg.database = v }
        }
        if let v = p.optional("user")?.string() {
            if v.isEmpty { p.optional("user")?.report("must not be empty") } else { pg.user = v }
        }
        if let v = p.optional("passwordFile")?.string() { pg.passwordFile = v }
        if let v = p.optional("tls")?.choice(Postgres.TLSMode.allCases.map(\.rawValue)) {
            pg.tls = Postgres.TLSMode(rawValue: v)!
        }
        if let v = p.optional("caFile")?.string() {
            pg.caFile = v
            if p.optional("tls") == nil { pg.tls = .require }
        }
        if let v = p.optional("pool")?.int(in: 1...1000) { pg.pool = v }
        if let field = p.optional("retention"), let v = field.duration() {
            if v < 86_400 { field.report("must be at least 1d") } else { pg.retention = v }
        }
        if let field = p.optional("jobLease"), let v = field.duration() {
            if v < 1 { field.report("must be at least 1s") } else { pg.jobLease = v }
        }
        storage = .postgres(pg)
    }

    /// `postgres://user@host:port/database[?sslmode=disable|prefer|require]` (also `postgresql://`). A password in
    /// the URL is refused: it belongs in `passwordFile`, outside the configuration.
    static func parsePostgresURL(_ text: String) -> Result<Postgres, URLError> {
        guard let c = URLComponents(string: text), c.scheme == "postgres" || c.scheme == "postgresql" else {
            return .failure(URLError("must be postgres://user@host:port/database, not '\(text)'"))
        }
        if c.password != nil {
            return .failure(URLError("must not hold a password: put it in passwordFile"))
        }
        var pg = Postgres()
        if let host = c.host, !host.isEmpty { pg.host = host }
        if let port = c.port {
            guard (1...65535).contains(port) else { return .failure(URLError("port \(port) is out of range")) }
            pg.port = port
        }
        let database = String(c.path.drop(while: { $0 == "/" }))
        if !database.isEmpty { pg.database = database }
        if let user = c.user, !user.isEmpty { pg.user = user }
        for item in c.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let v = item.value, let mode = Postgres.TLSMode(rawValue: v) else {
                    return .failure(URLError("sslmode must be disable, prefer or require"))
                }
                pg.tls = mode
            case "host":
                // libpq's way of naming a socket folder: postgres:///db?host=/run/postgresql
                if let v = item.value, !v.isEmpty { pg.host = v }
            default:
                return .failure(URLError("unknown parameter '\(item.name)' (known: sslmode, host)"))
            }
        }
        return .success(pg)
    }

    struct URLError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }
}

extension ServerConfig.Storage {
    /// The PostgreSQL settings, when the store is PostgreSQL.
    public var postgres: ServerConfig.Postgres? {
        if case .postgres(let pg) = self { return pg }
        return nil
    }
}
