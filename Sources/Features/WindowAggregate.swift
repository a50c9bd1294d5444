/// The valid samples of one numeric channel inside one time window, with the running aggregates the window's
/// features need. Every operation is O(1) amortised.
///
/// - Sums (mean, std, slope) are Neumaier-compensated and kept relative to an origin `(t0, v0)` = the oldest
///   sample at the last rebuild, so they stay small and well conditioned. They are recomputed exactly from the ring
///   whenever the evictions since the last rebuild reach the number of samples left in the window, or an eighth of
///   it while the origin lies far outside the samples' spread (each sample is therefore summed a bounded number of
///   times per eviction), and reset to exactly zero when the window empties.
/// - Maximum and minimum use monotonic deques of `(sequence number, value)`.
/// - At most `capacity` samples are held; pushing into a full window evicts its oldest sample first.
struct WindowAggregate: Sendable {
    struct Point: Sendable {
        var t: Double
        var v: Double
    }

    struct Entry: Sendable {
        var seq: Int
        var v: Double
    }

    /// What one feature reads from a window.
    enum Statistic: Sendable {
        case mean, max, min, std, delta, slope
    }

    let channel: Int
    let window: Double
    let capacity: Int
    private(set) var keepsSums = false
    private(set) var keepsExtremes = false

    private(set) var ring: Ring<Point>
    private var maxima: Ring<Entry>
    private var minima: Ring<Entry>
    /// Sequence number the next pushed sample gets; the oldest in the ring has `nextSeq - ring.count`.
    private var nextSeq = 0

    private var t0 = 0.0
    private var v0 = 0.0
    private var sumV = CompensatedSum()
    private var sumVV = CompensatedSum()
    private var sumT = CompensatedSum()
    private var sumTT = CompensatedSum()
    private var sumTV = CompensatedSum()
    private var evictionsSinceRebuild = 0
    /// Rebuilds so far (for tests and diagnostics).
    private(set) var rebuilds = 0

    init(channel: Int, window: Double, capacity: Int) {
        self.channel = channel
        self.window = window
        self.capacity = capacity
        ring = Ring(limit: capacity, filler: Point(t: 0, v: 0))
        maxima = Ring(limit: capacity, filler: Entry(seq: 0, v: 0))
        minima = Ring(limit: capacity, filler: Entry(seq: 0, v: 0))
    }

    /// Turns on the state a statistic needs. Called while compiling the schema, before any sample.
    mutating func require(_ statistic: Statistic) {
        switch statistic {
        case .mean: keepsSums = true
        // Std and slope keep extremes too: a window whose values are all equal reports exactly 0.
        case .std, .slope:
            keepsSums = true
            keepsExtremes = true
        case .max, .min: keepsExtremes = true
        case .delta: break
        }
    }

    /// Adds a valid sample; `t` is never earlier than the newest sample already held.
    mutating func push(t: Double, v: Double) {
        if ring.count == capacity { evictOldest() }
        if ring.isEmpty {
            resetSums()
            t0 = t
            v0 = v
        }
        ring.pushBack(Point(t: t, v: v))
        let seq = nextSeq
        nextSeq += 1
        if keepsSums { addToSums(t: t, v: v, sign: 1) }
        if keepsExtremes {
            while let back = maxima.last, back.v <= v { maxima.popBack() }
            maxima.pushBack(Entry(seq: seq, v: v))
            while let back = minima.last, back.v >= v { minima.popBack() }
            minima.pushBack(Entry(seq: seq, v: v))
        }
    }

    /// Drops samples at or before `now - window`, then rebuilds or resets the sums when due.
    mutating func advance(to now: Double) {
        let cutoff = now - window
        while let oldest = ring.first, oldest.t <= cutoff { evictOldest() }
        maintain()
    }

    private mutating func evictOldest() {
        let seq = nextSeq - ring.count
        let p = ring.popFront()
        if keepsSums { addToSums(t: p.t, v: p.v, sign: -1) }
        if keepsExtremes {
            if let front = maxima.first, front.seq == seq { maxima.popFront() }
            if let front = minima.first, front.seq == seq { minima.popFront() }
        }
        evictionsSinceRebuild += 1
    }

    private mutating func maintain() {
        guard keepsSums else { return }
        if ring.isEmpty {
            resetSums()
        } else if evictionsSinceRebuild >= ring.count
            || (evictionsSinceRebuild * 8 >= ring.count && isBadlyCentred)
        {
            rebuildSums()
        }
    }

    /// Whether the origin has fallen far outside the samples' own spread (e.g. a few samples left after a gap), which
    /// would make `Σx² − (Σx)²/n` cancel badly. Rebuilding re-centres on the oldest sample.
    private var isBadlyCentred: Bool {
        guard let first = ring.first, let last = ring.last else { return false }
        if first.t - t0 > 4 * (last.t - first.t) { return true }
        if keepsExtremes, let hi = maxima.first?.v, let lo = minima.first?.v {
            return Swift.max(abs(hi - v0), abs(lo - v0)) > 4 * (hi - lo)
        }
        return false
    }

    @inline(__always)
    private mutating func addToSums(t: Double, v: Double, sign: Double) {
        let dt = t - t0
        let dv = v - v0
        sumV.add(sign * dv)
        sumVV.add(sign * (dv * dv))
        sumT.add(sign * dt)
        sumTT.add(sign * (dt * dt))
        sumTV.add(sign * (dt * dv))
    }

    private mutating func resetSums() {
        sumV.reset()
        sumVV.reset()
        sumT.reset()
        sumTT.reset()
        sumTV.reset()
        evictionsSinceRebuild = 0
    }

    private mutating func rebuildSums() {
        resetSums()
        guard let oldest = ring.first else { return }
        t0 = oldest.t
        v0 = oldest.v
        for i in 0..<ring.count {
            let p = ring[i]
            addToSums(t: p.t, v: p.v, sign: 1)
        }
        rebuilds += 1
    }

    /// The statistic over the samples currently held; NaN when it is undefined (see `FeaturePipeline`).
    ///
    /// `mutating` only so that `windows[i].value(…)` is evaluated in place instead of on a copy of the window;
    /// it changes nothing.
    mutating func value(_ statistic: Statistic) -> Double {
        let n = ring.count
        guard n > 0 else { return .nan }
        switch statistic {
        case .max:
            return maxima.first?.v ?? .nan
        case .min:
            return minima.first?.v ?? .nan
        case .mean:
            return v0 + sumV.value / Double(n)
        case .std:
            if let hi = maxima.first, let lo = minima.first, hi.v == lo.v { return 0 }
            let count = Double(n)
            let s = sumV.value
            let variance = (sumVV.value - s * s / count) / count
            return variance > 0 ? variance.squareRoot() : 0
        case .delta:
            guard n >= 2, let first = ring.first, let last = ring.last else { return .nan }
            return last.v - first.v
        case .slope:
            guard n >= 2, let first = ring.first, let last = ring.last, last.t > first.t else { return .nan }
            if let hi = maxima.first, let lo = minima.first, hi.v == lo.v { return 0 }
            let count = Double(n)
            let st = sumT.value
            let sxx = sumTT.value - st * st / count
            let sxy = sumTV.value - st * sumV.value / count
            guard sxx > 0 else { return .nan }
            return sxy / sxx
        }
    }

    /// Empties the window, keeping its storage.
    mutating func removeAll() {
        ring.removeAll()
        maxima.removeAll()
        minima.removeAll()
        resetSums()
    }

    /// Slots allocated across the ring and deques.
    var storageCapacity: Int { ring.storageCapacity + maxima.storageCapacity + minima.storageCapacity }
}
