import OccupantCore

#if canImport(Glibc)
    import Glibc
#endif

/// The gateway process's CPU time, resident memory and uptime, read from `/proc/self` (Linux); nil figures elsewhere
/// or when a file cannot be read.
public enum ProcessUsage {
    public static func current() -> MonitorDocument.Process {
        #if os(Linux)
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            var cpu: Double?
            var uptime: Double?
            var rss: Int?
            // `stat`: the fields after the command's closing parenthesis; utime, stime are fields 14, 15 and starttime
            // field 22 (1-based, counting pid as 1), in clock ticks.
            if let stat = read("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                // fields[0] is field 3 (state).
                if fields.count > 19, let user = Double(fields[11]), let system = Double(fields[12]),
                    let start = Double(fields[19]), ticks > 0
                {
                    cpu = (user + system) / ticks
                    if let text = read("/proc/uptime"), let first = text.split(separator: " ").first,
                        let boot = Double(first)
                    {
                        uptime = max(0, boot - start / ticks)
                    }
                }
            }
            if let statm = read("/proc/self/statm") {
                let fields = statm.split(separator: " ")
                if fields.count > 1, let pages = Int(fields[1]) { rss = pages * page }
            }
            return .init(cpuSeconds: cpu, rssBytes: rss, uptimeSeconds: uptime)
        #else
            return .init(cpuSeconds: nil, rssBytes: nil, uptimeSeconds: nil)
        #endif
    }

    static func read(_ path: String) -> String? {
        guard let bytes = try? LocalFileSystem().read(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self).trimmingSuffixNewline
    }
}

extension String {
    fileprivate var trimmingSuffixNewline: String {
        var s = self
        while s.last == "\n" { s.removeLast() }
        return s
    }
}
