import Foundation

/// A `NOTIFY_SOCKET` datagram socket, as systemd provides one, that records what a service sends.
public final class NotifySocket: @unchecked Sendable {
    // @unchecked: the descriptor is fixed at init; reads happen on the caller's thread.
    public let path: String
    private let fd: Int32

    public init() throws {
        let dir = try temporaryDirectory("notify")
        path = dir.appendingPathComponent("notify.sock").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket(AF_UNIX) failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
        guard ok else { throw HarnessError("bind(\(path)) failed") }
    }

    deinit { close(fd) }

    /// Receives datagrams until one contains `line` (each datagram may hold several lines).
    public func waitFor(_ line: String, timeout: Double = 20) async throws -> [String] {
        var seen: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n <= 0 {
                try await Task.sleep(for: .milliseconds(20))
            } else {
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                seen.append(text)
                if text.split(separator: "\n").contains(Substring(line)) { return seen }
            }
        }
        throw HarnessError("no '\(line)' on NOTIFY_SOCKET within \(timeout) s (got \(seen))")
    }
}
