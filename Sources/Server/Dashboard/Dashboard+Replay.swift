import Evaluator
import Features
import Foundation
import OccupantCore
import Synchronization

/// The Gateway screen's replay, hour by hour, and a bounded in-process cache of each hour's result.
///
/// A span decided by one bundle is replayed one UTC hour at a time: each hour reads the telemetry rows from
/// `ModelRegistry.leadIn(bundle)` before it (the feature windows and the hysteresis settle on them, as realised
/// accuracy replays a run of windows) to its end, through the bundle's features, model, threshold and hysteresis. An
/// hour's result therefore depends only on the bundle and those rows — not on the span around it — so when the span
/// moves on, every hour but the new ones is what it was.
///
/// The cache keeps an hour's result under (gateway, bundle SHA-256, the hour's bounds) with a digest of the rows it was
/// replayed on. Every render reads the span's rows from the store (the channel plots draw them too) and replays again
/// any hour whose rows differ from the cached digest: telemetry uploaded late (a gateway's spool after an outage),
/// through this process or another one on the same PostgreSQL, changes the digest of the hours it lands in and of the
/// hours whose lead-in it falls in. Labels are not part of the replay (the screen reads them every time).
extension Dashboard {
    /// The length of a replayed piece.
    static let replayHour = 3600.0

    /// One hour's replay: the rows at or after its start, each row's probability (NaN where the model could not
    /// score it) and the state after threshold and hysteresis (nil where unscored).
    struct ReplayedHour: Sendable, Equatable {
        var times: [Double] = []
        var probabilities: [Double] = []
        var states: [Bool?] = []

        /// What it holds in memory, roughly.
        var bytes: Int { 64 + times.count * 17 }
    }

    /// A segment's hours: each hour's bounds (clipped to the segment) and its replay, nil where it could not be
    /// replayed (no rows, or a channel the bundle reads missing from them).
    struct ReplayedSegment {
        var hours: [(from: Double, to: Double, replay: ReplayedHour?)] = []
    }

    /// Replays `[from, to)` of `rows` (one gateway's, in time order; `digests` each row's `ReplayCache.digest`) with
    /// `bundle` (`sha256`) hour by hour, from the cache where an hour's rows are unchanged.
    func replay(
        gateway: String, bundle: ModelBundle, sha256: String, rows: [TelemetryRow], digests: [Int], from: Double,
        to: Double
    ) throws -> ReplayedSegment {
        let lead = ModelRegistry.leadIn(bundle)
        var segment = ReplayedSegment()
        var hour = (from / Self.replayHour).rounded(.down) * Self.replayHour
        while hour < to {
            let start = max(hour, from)
            let end = min(hour + Self.replayHour, to)
            hour += Self.replayHour
            guard end > start else { continue }
            let first = TrainingData.lowerBound(rows, start - lead)
            let last = TrainingData.lowerBound(rows, end)
            let key = ReplayCache.Key(gateway: gateway, sha256: sha256, from: start, to: end)
            let digest = ReplayCache.combine(digests[first..<last])
            if let cached = replayCache.value(key, digest: digest) {
                segment.hours.append((start, end, cached.replay))
                continue
            }
            let replayed = try Self.replayHour(bundle: bundle, rows: rows[first..<last], from: start)
            replayCache.store(key, digest: digest, replayed)
            segment.hours.append((start, end, replayed))
        }
        return segment
    }

    /// What `ModelRegistry.replay(bundle:rows:labels: [])` finds for `rows`, kept for the rows at or after `from`;
    /// nil where it finds nothing. Fed to the bundle's pipeline row by row instead of through a table: no table, no
    /// feature matrix, one probability at a time.
    static func replayHour(bundle: ModelBundle, rows: ArraySlice<TelemetryRow>, from: Double) throws
        -> ReplayedHour?
    {
        guard !rows.isEmpty else { return nil }
        // The table's channels and kinds, as `TrainingData.table` decides them: a channel with readings of both
        // kinds (an older server did not check kinds at intake) makes it skip rows — left to the table.
        var numbers = Set<String>()
        var texts = Set<String>()
        var names = Set<String>()
        for row in rows {
            for (name, value) in row.readings {
                names.insert(name)
                switch value {
                case .number?: numbers.insert(name)
                case .category?: texts.insert(name)
                case nil: break
                }
            }
        }
        guard numbers.isDisjoint(with: texts) else { return try tableReplay(bundle: bundle, rows: rows, from: from) }
        guard bundle.manifest.features.channels.allSatisfy(names.contains) else { return nil }
        let policy = bundle.manifest.policy
        var pipeline = try FeaturePipeline(schema: bundle.manifest.features)
        var hysteresis = Hysteresis(occupiedAfter: policy.occupiedAfter, vacantAfter: policy.vacantAfter)
        var out = ReplayedHour()
        for row in rows {
            let at = Instant(seconds: row.at)
            pipeline.update(at: at, values: row.readings)
            let p = pipeline.withValues { bundle.probability($0) }
            let state = p.isNaN ? nil : hysteresis.update(raw: p >= policy.threshold, at: at)
            guard row.at >= from else { continue }
            out.times.append(row.at)
            out.probabilities.append(p)
            out.states.append(state)
        }
        return out
    }

    /// `replayHour` through `ModelRegistry.replay` (the table the realised accuracy builds).
    static func tableReplay(bundle: ModelBundle, rows: ArraySlice<TelemetryRow>, from: Double) throws -> ReplayedHour? {
        guard let (table, p, states) = try ModelRegistry.replay(bundle: bundle, rows: Array(rows), labels: []) else {
            return nil
        }
        var out = ReplayedHour()
        for r in 0..<table.count where table.times[r].seconds >= from {
            out.times.append(table.times[r].seconds)
            out.probabilities.append(p[r])
            out.states.append(states[r])
        }
        return out
    }

    /// The bundle `model` (`model:<id>@<version>`) of `scope` and its SHA-256, nil when the registry has no such
    /// version or cannot read it. Decoded once per SHA-256 (content-addressed, so never stale); one row read per call.
    func replayBundle(scope: String, model: (id: String, version: Int, text: String)) async throws -> (
        bundle: ModelBundle, sha256: String
    )? {
        guard let record = try await store.model(scope: scope, version: model.version), record.modelID == model.id
        else { return nil }
        if let bundle = replayCache.bundle(record.sha256) { return (bundle, record.sha256) }
        guard let bytes = try? registry.artifacts.get(sha256: record.sha256),
            let bundle = try? ModelBundle.decode(bytes)
        else {
            // The registry's reading logs why.
            return try await registry.bundle(scope: scope, id: model.id, version: model.version).map {
                (bundle: $0, sha256: record.sha256)
            }
        }
        replayCache.keep(bundle, sha256: record.sha256)
        return (bundle, record.sha256)
    }
}

/// Each replayed hour of the Gateway screen (`Dashboard.replay`), under its key with the digest of the rows it read,
/// evicting the least recently used hours beyond `capacity` bytes; and the bundles replayed, by SHA-256.
final class ReplayCache: Sendable {
    struct Key: Hashable, Sendable {
        var gateway: String
        var sha256: String
        var from: Double
        var to: Double
    }

    struct Entry: Sendable {
        var digest: Int
        var replay: Dashboard.ReplayedHour?
        var used: UInt64
        var bytes: Int
    }

    struct Counts: Sendable, Equatable {
        var hits = 0
        var misses = 0
        var hours = 0
        var bytes = 0
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        var tick: UInt64 = 0
        var hits = 0
        var misses = 0
        var bundles: [(sha256: String, bundle: ModelBundle)] = []
    }

    /// Bytes of replayed hours kept; 0 keeps none.
    let capacity: Int
    /// Decoded bundles kept.
    static let bundles = 8
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The cached hour under `key` when it was replayed on rows with this digest; nil (a miss) otherwise.
    func value(_ key: Key, digest: Int) -> Entry? {
        state.withLock { s in
            guard var entry = s.entries[key], entry.digest == digest else {
                s.misses += 1
                return nil
            }
            s.hits += 1
            s.tick += 1
            entry.used = s.tick
            s.entries[key] = entry
            return entry
        }
    }

    func store(_ key: Key, digest: Int, _ replay: Dashboard.ReplayedHour?) {
        let bytes = 128 + key.gateway.utf8.count + (replay?.bytes ?? 0)
        guard bytes <= capacity else { return }
        state.withLock { s in
            s.tick += 1
            if let old = s.entries.updateValue(
                .init(digest: digest, replay: replay, used: s.tick, bytes: bytes), forKey: key)
            {
                s.bytes -= old.bytes
            }
            s.bytes += bytes
            guard s.bytes > capacity else { return }
            // Down to three quarters, least recently used first: an eviction pass per many stores, not per store.
            for (key, entry) in s.entries.sorted(by: { $0.value.used < $1.value.used }) {
                guard s.bytes > capacity / 4 * 3 else { break }
                s.entries[key] = nil
                s.bytes -= entry.bytes
            }
        }
    }

    var counts: Counts {
        state.withLock { .init(hits: $0.hits, misses: $0.misses, hours: $0.entries.count, bytes: $0.bytes) }
    }

    func bundle(_ sha256: String) -> ModelBundle? {
        state.withLock { s in s.bundles.first { $0.sha256 == sha256 }?.bundle }
    }

    func keep(_ bundle: ModelBundle, sha256: String) {
        guard capacity > 0 else { return }
        state.withLock { s in
            s.bundles.removeAll { $0.sha256 == sha256 }
            s.bundles.append((sha256, bundle))
            if s.bundles.count > Self.bundles { s.bundles.removeFirst() }
        }
    }

    /// A row's digest: its time and every reading, bit for bit (the order of the readings does not matter).
    static func digest(_ row: TelemetryRow) -> Int {
        var readings = 0
        for (name, value) in row.readings {
            var h = Hasher()
            h.combine(name)
            switch value {
            case .number(let n)?:
                h.combine(1 as UInt8)
                h.combine(n.bitPattern)
            case .category(let text)?:
                h.combine(2 as UInt8)
                h.combine(text)
            case nil: h.combine(0 as UInt8)
            }
            readings &+= h.finalize()
        }
        var h = Hasher()
        h.combine(row.at.bitPattern)
        h.combine(readings)
        return h.finalize()
    }

    /// The digest of a run of rows (their digests in order; the count included).
    static func combine(_ digests: ArraySlice<Int>) -> Int {
        var h = Hasher()
        h.combine(digests.count)
        for d in digests { h.combine(d) }
        return h.finalize()
    }
}
