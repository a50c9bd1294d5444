import OccupantCore

/// Closed monitor windows in the spool: handed over by the decision loop (memory only), written one file each by the
/// uploader's flush (`mon-<ms>-<random>.json`, atomically, fsynced), sent one per request ahead of the telemetry,
/// and deleted once the server has them. The file name (without `.json`) is the request's `Batch-ID`; the server
/// keeps one window per start, so a window re-sent after a lost answer or a restart is still stored once.
extension TelemetrySpool {
    /// One monitor window to send.
    public struct Window: Sendable, Equatable {
        public var id: String
        public var body: [UInt8]
    }

    /// Queues a closed monitor window (memory only, like `append`).
    public func append(monitor document: MonitorDocument) {
        state.withLock { s in
            s.pendingWindows.append(document)
            trimPending(&s)
        }
    }

    /// Monitor windows on disk and in memory.
    public var windowCount: Int { state.withLock { $0.pendingWindows.count + $0.windows.count } }

    /// Monitor windows dropped since start (only when the spool held nothing else and was still full).
    public var droppedWindows: Int { state.withLock { $0.windowsDropped } }

    /// The oldest monitor window to send, nil when none waits on disk.
    public func nextWindow() throws(OccupantError) -> Window? {
        try io.withLock { _ throws(OccupantError) -> Window? in
            guard let name = state.withLock({ $0.windows.first }) else { return nil }
            let body = try files.read(directory + "/" + name)
            return Window(id: String(name.dropLast(".json".count)), body: body)
        }
    }

    /// The server has the window (stored now or before), or refused it as bad: forget it.
    public func acknowledge(window: Window) {
        let name = window.id + ".json"
        forget(name, what: "monitor window") { s in
            guard let index = s.windows.firstIndex(of: name) else { return false }
            s.windows.remove(at: index)
            return true
        }
    }

    /// Called under `io` by `flush`: each pending window to its own file, oldest first.
    func writeWindows() throws(OccupantError) {
        var pending = state.withLock { s -> [MonitorDocument] in
            defer { s.pendingWindows = [] }
            return s.pendingWindows
        }
        while let document = pending.first {
            guard let bytes = try? FleetJSON.bytes(document) else {
                preconditionFailure("a monitor document always encodes")
            }
            let name = state.withLock { s in newSegmentName(&s, prefix: "mon", suffix: ".json") }
            do throws(OccupantError) {
                try files.writeAtomically(bytes + [UInt8(ascii: "\n")], to: directory + "/" + name)
            } catch {
                // What was not written waits for the next flush, ahead of what came since.
                state.withLock { s in
                    s.pendingWindows.insert(contentsOf: pending, at: 0)
                    trimPending(&s)
                }
                throw error
            }
            pending.removeFirst()
            state.withLock { $0.windows.append(name) }
        }
    }

    /// Called under `io` when the spool holds nothing but monitor windows and is still `excess` over its limit.
    func dropOldestWindows(_ excess: Int) throws(OccupantError) {
        for _ in 0..<excess {
            guard let name = state.withLock({ $0.windows.first }) else { return }
            try files.remove(directory + "/" + name)
            state.withLock { s in
                s.windows.removeFirst()
                s.windowsDropped += 1
            }
        }
        logger.warning(
            "spool full (\(limit) rows) of monitor windows alone: dropped the oldest, \(droppedWindows) so far",
            metadata: ["spool.directory": "\(directory)"])
    }
}
