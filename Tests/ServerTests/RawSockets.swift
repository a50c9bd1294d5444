import Foundation
import OccupantTesting

#if canImport(Glibc)
    import Glibc
#endif

/// A few plain TCP sockets to 127.0.0.1 for the slow-upload tests (thousands go through `IdleSockets`): they connect and then send
/// only what the test says (or nothing), the way an attacker would.
final class RawSockets: @unchecked Sendable {
    // @unchecked: used by one test at a time; the descriptors are only touched from the thread the test calls from.
    private(set) var fds: [Int32] = []
    /// Sockets the server has closed (EOF or reset) or that failed to connect.
    var closed = Set<Int32>()
    /// Of those, the ones that ended with an orderly EOF from the server.
    private(set) var eof = 0

    deinit { for fd in fds { close(fd) } }

    /// Starts `count` non-blocking connects to `port`.
    func open(_ count: Int, port: Int) throws {
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard rc == 0 || errno == EINPROGRESS else {
                let e = errno
                close(fd)
                throw POSIXError(.init(rawValue: e) ?? .EIO)
            }
            fds.append(fd)
        }
    }

    /// One pass over the open sockets without waiting: records those the server closed; returns how many are closed.
    @discardableResult
    func poll() -> Int {
        var items = fds.filter { !closed.contains($0) }.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        guard !items.isEmpty else { return closed.count }
        _ = Glibc.poll(&items, nfds_t(items.count), 0)
        var byte: UInt8 = 0
        for item in items where item.revents != 0 {
            let n = recv(item.fd, &byte, 1, 0)
            if n == 0 {
                eof += 1
                closed.insert(item.fd)
            } else if n < 0, errno != EAGAIN, errno != EWOULDBLOCK {
                closed.insert(item.fd)
            }
        }
        return closed.count
    }

    /// Writes `bytes` to every socket (as far as the server reads them) until all are sent or `seconds` pass.
    /// Returns the bytes written in all.
    func send(_ bytes: [UInt8], seconds: Double) -> Int {
        var sent = [Int32: Int](uniqueKeysWithValues: fds.map { ($0, 0) })
        var total = 0
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var items = fds.filter { sent[$0]! < bytes.count && !closed.contains($0) }
                .map { pollfd(fd: $0, events: Int16(POLLOUT), revents: 0) }
            if items.isEmpty { break }
            _ = Glibc.poll(&items, nfds_t(items.count), 100)
            for item in items where item.revents & Int16(POLLOUT) != 0 {
                let offset = sent[item.fd]!
                let n = bytes[offset...].withUnsafeBytes {
                    Glibc.send(item.fd, $0.baseAddress, min($0.count, 256 << 10), Int32(MSG_NOSIGNAL))
                }
                if n > 0 {
                    sent[item.fd] = offset + n
                    total += n
                } else if n < 0, errno != EAGAIN, errno != EWOULDBLOCK {
                    closed.insert(item.fd)
                }
            }
        }
        return total
    }
}

extension RawSockets {
    /// Sends `bytes` on every socket, then one more byte every `interval` seconds (a body that drips to look alive),
    /// until the server has closed them all or `seconds` pass. Returns whether all were closed.
    func drip(_ bytes: [UInt8], interval: Double, seconds: Double) -> Bool {
        _ = send(bytes, seconds: 5)
        let deadline = Date().addingTimeInterval(seconds)
        var space = UInt8(ascii: " ")
        while Date() < deadline {
            if poll() == fds.count { return true }
            for fd in fds where !closed.contains(fd) {
                if Glibc.send(fd, &space, 1, Int32(MSG_NOSIGNAL)) < 0, errno != EAGAIN { closed.insert(fd) }
            }
            Thread.sleep(forTimeInterval: interval)
        }
        return poll() == fds.count
    }
}

/// Runs blocking socket work on a thread of its own, not on the cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// The resident set of process `pid` in bytes (`VmRSS` in /proc/PID/status).
func residentBytes(pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return nil }
    return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 * 1024 }
}

/// `tools/idle-sockets/idle_sockets.c`, built once per test run: thousands of idle connections from a process of
/// their own (in this one their descriptors would push other tests' sockets past libmosquitto's FD_SETSIZE).
enum IdleSockets {
    private static let built: Result<URL, HarnessError> = {
        do {
            let output = try temporaryDirectory("idle-sockets").appendingPathComponent("idle_sockets")
            let source = packageRoot().appendingPathComponent("tools/idle-sockets/idle_sockets.c").path
            let cc = Process()
            cc.executableURL = try locateExecutable("cc")
            cc.arguments = ["-O2", "-o", output.path, source]
            try cc.run()
            cc.waitUntilExit()
            guard cc.terminationStatus == 0 else { return .failure(HarnessError("cc failed building \(source)")) }
            return .success(output)
        } catch {
            return .failure(HarnessError("cannot build idle_sockets: \(error)"))
        }
    }()

    /// Starts `count` idle connections to `port`, kept for at most `seconds`.
    static func start(port: Int, count: Int, seconds: Int) throws -> ChildProcess {
        try ChildProcess(["\(port)", "\(count)", "\(seconds)"], executable: try built.get())
    }

    /// The server-closed count the child last reported (an orderly EOF), and all closed or failed.
    static func progress(_ child: ChildProcess) -> (eof: Int, closed: Int) {
        guard let last = child.stdout.split(separator: "\n").last(where: { $0.hasPrefix("eof ") }) else {
            return (0, 0)
        }
        let numbers = last.split(separator: " ").compactMap { Int($0) }
        return numbers.count == 2 ? (numbers[0], numbers[1]) : (0, 0)
    }
}
