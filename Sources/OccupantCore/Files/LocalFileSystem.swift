#if canImport(Glibc)
    import Glibc
#endif

/// `FileSystem` on the local disk through POSIX calls, retrying on `EINTR`. The only place in the package that
/// calls `fsync`.
public struct LocalFileSystem: FileSystem {
    public init() {}

    public func writeAtomically(_ bytes: [UInt8], to path: String) throws(OccupantError) {
        let folder = Self.folder(of: path)
        let temporary = Self.temporaryPath(for: path)
        let fd = try open(
            temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, doing: "cannot create a temporary file for \(path)")
        do throws(OccupantError) {
            try writeAll(bytes, to: fd, path: temporary)
            try fsyncRetrying(fd, path: temporary)
        } catch {
            _ = close(fd)
            unlink(temporary)
            throw error
        }
        _ = close(fd)
        guard rename(temporary, path) == 0 else {
            let error = Self.error("cannot rename \(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
        try syncFolder(folder)
    }

    public func createNew(_ bytes: [UInt8], at path: String, mode: UInt32) throws(OccupantError) {
        let temporary = Self.temporaryPath(for: path)
        let fd = try open(
            temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: mode,
            doing: "cannot create a temporary file for \(path)")
        do throws(OccupantError) {
            guard fchmod(fd, mode_t(mode)) == 0 else { throw Self.error("cannot set the mode of \(temporary)") }
            try writeAll(bytes, to: fd, path: temporary)
            try fsyncRetrying(fd, path: temporary)
        } catch {
            _ = close(fd)
            unlink(temporary)
            throw error
        }
        _ = close(fd)
        guard link(temporary, path) == 0 else {
            let number = errno
            unlink(temporary)
            if number == EEXIST {
                throw OccupantError(.io, "\(path) exists", cause: "refusing to overwrite it", errno: number)
            }
            throw OccupantError(.io, "cannot create \(path)", cause: String(cString: strerror(number)), errno: number)
        }
        unlink(temporary)
        try syncFolder(Self.folder(of: path))
    }

    public func append(_ bytes: [UInt8], to path: String) throws(OccupantError) {
        let fd = try open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, doing: "cannot open \(path) for appending")
        defer { _ = close(fd) }
        try writeAll(bytes, to: fd, path: path)
    }

    public func sync(_ path: String, newFile: Bool) throws(OccupantError) {
        let fd = try open(path, O_RDONLY | O_CLOEXEC, doing: "cannot open \(path) to sync it")
        defer { _ = close(fd) }
        try fsyncRetrying(fd, path: path)
        if newFile { try syncFolder(Self.folder(of: path)) }
    }

    public func read(_ path: String) throws(OccupantError) -> [UInt8] {
        let fd = try open(path, O_RDONLY | O_CLOEXEC, doing: "cannot read \(path)")
        defer { _ = close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.error("cannot read \(path)")
            }
            if n == 0 { return out }
            out.append(contentsOf: buffer[0..<n])
        }
    }

    public func list(_ folder: String) throws(OccupantError) -> [String] {
        guard let dir = opendir(folder) else { throw Self.error("cannot list \(folder)") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func remove(_ path: String) throws(OccupantError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw Self.error("cannot remove \(path)") }
    }

    public func size(_ path: String) throws(OccupantError) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw Self.error("cannot stat \(path)")
        }
        return Int(info.st_size)
    }

    public func makeDirectories(_ path: String) throws(OccupantError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o750) != 0 && errno != EEXIST { throw Self.error("cannot create \(prefix)") }
            prefix += "/"
        }
    }

    // MARK: Helpers

    /// `<folder>/.tmp-<name>-<pid>-<random>`: unique, hidden, in the target's folder (a rename never crosses a disk).
    static func temporaryPath(for path: String) -> String {
        let folder = folder(of: path)
        let name = path.split(separator: "/").last.map(String.init) ?? "file"
        return "\(folder)/\(temporaryPrefix)\(name)-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
    }

    /// Temporary files start with this; a store may delete those a crash left.
    public static let temporaryPrefix = ".tmp-"

    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func error(_ message: String) -> OccupantError {
        let number = errno
        return OccupantError(.io, message, cause: String(cString: strerror(number)), errno: number)
    }

    private func open(_ path: String, _ flags: Int32, mode: UInt32 = 0o640, doing message: String) throws(OccupantError)
        -> Int32
    {
        while true {
            let fd = Glibc.open(path, flags, mode_t(mode))
            if fd >= 0 { return fd }
            if errno != EINTR { throw Self.error(message) }
        }
    }

    private func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(OccupantError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.error("cannot write \(path)")
            }
            offset += n
        }
    }

    private func fsyncRetrying(_ fd: Int32, path: String) throws(OccupantError) {
        while fsync(fd) != 0 {
            if errno != EINTR { throw Self.error("cannot sync \(path) to disk") }
        }
    }

    private func syncFolder(_ folder: String) throws(OccupantError) {
        let fd = try open(
            folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC, doing: "cannot open the folder \(folder) to sync it")
        defer { _ = close(fd) }
        try fsyncRetrying(fd, path: folder)
    }
}
