import Evaluator
import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// `storage:` in the server configuration, and `occupant server run` on PostgreSQL.
@Suite struct StorageConfigTests {
    @Test func sqliteIsTheDefaultAndPostgresIsReadFromAURLOrFields() throws {
        #expect(try ServerConfig.parse(yaml: "{}").storage == .sqlite)
        #expect(try ServerConfig.parse(yaml: "storage: { sqlite: {} }").storage == .sqlite)
        let url = try ServerConfig.parse(
            yaml: "storage: { postgres: { url: 'postgres://trainer@db.lan:5433/fleet?sslmode=require', pool: 4 } }")
        guard case .postgres(let a) = url.storage else {
            Issue.record("not postgres")
            return
        }
        #expect(a.host == "db.lan" && a.port == 5433 && a.user == "trainer" && a.database == "fleet")
        #expect(a.tls == .require && a.pool == 4 && a.passwordFile == nil)
        let fields = try ServerConfig.parse(
            yaml: """
                storage:
                  postgres: { host: /run/postgresql, database: occ, user: occ, passwordFile: /etc/occupant/pg.pass, tls: disable }
                """)
        guard case .postgres(let b) = fields.storage else {
            Issue.record("not postgres")
            return
        }
        #expect(b.socketDirectory == "/run/postgresql" && b.port == 5432 && b.passwordFile == "/etc/occupant/pg.pass")
        #expect(b.tls == .disable && b.pool == 10 && b.retention == nil)
        let kept = try ServerConfig.parse(yaml: "storage: { postgres: { retention: 400d } }")
        #expect(kept.storage.postgres?.retention == Double(400 * 86_400))
        #expect(b.jobLease == 30)
        let leased = try ServerConfig.parse(yaml: "storage: { postgres: { jobLease: 2m } }")
        #expect(leased.storage.postgres?.jobLease == 120)
    }

    @Test(arguments: [
        ("storage: { postgres: { url: 'mysql://x@y/z' } }", "storage.postgres.url", "must be postgres://"),
        ("storage: { postgres: { url: 'postgres://u:secret@h/d' } }", "storage.postgres.url", "passwordFile"),
        ("storage: { postgres: { url: 'postgres://u@h/d', host: h } }", "storage.postgres.url", "not both"),
        ("storage: { postgres: { url: 'postgres://u@h/d?ssl=1' } }", "storage.postgres.url", "unknown parameter 'ssl'"),
        ("storage: { postgres: { port: 0 } }", "storage.postgres.port", "out of range"),
        ("storage: { postgres: { tls: maybe } }", "storage.postgres.tls", "not one of disable, prefer, require"),
        ("storage: { postgres: { pool: 0 } }", "storage.postgres.pool", "out of range"),
        ("storage: { postgres: { retention: 1h } }", "storage.postgres.retention", "at least 1d"),
        ("storage: { postgres: { jobLease: 0s } }", "storage.postgres.jobLease", "at least 1s"),
        ("storage: { postgres: { passwrd: x } }", "storage.postgres", "passwrd"),
        ("storage: { mysql: {} }", "storage", "mysql"),
        ("storage: { sqlite: {}, postgres: {} }", "storage.postgres", "not both"),
    ])
    func aBadStorageSettingIsOneLineNamingTheKey(_ yaml: String, _ key: String, _ reason: String) {
        do {
            _ = try ServerConfig.parse(yaml: yaml, source: "server.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            let lines = error.description.split(separator: "\n")
            #expect(lines.count == 1, "\(error.description)")
            #expect(error.description.contains("server.yaml:1: \(key)"), "\(error.description)")
            #expect(error.description.contains(reason), "\(error.description)")
        }
    }

    @Test func aPasswordFileOpenToOthersIsRefused() throws {
        let dir = try temporaryDirectory("pg-password")
        let file = dir.appendingPathComponent("pg.pass").path
        try "secret\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        var settings = ServerConfig.Postgres()
        settings.passwordFile = file
        #expect(throws: OccupantError.self) { _ = try settings.clientConfiguration() }
        chmod(file, 0o600)
        #expect(try settings.clientConfiguration().password == "secret")
    }
}

/// `occupant server run` with `storage.postgres`: the whole loop over HTTP, a kill and a restart, and a second process
/// on the same database.
@Suite(.serialized) struct PostgresServerProcessTests {
    @Test func intakeRetrainDeliveryAndRestartOnPostgres() async throws {
        let (pg, database) = try await PostgresServer.sharedDatabase()
        let storage =
            "storage: { postgres: { url: 'postgres://postgres@127.0.0.1:\(pg.port)/\(database)', tls: disable } }"
        let h = try await ServerHarness(name: "server-pg", extra: storage)
        try await h.start()
        let (rows, labels) = simulatedDays(0..<3, gateway: "gw-a")
        let body = ndjson(rows)
        let (s1, first) = try await h.json(
            "POST", "/v1/gateways/gw-a/telemetry", token: "token-a", body: body, headers: [("Batch-ID", "b-1")])
        #expect(s1 == 200 && first["accepted"] as? Int == rows.count)
        let (_, again) = try await h.json(
            "POST", "/v1/gateways/gw-a/telemetry", token: "token-a", body: body, headers: [("Batch-ID", "b-1")])
        #expect(again["duplicate"] as? Bool == true && again["accepted"] as? Int == 0)
        #expect(try await h.json("POST", "/v1/labels", token: "token-a", body: labelsJSON(labels)).0 == 200)
        let (rs, outcome) = try await h.json("POST", "/v1/scopes/office/retrain")
        #expect(rs == 200 && outcome["promoted"] as? Bool == true, "\(outcome)")
        let sha = try #require(outcome["sha256"] as? String)
        let full = try await h.request("GET", "/v1/gateways/gw-a/model", token: "token-a")
        #expect(full.status == 200 && sha256Hex(full.body) == sha)
        #expect(header(full.headers, "X-Occupant-Model") == "occupancy-office@1")
        // Nothing of it is in the state folder's SQLite file: the data is in PostgreSQL.
        #expect(!FileManager.default.fileExists(atPath: h.dir.appendingPathComponent("state/server.sqlite").path))
        #expect(try await pg.psql("SELECT count(*) FROM models", database: database) == "1")

        // Killed outright and started again: everything acknowledged is still there.
        let acknowledged = try await h.stats()
        #expect(acknowledged["telemetryRows"] == rows.count)
        h.process?.signal(SIGKILL)
        _ = try await h.process?.wait(timeout: 10)
        try await h.start()
        #expect(try await h.stats() == acknowledged)
        let same = try await h.request(
            "GET", "/v1/gateways/gw-a/model", token: "token-a", headers: [("If-None-Match", "\"\(sha)\"")])
        #expect(same.status == 304)

        // A second process on the same database, with a state folder of its own, sees the same fleet and serves
        // the same bundle (from PostgreSQL) with the same ETag, 304 and Range answers.
        let second = try await ServerHarness(name: "server-pg-2", extra: storage)
        try await second.start()
        #expect(try await second.stats() == acknowledged)
        let (_, registry) = try await second.json("GET", "/v1/models?scope=office")
        #expect((registry["models"] as? [[String: Any]])?.count == 1)
        let etag = try await second.request(
            "GET", "/v1/gateways/gw-b/model", token: "token-b", headers: [("If-None-Match", "\"\(sha)\"")])
        #expect(etag.status == 304 && header(etag.headers, "ETag") == "\"\(sha)\"")
        let fromSecond = try await second.request("GET", "/v1/gateways/gw-b/model", token: "token-b")
        #expect(fromSecond.status == 200 && fromSecond.body == full.body)
        #expect(header(fromSecond.headers, "ETag") == header(full.headers, "ETag"))
        let half = full.body.count / 2
        let rest = try await second.request(
            "GET", "/v1/gateways/gw-b/model", token: "token-b",
            headers: [("Range", "bytes=\(half)-"), ("If-Range", "\"\(sha)\"")])
        #expect(rest.status == 206 && Array(full.body.prefix(half)) + rest.body == full.body)
    }

    @Test func anUnreachableDatabaseStopsTheServerWithOneLine() async throws {
        let dir = try temporaryDirectory("server-pg-down")
        let path = dir.appendingPathComponent("server.yaml").path
        try """
        stateDirectory: \(dir.path)/state
        http: { port: 0 }
        broker: { enabled: false }
        storage: { postgres: { host: 127.0.0.1, port: \(try freeLoopbackPort()), tls: disable } }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await ChildProcess.run(["server", "run", "--config", path], timeout: 60)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n").filter { !$0.contains(" info ") && !$0.contains(" notice ") }
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("PostgreSQL store: cannot connect"), "\(result.stderr)")
    }
}
