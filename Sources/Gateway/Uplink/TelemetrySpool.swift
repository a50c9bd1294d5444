import Evaluator
import Logging
import OccupantCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Telemetry waiting for the training host, on disk under `<state>/spool/` so neither an outage nor a restart
/// loses it, bounded at `limit` rows (the oldest go first).
///
/// The decision loop only appends to memory; the uploader writes that to the open segment file (one fsync per
/// flush) and seals it before sending it. A sealed segment — at most `batchSize` rows, `seg-<ms>-<random>.ndjson`
/// — is one upload batch whose `Batch-ID` is the file name, the same on every retry and after a restart, so the
/// server can answer a re-sent batch as a duplicate. Acknowledged segments are deleted.
public final class TelemetrySpool: Sendable {
    public let directory: String
    public let limit: Int
    public let batchSize: Int
    private let logger: Logger
    private let state: Mutex<State>

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
    }

    /// One upload: a sealed segment's rows.
    public struct Batch: Sendable, Equatable {
        public var id: String
        public var body: [UInt8]
        public var rows: Int
    }

    /// Opens the spool, picking up the segments a previous run left (all of them sealed now).
    public init(directory: String, limit: Int, batchSize: Int, logger: Logger) throws(OccupantError) {
        self.directory = directory
        self.limit = limit
        self.batchSize = batchSize
        self.logger = logger
        let parent = String(directory[..<(directory.lastIndex(of: "/") ?? directory.startIndex)])
        try FileIO.makeDirectories(parent.isEmpty ? [directory] : [parent, directory])
        var sealed: [Segment] = []
        for name in FileIO.list(directory).sorted() {
            let path = directory + "/" + name
            if name.hasSuffix(".tmp") {
                FileIO.remove(path)
                continue
            }
            guard name.hasPrefix("seg-"), name.hasSuffix(".ndjson") else { continue }
            let rows = (try? FileIO.read(path))?.split(separator: UInt8(ascii: "\n")).count ?? 0
            if rows == 0 { FileIO.remove(path) } else { sealed.append(Segment(name: name, rows: rows)) }
        }
        let lastStamp = sealed.compactMap { Self.stamp(ofSegment: $0.name) }.max() ?? 0
        state = Mutex(State(sealed: sealed, lastStamp: lastStamp))
    }

    /// Queues one sample (memory only: never blocks the decision loop on the disk).
    public func append(_ sample: Sample) {
        let line = Payloads.telemetry(sample).serialized
        state.withLock { s in
            s.pending.append(line)
            // Bounded in memory too, should flushing stall.
            if s.pending.count > limit {
                let excess = s.pending.count - limit
                s.pending.removeFirst(excess)
                s.dropped += excess
            }
        }
    }

    /// Rows on disk and in memory.
    public var count: Int {
        state.withLock { s in s.pending.count + (s.open?.rows ?? 0) + s.sealed.reduce(0) { $0 + $1.rows } }
    }

    /// Oldest rows dropped to respect the limit, since start.
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// Writes pending rows to disk (fsync once), rolling to a new segment every `batchSize` rows, then drops the
    /// oldest rows beyond `limit`.
    public func flush() throws(OccupantError) {
        try state.withLock { s throws(OccupantError) in
            while !s.pending.isEmpty {
                var segment = s.open ?? Segment(name: newSegmentName(&s), rows: 0)
                let room = batchSize - segment.rows
                let rows = s.pending.prefix(room)
                let path = directory + "/" + segment.name
                let fd = try FileIO.openForAppend(path)
                defer { close(fd) }
                try FileIO.write(Array(rows.joined(separator: "\n").utf8) + [UInt8(ascii: "\n")], to: fd, path: path)
                try FileIO.sync(fd, path: path)
                if segment.rows == 0 { FileIO.syncDirectory(directory) }
                segment.rows += rows.count
                s.pending.removeFirst(rows.count)
                if segment.rows >= batchSize {
                    s.sealed.append(segment)
                    s.open = nil
                } else {
                    s.open = segment
                }
            }
            try enforceLimit(&s)
        }
        reportDrops()
    }

    /// The oldest batch to send, sealing the open segment when nothing older waits.
    public func nextBatch() throws(OccupantError) -> Batch? {
        try state.withLock { s throws(OccupantError) -> Batch? in
            if s.sealed.isEmpty, let open = s.open {
                s.sealed.append(open)
                s.open = nil
            }
            guard let first = s.sealed.first else { return nil }
            let body = try FileIO.read(directory + "/" + first.name)
            return Batch(id: String(first.name.dropLast(".ndjson".count)), body: body, rows: first.rows)
        }
    }

    /// The server has the batch (stored now or before): forget it.
    public func acknowledge(_ batch: Batch) {
        state.withLock { s in
            guard let index = s.sealed.firstIndex(where: { $0.name == batch.id + ".ndjson" }) else { return }
            FileIO.remove(directory + "/" + s.sealed[index].name)
            s.sealed.remove(at: index)
        }
    }

    private func enforceLimit(_ s: inout State) throws(OccupantError) {
        var excess = (s.open?.rows ?? 0) + s.sealed.reduce(0) { $0 + $1.rows } - limit
        while excess > 0 {
            if s.sealed.isEmpty, let open = s.open {
                s.sealed.append(open)
                s.open = nil
            }
            guard var oldest = s.sealed.first else { return }
            let path = directory + "/" + oldest.name
            if oldest.rows <= excess {
                FileIO.remove(path)
                s.sealed.removeFirst()
                excess -= oldest.rows
                s.dropped += oldest.rows
            } else {
                // Keep the newer rows of the oldest segment.
                let lines = try FileIO.read(path).split(separator: UInt8(ascii: "\n"))
                let kept = lines.dropFirst(excess)
                try FileIO.replace(path, with: Array(kept.joined(separator: [UInt8(ascii: "\n")])) + [UInt8(ascii: "\n")])
                oldest.rows = kept.count
                s.sealed[0] = oldest
                s.dropped += excess
                excess = 0
            }
        }
    }

    private func reportDrops() {
        let (dropped, newly) = state.withLock { s -> (Int, Bool) in
            defer { s.droppedReported = s.dropped }
            // Once when dropping starts, then at most every 1000 rows.
            return (s.dropped, s.dropped > s.droppedReported && (s.droppedReported == 0 || s.dropped / 1000 > s.droppedReported / 1000))
        }
        if newly {
            logger.warning("telemetry spool full (\(limit) rows): dropped the oldest, \(dropped) rows so far", metadata: ["spool.directory": "\(directory)"])
        }
    }

    /// `seg-<ms>-<random>.ndjson`, with `<ms>` strictly increasing: the wall clock, or one past the newest segment
    /// when the clock has not moved on (or went back).
    private func newSegmentName(_ s: inout State) -> String {
        let ms = max(UInt64(max(0, realtimeSeconds() * 1000)), s.lastStamp + 1)
        s.lastStamp = ms
        var digits = String(ms)
        while digits.count < 15 { digits = "0" + digits }
        return "seg-\(digits)-\(hexString(withUnsafeBytes(of: UInt64.random(in: 0...UInt64.max)) { Array($0) }).prefix(12)).ndjson"
    }

    static func stamp(ofSegment name: String) -> UInt64? {
        let parts = name.split(separator: "-")
        guard parts.count >= 3, parts[0] == "seg" else { return nil }
        return UInt64(parts[1])
    }
}
