#if canImport(Glibc)
    import Glibc
#endif

/// Permission checks on the files that hold secrets (tokens, private keys), one rule for the gateway and the server:
/// a secret any other local user can read or write is refused.
public enum SecretFile {
    /// The permission bits of `path`, or nil when it cannot be inspected (reading it reports that later).
    public static func mode(_ path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode) & 0o777
    }

    /// Throws when `path` (named by the configuration key `key`) is readable or writable by users other than its
    /// owner and group; a missing file is left to the reader to report.
    public static func refuseIfOpenToOthers(_ path: String, key: String) throws(OccupantError) {
        guard let mode = mode(path), mode & 0o007 != 0 else { return }
        throw OccupantError(
            .configuration,
            "\(key): \(path) is open to other users (mode \(String(mode, radix: 8))); run chmod 600 \(path)")
    }
}
