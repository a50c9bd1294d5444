import Foundation
import Logging
import NIOSSL
import OccupantCore
import PostgresNIO

extension ServerConfig {
    /// The store `storage` names: SQLite in `stateDirectory` (the default), or PostgreSQL. A PostgreSQL store is
    /// connected and migrated in the background: `ServerRuntime.ready()` waits for it.
    func openStore(clock: any WallClock, logger: Logger) throws -> any ServerStore {
        switch storage {
        case .sqlite:
            return try SQLiteStore(path: stateDirectory + "/server.sqlite", clock: clock)
        case .postgres(let pg):
            return try PostgresStore(
                pg, clock: clock, logger: logger, artifacts: try ArtifactStore(root: stateDirectory + "/artifacts"))
        }
    }
}

extension ServerConfig.Postgres {
    /// postgres-nio's configuration: the password read from `passwordFile` (which must not be open to others).
    public func clientConfiguration() throws -> PostgresClient.Configuration {
        var password: String?
        if let passwordFile {
            try SecretFile.refuseIfOpenToOthers(passwordFile, key: "storage.postgres.passwordFile")
            do {
                let text = try String(contentsOfFile: passwordFile, encoding: .utf8)
                password = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            } catch {
                throw OccupantError(.configuration, "storage.postgres.passwordFile: cannot read \(passwordFile)")
            }
        }
        var configuration: PostgresClient.Configuration
        if let socketDirectory {
            configuration = .init(
                unixSocketPath: socketDirectory + "/.s.PGSQL.\(port)", username: user, password: password,
                database: database)
        } else {
            let mode: PostgresClient.Configuration.TLS
            switch tls {
            case .disable:
                mode = .disable
            case .prefer, .require:
                var t = TLSConfiguration.makeClientConfiguration()
                if let caFile {
                    do {
                        t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
                    } catch {
                        throw OccupantError(.configuration, "storage.postgres.caFile: cannot read \(caFile): \(error)")
                    }
                }
                mode = tls == .require ? .require(t) : .prefer(t)
            }
            configuration = .init(
                host: host, port: port, username: user, password: password, database: database, tls: mode)
        }
        configuration.options.maximumConnections = pool
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    /// The same settings for one connection (the start-up probe).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let client = try clientConfiguration()
        if let socketDirectory {
            return .init(
                unixSocketPath: socketDirectory + "/.s.PGSQL.\(port)", username: user, password: client.password,
                database: database)
        }
        let mode: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable:
            mode = .disable
        case .prefer, .require:
            var t = TLSConfiguration.makeClientConfiguration()
            if let caFile { t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
            let context = try NIOSSLContext(configuration: t)
            mode = tls == .require ? .require(context) : .prefer(context)
        }
        var c = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: client.password, database: database, tls: mode)
        c.options.connectTimeout = .seconds(10)
        return c
    }
}

extension PostgresStore {
    /// A store for `storage.postgres` settings.
    public convenience init(
        _ settings: ServerConfig.Postgres, clock: any WallClock = SystemClock(),
        logger: Logger = Logger(label: "occupant.postgres"), artifacts: ArtifactStore? = nil
    ) throws {
        let probe = try settings.connectionConfiguration()
        self.init(
            configuration: try settings.clientConfiguration(), clock: clock, logger: logger, artifacts: artifacts,
            probe: {
                let connection = try await PostgresConnection.connect(
                    on: PostgresClient.defaultEventLoopGroup.any(), configuration: probe, id: 0, logger: logger
                ).get()
                try await connection.close()
            })
    }
}

extension ServerRuntime {
    /// Waits until the store can serve: a PostgreSQL store reachable and migrated (a one-line error otherwise).
    public func ready() async throws {
        if let pg = store as? PostgresStore { try await pg.ready() }
    }
}
