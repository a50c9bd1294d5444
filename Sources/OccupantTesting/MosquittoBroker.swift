import Foundation

/// A real `mosquitto` broker on a free loopback port, started for a test and stopped by PID.
public final class MosquittoBroker: @unchecked Sendable {
    // @unchecked: `process` is set in init and only read afterwards; start/stop are called from one test task.
    public let port: Int
    public let directory: URL
    private var process: Process?

    /// Starts a broker on a free port (or `port`, to restart on the same one) and waits until it accepts connections.
    /// TLS files for a broker that only speaks MQTT over TLS.
    public struct TLS: Sendable {
        public var caFile: String
        public var certFile: String
        public var keyFile: String
        public init(caFile: String, certFile: String, keyFile: String) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
        }
    }

    public let tls: TLS?

    /// A secured broker: no anonymous clients, accounts from `passwordFile`, topics from `aclFile` (the files
    /// `occupant server broker-config` writes).
    public struct Access: Sendable {
        public var passwordFile: String
        public var aclFile: String
        public init(passwordFile: String, aclFile: String) {
            self.passwordFile = passwordFile
            self.aclFile = aclFile
        }
    }

    public let access: Access?
    /// `max_queued_messages` (per client; mosquitto's default is 1,000): a burst to a slow subscriber beyond it is
    /// dropped by the broker.
    public let maxQueuedMessages: Int?

    /// - Parameter persistence: keep sessions and queued messages in `directory/db` across `stop()` / `start()`
    ///   (saved every second: wait for `saves` to grow twice before a `stop()` that must keep them).
    public init(
        port: Int? = nil, tls: TLS? = nil, access: Access? = nil, maxQueuedMessages: Int? = nil,
        persistence: Bool = false
    ) async throws {
        self.port = try port ?? freeLoopbackPort()
        self.tls = tls
        self.access = access
        self.maxQueuedMessages = maxQueuedMessages
        self.persistence = persistence
        directory = try temporaryDirectory("occupant-mosquitto")
        try await start()
    }

    private let persistence: Bool

    /// The broker's log so far (what it refused and why).
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("mosquitto.log"), encoding: .utf8)) ?? ""
    }

    deinit { stop() }

    public var endpoint: String { "127.0.0.1:\(port)" }

    public func start() async throws {
        guard process == nil else { return }
        let config = directory.appendingPathComponent("mosquitto.conf")
        var lines = [
            "listener \(port) 127.0.0.1",
            "log_dest stderr",
            "log_type error", "log_type warning", "log_type notice", "log_type information", "log_type subscribe",
        ]
        if let access {
            // Started as root, mosquitto reads the files as the `mosquitto` user: give them to its group, as an
            // operator does (they are 0640, never world-readable).
            if getuid() == 0, let account = getpwnam("mosquitto") {
                for file in [access.passwordFile, access.aclFile] { chown(file, UInt32.max, account.pointee.pw_gid) }
            }
            // debug: the broker logs each publish the ACL denies ("Denied PUBLISH from <client id> …").
            lines += [
                "allow_anonymous false", "password_file \(access.passwordFile)", "acl_file \(access.aclFile)",
                "log_type debug",
            ]
        } else {
            lines.append("allow_anonymous true")
        }
        if persistence {
            let db = directory.appendingPathComponent("db")
            try FileManager.default.createDirectory(at: db, withIntermediateDirectories: true)
            // Started as root, mosquitto writes as the `mosquitto` user.
            if getuid() == 0, let account = getpwnam("mosquitto") {
                chown(db.path, account.pointee.pw_uid, account.pointee.pw_gid)
            }
            lines += ["persistence true", "persistence_location \(db.path)/", "autosave_interval 1"]
        } else {
            lines.append("persistence false")
        }
        if let maxQueuedMessages { lines.append("max_queued_messages \(maxQueuedMessages)") }
        if let tls { lines += ["cafile \(tls.caFile)", "certfile \(tls.certFile)", "keyfile \(tls.keyFile)"] }
        try (lines.joined(separator: "\n") + "\n").write(to: config, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = try locateExecutable("mosquitto", extra: ["/usr/sbin/mosquitto"])
        p.arguments = ["-c", config.path]
        p.standardOutput = FileHandle.nullDevice
        let log = directory.appendingPathComponent("mosquitto.log")
        if !FileManager.default.fileExists(atPath: log.path) {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        p.standardError = handle
        defer { try? handle.close() } // the child has its own copy (see ChildProcess)
        try p.run()
        process = p
        // Checked once more after the deadline, so a late wake-up is not mistaken for a broker that did not start.
        let deadline = Date().addingTimeInterval(30)
        while true {
            if canConnect(port: port) { return }
            if !p.isRunning {
                throw HarnessError(
                    "mosquitto exited at start (status \(p.terminationStatus)); see \(directory.path)/mosquitto.log")
            }
            if Date() >= deadline { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("mosquitto did not accept connections on port \(port) within 30 s")
    }

    /// Stops the broker (SIGKILL to its PID: a process that traps SIGTERM, as a ServiceGroup in the test process
    /// does, leaves it ignored in the children it spawns) and waits for it to exit.
    public func stop() {
        guard let p = process else { return }
        process = nil
        kill(p.processIdentifier, SIGKILL)
        waitForExit(p)
    }

    /// With `persistence`: how many times the broker has saved its database so far (every second).
    public var saves: Int { log.components(separatedBy: "Saving in-memory database").count - 1 }
}

/// An error in the test harness itself.
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Asks the kernel for a free TCP port on 127.0.0.1.
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard bound else { throw HarnessError("bind() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
public func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

/// Finds an executable on PATH (or at one of `extra`).
public func locateExecutable(_ name: String, extra: [String] = []) throws -> URL {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
        let candidate = dir + "/" + name
        if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
    }
    for candidate in extra where FileManager.default.isExecutableFile(atPath: candidate) {
        return URL(fileURLWithPath: candidate)
    }
    throw HarnessError("\(name) not found on PATH (tools/test installs it)")
}

/// Runs a tool found on PATH to completion: its exit status and what it wrote to standard output.
public func runTool(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: Data) {
    let tool = Process()
    tool.executableURL = try locateExecutable(name)
    tool.arguments = arguments
    let output = Pipe()
    tool.standardOutput = output
    tool.standardInput = FileHandle.nullDevice
    try tool.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    tool.waitUntilExit()
    return (tool.terminationStatus, data)
}

/// Waits (at most 10 s) for a signalled child to be reaped; Foundation's waitUntilExit can hang on Linux.
func waitForExit(_ process: Process) {
    for _ in 0..<1000 where process.isRunning { usleep(10_000) }
}
