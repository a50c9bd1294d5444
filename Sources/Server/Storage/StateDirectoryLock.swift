import Foundation
import OccupantCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive `flock` on `<stateDirectory>/server.lock`, held for the life of the process: one SQLite state
/// directory serves one `occupant server run`. A second process is refused at start, naming the folder and the
/// holder's PID (written into the file), instead of failing half-way on the shared database. The kernel drops the
/// lock when the holder exits, however it exits, so a stale file never blocks a restart.
public final class StateDirectoryLock: Sendable {
    /// The lock file.
    public let path: String
    private let fd: Int32

    /// Takes the lock or throws a one-line `.configuration` error naming the directory and the holder.
    public init(directory: String) throws(OccupantError) {
        path = directory + "/server.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let e = errno
            throw OccupantError(
                .io, "stateDirectory \(directory): cannot open the lock file \(path): \(String(cString: strerror(e)))",
                errno: e)
        }
        var status: Int32
        repeat { status = flock(fd, LOCK_EX | LOCK_NB) } while status != 0 && errno == EINTR
        guard status == 0 else {
            let e = errno
            let holder = Self.holder(fd)
            close(fd)
            guard e == EWOULDBLOCK else {
                throw OccupantError(
                    .io, "stateDirectory \(directory): cannot lock \(path): \(String(cString: strerror(e)))", errno: e)
            }
            throw OccupantError(
                .configuration,
                "stateDirectory \(directory) is in use by another occupant server (PID \(holder ?? "unknown"), "
                    + "lock \(path)); one state directory serves one process: stop that one, or give this one its "
                    + "own stateDirectory")
        }
        self.fd = fd
        let text = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit { close(fd) }

    /// The PID the holder wrote, if any yet.
    private static func holder(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 31, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int32(text) == nil ? nil : text
    }
}
