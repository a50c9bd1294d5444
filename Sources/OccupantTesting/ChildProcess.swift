import Foundation

/// The built `occupant` executable, run as a child process with its output captured to files.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: the Process is configured once and only queried/signalled afterwards.
    public let process: Process
    public let stdoutURL: URL
    public let stderrURL: URL

    public init(_ arguments: [String], environment: [String: String] = [:], executable: URL? = nil) throws {
        let dir = try temporaryDirectory("occupant-child")
        stdoutURL = dir.appendingPathComponent("stdout")
        stderrURL = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process = Process()
        process.executableURL = try executable ?? occupantExecutable()
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = nil
        env["WATCHDOG_USEC"] = nil
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let output = try FileHandle(forWritingTo: stdoutURL)
        let errors = try FileHandle(forWritingTo: stderrURL)
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        // The child has its own copies once it runs. Ours are closed now: Foundation's Process keeps its handles for
        // as long as it lives, and a full test run leaked ~600 of them until libmosquitto, whose loop uses select(),
        // met a socket numbered past 1023 and never saw a CONNACK.
        defer {
            try? output.close()
            try? errors.close()
        }
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            waitForExit(process)
        }
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for exit; returns the status, or throws after `timeout` seconds (and kills the child).
    @discardableResult
    public func wait(timeout: Double = 30) async throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            waitForExit(process)
            throw HarnessError("process did not exit within \(timeout) s; stderr:\n\(stderr)")
        }
        return process.terminationStatus
    }

    /// Runs to completion and returns (status, stdout, stderr).
    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 60)
        async throws -> (status: Int32, stdout: String, stderr: String)
    {
        let child = try ChildProcess(arguments, environment: environment)
        let status = try await child.wait(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }
}

/// The `occupant` binary: `$OCCUPANT_BIN`, else the one next to the test bundle in `.build/<config>/`.
public func occupantExecutable() throws -> URL {
    if let path = ProcessInfo.processInfo.environment["OCCUPANT_BIN"] { return URL(fileURLWithPath: path) }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("occupant")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    let fallback = packageRoot().appendingPathComponent(".build/debug/occupant")
    if FileManager.default.isExecutableFile(atPath: fallback.path) { return fallback }
    throw HarnessError("occupant executable not found: build it (swift build) or set OCCUPANT_BIN")
}

/// The package's root folder (where Package.swift is).
public func packageRoot() -> URL {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    for _ in 0..<6 {
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
        dir = dir.deletingLastPathComponent()
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
}
