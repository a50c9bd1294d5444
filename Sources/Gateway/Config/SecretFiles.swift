import Logging
import OccupantCore

#if canImport(Glibc)
    import Glibc
#endif

/// Checks on the files that hold this gateway's secrets, and on where its token is sent.
enum SecretFiles {
    /// Throws when `path` (a token or private key, named by the configuration key `key`) is readable or writable by
    /// users other than its owner and group; a missing file is left to the reader to report.
    static func refuseIfOpenToOthers(_ path: String, key: String) throws(OccupantError) {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        let mode = info.st_mode & 0o777
        guard mode & 0o007 != 0 else { return }
        throw OccupantError(
            .configuration,
            "\(key): \(path) is open to other users (mode \(String(mode, radix: 8))); run chmod 600 \(path)")
    }

    /// A one-line warning when the server URL is plain `http://` to a host that is not this machine: the bearer
    /// token and the telemetry would cross the network unencrypted.
    static func warnIfPlainHTTP(_ url: String, logger: Logger) {
        guard url.hasPrefix("http://") else { return }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        var host = Substring(authority.split(separator: "@").last ?? "")
        if host.hasPrefix("[") {
            host = host.dropFirst().prefix { $0 != "]" }
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        if isLoopbackHost(String(host)) { return }
        logger.warning(
            "server.url \(url) is plain http:// to another host: the token and telemetry cross the network unencrypted; use https://"
        )
    }
}
