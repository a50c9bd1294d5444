import Evaluator
import Logging
import OccupantCore
import Synchronization

/// Telemetry waiting for the training host, on disk under `<state>/spool/` so neither an outage nor a restart
/// loses it, bounded at `limit` rows (the oldest go first).
///
/// The decision loop only appends to memory, under a lock no file call is ever made under; the uploader writes that
/// to the open segment file (one fsync per flush) and seals it before sending it. A sealed segment — at most `batchSize` rows, `seg-<ms>-<random>.ndjson`
/// — is one upload batch whose `Batch-ID` is the file name, the same on every retry and after a restart, so the
/// server can answer a re-sent batch as a duplicate. Acknowledged segments are deleted.
///
/// Closed monitor windows wait here too, one file each (`mon-<ms>-<random>.json`, see `TelemetrySpool+Monitor`): each
/// counts as one row against `limit`, goes out ahead of the telemetry, and stays when the spool is full — the oldest
/// telemetry rows are dropped first.
public final class TelemetrySpool: Sendable {
    public let directory: String
    public let limit: Int
    public let batchSize: Int
    let logger: Logger
    let files: any FileSystem
    /// Rows and segment bookkeeping; held only for memory updates, never across a file call.
    let state: Mutex<State>
    /// Serialises the uploader side (flush, nextBatch, acknowledge), which does the file I/O.
    let io = Mutex(())

    struct Segment: Equatable {
        var name: String
        var rows: Int
    }

    struct State {
        /// Rows appended since the last flush.
        var pending: [String] = []
        /// Sealed segments, oldest first (upload order).
        var sealed: [Segment] = []
        /// The segment being appended to.
        var open: Segment?
        var dropped = 0
        var droppedReported = 0
        /// The millisecond stamp of the newest segment name, so names sort in creation order even when two
        /// segments are made within one millisecond (the random suffix alone would order them by chance).
        var lastStamp: UInt64 = 0
        /// Monitor windows handed over since the last flush, oldest first.
        var pendingWindows: [MonitorDocument] = []
        /// Monitor window files on disk, oldest first (upload order).
        var windows: [String] = []
        /// Monitor windows dropped because the spool held nothing else and was still full.
        var windowsDropped = 0
    }

    /// One upload: a sealed segment's rows.
    public struct Batch: Sendable, Equatable {
        public var id: String
        public var body: [UInt8]
        public var rows: Int
    }

    /// Opens the spool, picking up the segments a previous run left (all of them sealed now).
    public init(
        directory: String, limit: Int, batchSize: Int, logger: Logger, files: any FileSystem = LocalFileSystem()
    ) throws(OccupantError) {
        self.directory = directory
        self.limit = limit
        self.batchSize = batchSize
        self.logger = logger
        self.files = files
        try files.makeDirectories(directory)
        var sealed: [Segment] = []
        var windows: [String] = []
        for name in try files.list(directory).sorted() {
            let path = directory + "/" + name
            if name.hasSuffix(".tmp") || name.hasPrefix(LocalFileSystem.temporaryPrefix) {
                try? files.remove(path)
                continue
            }
            if name.hasPrefix("mon-"), name.hasSuffix(".json") {
                windows.append(name)
                continue
            }
            guard name.hasPrefix("seg-"), name.hasSuffix(".ndjson") else { continue }
            let rows = (try? files.read(path))?.split(separator: UInt8(ascii: "\n")).count ?? 0
            if rows == 0 { try? files.remove(path) } else { sealed.append(Segment(name: name, rows: rows)) }
        }
        let lastStamp = (sealed.map(\.name) + windows).compactMap { Self.stamp(ofSegment: $0) }.max() ?? 0
        state = Mutex(State(sealed: sealed, lastStamp: lastStamp, windows: windows))
    }

    /// Queues one sample (memory only: never blocks the decision loop on the disk, nor on a flush in progress).
    public func append(_ sample: Sample) {
        let line = Payloads.telemetry(sample).serialized
        state.withLock { s in
            s.pending.append(line)
            // Bounded in memory too, should flushing stall.
            trimPending(&s)
        }
    }

    /// Keeps memory within `limit` rows, monitor windows counted: telemetry goes first.
    func trimPending(_ s: inout State) {
        if s.pending.count + s.pendingWindows.count > limit {
            let excess = min(s.pending.count, s.pending.count + s.pendingWindows.count - limit)
            s.pending.removeFirst(excess)
            s.dropped += excess
        }
        if s.pendingWindows.count > limit {
            let excess = s.pendingWindows.count - limit
            s.pendingWindows.removeFirst(excess)
            s.windowsDropped += excess
        }
    }

    /// Rows on disk and in memory.
    public var count: Int {
        state.withLock { s in s.pending.count + (s.open?.rows ?? 0) + s.sealed.reduce(0) { $0 + $1.rows } }
    }

    /// Oldest rows dropped to respect the limit, since start.
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// Writes pending rows to disk (fsync once per segment written), rolling to a new segment every `batchSize`
    /// rows, then drops the oldest rows beyond `limit`.
    ///
    /// The disk is only touched under `io` (the uploader's lock); `state` (which `append` takes) is held just to
    /// take the pending rows and to record what was written, never across a file call.
    public func flush() throws(OccupantError) {
        try io.withLock { _ throws(OccupantError) in
            try writeWindows()
            var rows = state.withLock { s -> [String] in
                defer { s.pending = [] }
                return s.pending
            }
            do throws(OccupantError) {
                while !rows.isEmpty {
                    var segment = state.withLock { s in s.open ?? Segment(name: newSegmentName(&s), rows: 0) }
                    let chunk = rows.prefix(batchSize - segment.rows)
                    let path = directory + "/" + segment.name
                    try files.append(Array(chunk.joined(separator: "\n").utf8) + [UInt8(ascii: "\n")], to: path)
                    try files.sync(path, newFile: segment.rows == 0)
                    segment.rows += chunk.count
                    rows.removeFirst(chunk.count)
                    state.withLock { s in
                        if segment.rows >= batchSize {
                            s.sealed.append(segment)
                            s.open = nil
                        } else {
                            s.open = segment
                        }
                    }
                }
            } catch {
                // What was not written waits for the next flush, ahead of what came since.
                state.withLock { s in
                    s.pending.insert(contentsOf: rows, at: 0)
                    trimPending(&s)
                }
                throw error
            }
            try enforceLimit()
        }
        reportDrops()
    }

    /// The oldest batch to send, sealing the open segment when nothing older waits.
    public func nextBatch() throws(OccupantError) -> Batch? {
        try io.withLock { _ throws(OccupantError) -> Batch? in
            let first = state.withLock { s -> Segment? in
                if s.sealed.isEmpty, let open = s.open {
                    s.sealed.append(open)
                    s.open = nil
                }
                return s.sealed.first
            }
            guard let first else { return nil }
            let body = try files.read(directory + "/" + first.name)
            return Batch(id: String(first.name.dropLast(".ndjson".count)), body: body, rows: first.rows)
        }
    }

    /// The server has the batch (stored now or before): forget it.
    public func acknowledge(_ batch: Batch) {
        let name = batch.id + ".ndjson"
        forget(name, what: "telemetry batch") { s in
            guard let index = s.sealed.firstIndex(where: { $0.name == name }) else { return false }
            s.sealed.remove(at: index)
            return true
        }
    }

    /// Deletes a sent file the spool still lists. `take` drops it from the list and says whether it was there: an
    /// unknown name (already acknowledged, or dropped for space) deletes nothing.
    func forget(_ name: String, what: String, take: (inout State) -> Bool) {
        io.withLock { _ in
            guard state.withLock({ take(&$0) }) else { return }
            do {
                try files.remove(directory + "/" + name)
            } catch {
                logger.warning(
                    "cannot delete the sent \(what): \(error)", metadata: ["spool.directory": "\(directory)"])
            }
        }
    }

    /// Called under `io`: only the uploader side changes `open` and `sealed`, so they stay as read here.
    private func enforceLimit() throws(OccupantError) {
        var excess = state.withLock { s in
            (s.open?.rows ?? 0) + s.sealed.reduce(0) { $0 + $1.rows } + s.windows.count - limit
        }
        while excess > 0 {
            let oldest = state.withLock { s -> Segment? in
                if s.sealed.isEmpty, let open = s.open {
                    s.sealed.append(open)
                    s.open = nil
                }
                return s.sealed.first
            }
            guard var oldest else {
                // Nothing but monitor windows left.
                try dropOldestWindows(excess)
                return
            }
            let path = directory + "/" + oldest.name
            if oldest.rows <= excess {
                try files.remove(path)
                state.withLock { s in
                    s.sealed.removeFirst()
                    s.dropped += oldest.rows
                }
                excess -= oldest.rows
            } else {
                // Keep the newer rows of the oldest segment.
                let lines = try files.read(path).split(separator: UInt8(ascii: "\n"))
                let kept = lines.dropFirst(excess)
                try files.writeAtomically(
                    Array(kept.joined(separator: [UInt8(ascii: "\n")])) + [UInt8(ascii: "\n")], to: path)
                oldest.rows = kept.count
                let dropped = excess
                state.withLock { s in
                    s.sealed[0] = oldest
                    s.dropped += dropped
                }
                excess = 0
            }
        }
    }

    private func reportDrops() {
        let (dropped, newly) = state.withLock { s -> (Int, Bool) in
            defer { s.droppedReported = s.dropped }
            // Once when dropping starts, then at most every 1000 rows.
            return (
                s.dropped,
                s.dropped > s.droppedReported && (s.droppedReported == 0 || s.dropped / 1000 > s.droppedReported / 1000)
            )
        }
        if newly {
            logger.warning(
                "telemetry spool full (\(limit) rows): dropped the oldest, \(dropped) rows so far",
                metadata: ["spool.directory": "\(directory)"])
        }
    }

    /// `seg-<ms>-<random>.ndjson`, with `<ms>` strictly increasing: the wall clock, or one past the newest segment
    /// when the clock has not moved on (or went back).
    func newSegmentName(_ s: inout State, prefix: String = "seg", suffix: String = ".ndjson") -> String {
        let ms = max(UInt64(max(0, realtimeSeconds() * 1000)), s.lastStamp + 1)
        s.lastStamp = ms
        var digits = String(ms)
        while digits.count < 15 { digits = "0" + digits }
        return
            "\(prefix)-\(digits)-\(hexString(withUnsafeBytes(of: UInt64.random(in: 0...UInt64.max)) { Array($0) }).prefix(12))\(suffix)"
    }

    /// The millisecond stamp in a segment's or a monitor window's file name.
    static func stamp(ofSegment name: String) -> UInt64? {
        let parts = name.split(separator: "-")
        guard parts.count >= 3, parts[0] == "seg" || parts[0] == "mon" else { return nil }
        return UInt64(parts[1])
    }
}
