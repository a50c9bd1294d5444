#if canImport(Glibc)
    import Glibc
#endif

/// The one durable-file layer: every file the gateway, the server and the evaluator keep goes through it.
///
/// Errors are `OccupantError` with code `.io`, a message naming the path, and the `errno` of the call that failed.
public protocol FileSystem: Sendable {
    /// Replaces `path` with `bytes` so that a crash leaves the old file or the new one, never a part: a unique
    /// temporary file in the same folder, write, fsync, rename, fsync the folder.
    func writeAtomically(_ bytes: [UInt8], to path: String) throws(OccupantError)
    /// Creates `path` holding `bytes` with permissions `mode`, refusing (errno `EEXIST`) when it exists; never leaves
    /// a partial file: a unique temporary file, write, fsync, hard link into place, fsync the folder.
    func createNew(_ bytes: [UInt8], at path: String, mode: UInt32) throws(OccupantError)
    /// Appends `bytes` to `path` (created if missing), without fsync: call `sync(_:)` when they must be durable.
    func append(_ bytes: [UInt8], to path: String) throws(OccupantError)
    /// Makes the file at `path` durable (fsync); when `newFile`, its folder's entry too.
    func sync(_ path: String, newFile: Bool) throws(OccupantError)
    /// The whole file.
    func read(_ path: String) throws(OccupantError) -> [UInt8]
    /// Names in `folder` (not `.` or `..`), unsorted.
    func list(_ folder: String) throws(OccupantError) -> [String]
    /// Deletes `path`; a missing file is not an error.
    func remove(_ path: String) throws(OccupantError)
    /// Size in bytes, or nil when there is no such file.
    func size(_ path: String) throws(OccupantError) -> Int?
    /// `mkdir -p`: `path` and every missing folder above it.
    func makeDirectories(_ path: String) throws(OccupantError)
}

extension FileSystem {
    /// Appends `bytes` and makes them durable.
    public func appendDurably(_ bytes: [UInt8], to path: String) throws(OccupantError) {
        try append(bytes, to: path)
        try sync(path, newFile: false)
    }

    /// The file as UTF-8 text (refused when it is not).
    public func readText(_ path: String) throws(OccupantError) -> String {
        let bytes = try read(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw OccupantError(.data, "cannot read \(path)", cause: "not UTF-8 text")
        }
        return text
    }

    /// True when `path` exists.
    public func exists(_ path: String) -> Bool { ((try? size(path)) ?? nil) != nil }
}

extension OccupantError {
    /// True when the error is "no such file or directory".
    public var isNoSuchFile: Bool { errno == ENOENT }

    /// A short reason for a failed file call, for a message that already names the file: "no such file",
    /// "permission denied", or the system's text.
    public var fileReason: String {
        switch errno {
        case ENOENT: "no such file"
        case EACCES, EPERM: "permission denied"
        case EISDIR: "is a folder"
        default: cause ?? message
        }
    }
}
