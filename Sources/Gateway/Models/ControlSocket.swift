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
    /// Seconds a client may take to send its line, and to take the reply, before it is dropped.
    let clientTimeout: Int
    /// Clients served at once; more wait in the listen backlog.
    static let maximumClients = 8

    public init(
        path: String, logger: Logger, clientTimeout: Int = 5,
        handler: @escaping @Sendable (ControlCommand) -> ControlReply
    ) {
        self.path = path
        self.logger = logger
        self.clientTimeout = clientTimeout
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
        let handler = self.handler
        let timeout = clientTimeout
        // Each client on its own (so a silent one holds up nobody), at most `maximumClients` at once; the handler
        // runs for one command at a time.
        let clients = DispatchQueue(label: "occupant.control.clients", attributes: .concurrent)
        let commands = DispatchQueue(label: "occupant.control.commands")
        let slots = DispatchSemaphore(value: ControlSocket.maximumClients)
        let acceptor = DispatchQueue(label: "occupant.control")
        acceptor.async {
            while true {
                slots.wait()
                let client = accept(fd, nil, nil)
                if client < 0 {
                    slots.signal()
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    return // closed on shutdown
                }
                clients.async {
                    defer {
                        close(client)
                        slots.signal()
                    }
                    ControlSocket.setTimeouts(client, seconds: timeout)
                    guard let request = ControlSocket.readLine(client) else { return } // silent or gone: drop it
                    let reply = commands.sync {
                        ControlCommand(rawValue: request).map(handler)
                            ?? .error(
                                "unknown request '\(request.prefix(100))' (\(ControlCommand.allCases.map(\.rawValue).joined(separator: ", ")))"
                            )
                    }
                    _ = (reply.line + "\n").withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                }
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
        guard bound == 0, Glibc.listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw OccupantError(.io, "control socket \(path): \(reason)")
        }
        chmod(path, 0o660)
        logger.debug("control socket listening", metadata: ["control.path": "\(path)"])
        return fd
    }

    /// What asking the running daemon came to.
    public enum Answer: Sendable, Equatable {
        /// Nothing listens on the socket: no gateway runs (or it has not opened the socket yet).
        case noGateway
        /// A gateway took the connection but sent no reply within the timeout (or closed without one).
        case noAnswer(String)
        case reply(ControlReply)
    }

    /// Sends one command to a running daemon and waits at most `timeout` seconds for its reply.
    public static func ask(_ command: ControlCommand, path: String, timeout: Int = 10) -> Answer {
        exchange(command.rawValue, path: path, timeout: timeout)
    }

    /// Sends one command to a running daemon; nil when none is listening or it did not answer.
    public static func request(_ command: ControlCommand, path: String, timeout: Int = 10) -> ControlReply? {
        if case .reply(let reply) = ask(command, path: path, timeout: timeout) { return reply }
        return nil
    }

    /// Sends one raw line (tests use it for requests the daemon must refuse).
    static func exchange(_ line: String, path: String, timeout: Int) -> Answer {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .noGateway }
        defer { close(fd) }
        setTimeouts(fd, seconds: timeout)
        var address = address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { return .noGateway }
        let sent = (line + "\n").withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        guard sent > 0, let reply = readLine(fd), !reply.isEmpty else {
            return .noAnswer(
                "the gateway on \(path) took the connection but did not answer within \(timeout) s")
        }
        return .reply(ControlReply(line: reply))
    }

    /// Receive and send timeouts, so neither side waits for ever on the other.
    static func setTimeouts(_ fd: Int32, seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// One line (without the newline), or nil when the peer sent nothing before the timeout or closed early.
    static func readLine(_ fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < 4096 {
            let n = recv(fd, &byte, 1, 0)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil } // timed out (or broken)
            if n == 0 { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { break }
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
