import Foundation

/// A real PostgreSQL server for a test: `initdb` into a temporary folder, `postgres` on a free loopback port with its
/// socket in that folder, one database created, stopped by PID. Started as root, it runs as the `postgres` system
/// user (initdb refuses root), through `setpriv`, which execs: the child's PID is the postmaster's.
public final class PostgresServer: @unchecked Sendable {
    // @unchecked: `process` is set in init and only read afterwards; stop is called from one test task.
    public let port: Int
    public let directory: URL
    public let database: String
    public let user = "postgres"
    private let bin: URL
    private var process: Process?

    public init(database: String = "occupant") async throws {
        bin = try Self.binaries()
        port = try freeLoopbackPort()
        self.database = database
        // The server's socket is in this folder: a socket path may not pass 107 bytes, so under /tmp when the
        // run's own folder is deep (TMPDIR set to a long path).
        if TestFiles.root.path.utf8.count <= 40 {
            directory = try temporaryDirectory("occupant-postgres")
        } else {
            directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("occupant-postgres-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        if getuid() == 0 {
            guard let account = getpwnam("postgres") else {
                throw HarnessError(
                    "running as root and no 'postgres' user to run PostgreSQL as (tools/test installs it)")
            }
            chown(directory.path, account.pointee.pw_uid, account.pointee.pw_gid)
        }
        let data = directory.appendingPathComponent("data").path
        let initdb = try await Self.run(
            bin.appendingPathComponent("initdb"),
            ["-D", data, "-U", user, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
        guard initdb.status == 0 else { throw HarnessError("initdb failed (\(initdb.status)): \(initdb.output)") }
        try await start()
        let created = try await Self.run(
            bin.appendingPathComponent("createdb"), ["-h", directory.path, "-p", "\(port)", "-U", user, database])
        guard created.status == 0 else {
            stop()
            throw HarnessError("createdb failed (\(created.status)): \(created.output)")
        }
    }

    deinit { stop() }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    public var url: String { "postgres://\(user)@127.0.0.1:\(port)/\(database)" }
    /// The folder that holds the server's socket (`.s.PGSQL.<port>`).
    public var socketDirectory: String { directory.path }
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("postgres.log"), encoding: .utf8)) ?? ""
    }

    /// The folder of `initdb`, `postgres`, `pg_isready`: `pg_config --bindir`, else the newest
    /// `/usr/lib/postgresql/*/bin`.
    static func binaries() throws -> URL {
        var candidates: [String] = []
        if let pgConfig = try? locateExecutable("pg_config") {
            let p = Process()
            p.executableURL = pgConfig
            p.arguments = ["--bindir"]
            let pipe = Pipe()
            p.standardOutput = pipe
            p.standardError = FileHandle.nullDevice
            if (try? p.run()) != nil {
                let out = pipe.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                candidates.append(String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        let versions =
            (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?
            .compactMap(Int.init).sorted(by: >) ?? []
        candidates += versions.map { "/usr/lib/postgresql/\($0)/bin" }
        for dir in candidates where FileManager.default.isExecutableFile(atPath: dir + "/postgres") {
            return URL(fileURLWithPath: dir)
        }
        throw HarnessError("PostgreSQL's server binaries not found (apt-get install postgresql; tools/test does)")
    }

    /// Runs one of the binaries to completion (as `postgres` when we are root); its output for errors.
    static func run(_ executable: URL, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let p = process(executable, arguments)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            waitForExit(p)
        }
        try? handle.close()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return (p.terminationStatus, text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func process(_ executable: URL, _ arguments: [String]) -> Process {
        let p = Process()
        if getuid() == 0 {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=postgres", "--regid=postgres", "--init-groups", executable.path] + arguments
        } else {
            p.executableURL = executable
            p.arguments = arguments
        }
        p.standardInput = FileHandle.nullDevice
        // The server's locale and timezone stay its own; a test's TZ/LANG do not leak in.
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C.UTF-8"
        env["PGTZ"] = nil
        p.environment = env
        p.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
        return p
    }

    /// Starts the server and waits until it accepts connections (`pg_isready`).
    public func start() async throws {
        guard process == nil else { return }
        let data = directory.appendingPathComponent("data").path
        let p = Self.process(
            bin.appendingPathComponent("postgres"),
            [
                "-D", data, "-p", "\(port)", "-h", "127.0.0.1", "-k", directory.path,
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=200", "-c", "shared_buffers=32MB",
            ])
        let logURL = directory.appendingPathComponent("postgres.log")
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: logURL)
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = handle
        defer { try? handle.close() } // the child has its own copy (see ChildProcess)
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if !p.isRunning {
                process = nil
                throw HarnessError("postgres exited at start (status \(p.terminationStatus)):\n\(log)")
            }
            let ready = try await Self.run(
                bin.appendingPathComponent("pg_isready"), ["-h", directory.path, "-p", "\(port)", "-U", user])
            if ready.status == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        stop()
        throw HarnessError("postgres did not accept connections on port \(port) within 60 s:\n\(log)")
    }

    /// Stops the server by its PID: SIGINT (fast shutdown: disconnects clients, then exits), SIGQUIT if it is still
    /// running after 10 s; waits for the exit.
    public func stop() {
        guard let p = process else { return }
        process = nil
        kill(p.processIdentifier, SIGINT)
        waitForExit(p)
        if p.isRunning {
            kill(p.processIdentifier, SIGQUIT)
            waitForExit(p)
        }
    }

    /// Runs `sql` through `psql` against `database` (default: the server's first); its output, or an error.
    @discardableResult
    public func psql(_ sql: String, database: String? = nil) async throws -> String {
        let result = try await Self.run(
            bin.appendingPathComponent("psql"),
            [
                "-h", directory.path, "-p", "\(port)", "-U", user, "-d", database ?? self.database, "-X", "-q", "-A",
                "-t",
                "-v", "ON_ERROR_STOP=1", "-c", sql,
            ])
        guard result.status == 0 else { throw HarnessError("psql failed (\(result.status)): \(result.output)") }
        return result.output
    }

    /// A fresh database on this server (one per test suite run, so suites do not see each other's rows).
    public func createDatabase(_ name: String) async throws {
        let created = try await Self.run(
            bin.appendingPathComponent("createdb"), ["-h", directory.path, "-p", "\(port)", "-U", user, name])
        guard created.status == 0 else { throw HarnessError("createdb \(name) failed: \(created.output)") }
    }

    /// Removes the data folder (after `stop`).
    public func removeFiles() {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

extension PostgresServer {
    /// One server for the whole test process, started on first use and stopped (by PID) when the process exits; each
    /// caller gets a database of its own on it.
    public static func sharedDatabase() async throws -> (server: PostgresServer, database: String) {
        let server = try await SharedPostgres.instance.server()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await server.createDatabase(name)
        return (server, name)
    }
}

private actor SharedPostgres {
    static let instance = SharedPostgres()
    /// The one start (callers that come while it runs wait for it: an actor is reentrant across the await).
    private var starting: Task<PostgresServer, any Error>?

    func server() async throws -> PostgresServer {
        if starting == nil {
            starting = Task {
                let server = try await PostgresServer()
                sharedPostgresForExit = server
                atexit { sharedPostgresForExit?.removeFiles() }
                return server
            }
        }
        return try await starting!.value
    }
}

/// Read only by the `atexit` handler (a C function pointer cannot capture).
nonisolated(unsafe) private var sharedPostgresForExit: PostgresServer?
