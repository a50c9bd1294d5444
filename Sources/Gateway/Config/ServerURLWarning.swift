import Logging
import OccupantCore

/// Where this gateway's token is sent (the files that hold its secrets are checked by `SecretFile`, in OccupantCore).
enum ServerURLWarning {
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
