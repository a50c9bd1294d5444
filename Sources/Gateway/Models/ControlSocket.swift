import Dispatch
import Logging
import OccupantCore
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// A local Unix socket through which `occupant model install` and `occupant model rollback` tell the running daemon
/// to switch models without a restart: one `ControlCommand` line in, one `ControlReply` line out.
public final class ControlSocket: Service, Sendable {
    public let path: String
    private let handler: @Sendable (ControlCommand) -> ControlReply
    private let logger: Logger

    public init(path: String, logger: Logger, handler: @escaping @Sendable (ControlCommand) -> ControlReply) {
        self.path = path
        self.logger = logger
        self.handler = handler
    }

    public func run() async throws {
        let fd: Int32
        do {
            fd = try listen()
        } catch {
            // Without the socket models can still be installed for the next start: keep deciding.
            logger.error("\(error.message); `occupant model install` will not reach this process")
            try? await gracefulShutdown()
            return
        }
        let queue = DispatchQueue(label: "occupant.control")
        let handler = self.handler
        queue.async {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    return // closed on shutdown
                }
                let request = ControlSocket.readLine(client)
                let reply =
                    ControlCommand(rawValue: request).map(handler)
                    ?? .error(
                        "unknown request '\(request)' (\(ControlCommand.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                _ = (reply.line + "\n").withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                close(client)
            }
        }
        try? await gracefulShutdown()
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }

    private func listen() throws(OccupantError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw OccupantError(.io, "control socket: \(String(cString: strerror(errno)))") }
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty && access(directory, F_OK) != 0 { mkdir(directory, 0o750) }
        unlink(path)
        var address = ControlSocket.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, 4) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw OccupantError(.io, "control socket \(path): \(reason)")
        }
        chmod(path, 0o660)
        logger.debug("control socket listening", metadata: ["control.path": "\(path)"])
        return fd
    }

    /// Sends one command to a running daemon; nil when none is listening.
    public static func request(_ command: ControlCommand, path: String, timeout: Int = 10) -> ControlReply? {
        exchange(command.rawValue, path: path, timeout: timeout).map(ControlReply.init(line:))
    }

    /// Sends one raw line (tests use it for requests the daemon must refuse).
    static func exchange(_ line: String, path: String, timeout: Int) -> String? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { return nil }
        _ = (line + "\n").withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        let reply = readLine(fd)
        return reply.isEmpty ? nil : reply
    }

    static func readLine(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < 4096 {
            let n = recv(fd, &byte, 1, 0)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8.prefix(MemoryLayout.size(ofValue: address.sun_path) - 1))
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        return address
    }
}
