import OccupantCore

#if canImport(Glibc)
import Glibc
#endif

/// Small POSIX file helpers for the download and the spool: explicit fsync, retry on `EINTR`, errors that name the file.
enum FileIO {
    /// Opens `path` for appending (created if missing; emptied first when `truncate`).
    static func openForAppend(_ path: String, truncate: Bool = false) throws(OccupantError) -> Int32 {
        let flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0)
        let fd = open(path, flags, 0o640)
        guard fd >= 0 else { throw OccupantError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    static func write(_ bytes: [UInt8], to fd: Int32, path: String) throws(OccupantError) {
        let failure: OccupantError? = bytes.withUnsafeBytes { raw in
            do throws(OccupantError) {
                try write(raw, to: fd, path: path)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    static func write(_ raw: UnsafeRawBufferPointer, to fd: Int32, path: String) throws(OccupantError) {
        let failure: String? = {
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                offset += n
            }
            return nil
        }()
        if let failure { throw OccupantError(.io, "writing \(path): \(failure)") }
    }

    static func sync(_ fd: Int32, path: String) throws(OccupantError) {
        guard fsync(fd) == 0 else { throw OccupantError(.io, "fsync \(path): \(String(cString: strerror(errno)))") }
    }

    /// Size in bytes, or nil when the file does not exist.
    static func size(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    static func read(_ path: String) throws(OccupantError) -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw OccupantError(.io, "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n > 0 { out.append(contentsOf: buffer[0..<n]) }
            if n < buffer.count {
                if ferror(file) != 0 { throw OccupantError(.io, "reading \(path): \(String(cString: strerror(errno)))") }
                return out
            }
        }
    }

    /// Writes `bytes` to `path` through a temporary file, fsync and rename.
    static func replace(_ path: String, with bytes: [UInt8]) throws(OccupantError) {
        let temporary = path + ".tmp"
        let fd = try openForAppend(temporary, truncate: true)
        do {
            try write(bytes, to: fd, path: temporary)
            try sync(fd, path: temporary)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw OccupantError(.io, "rename into \(path): \(reason)")
        }
    }

    /// Names in `directory` (not `.` or `..`); empty when it cannot be read.
    static func list(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
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

    /// `mkdir -p` for the last two levels (the state directory and a folder in it).
    static func makeDirectories(_ paths: [String]) throws(OccupantError) {
        for dir in paths where access(dir, F_OK) != 0 {
            if mkdir(dir, 0o750) != 0 && errno != EEXIST {
                throw OccupantError(.io, "cannot create \(dir): \(String(cString: strerror(errno)))")
            }
        }
    }

    static func remove(_ path: String) { unlink(path) }

    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}
