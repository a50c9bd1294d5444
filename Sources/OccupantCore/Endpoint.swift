/// Whether `host` names this machine: `localhost` (and `*.localhost`), `::1`, or an IPv4 address in 127.0.0.0/8.
/// Used to warn when a token or telemetry would cross the network in clear.
public func isLoopbackHost(_ host: String) -> Bool {
    let h = host.lowercased()
    if h == "localhost" || h.hasSuffix(".localhost") || h == "::1" { return true }
    let parts = h.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
}
