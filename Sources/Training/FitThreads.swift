import Foundation
import Synchronization

/// The threads one gradient-boosting fit spreads its row loops, partitions and histograms over, and the scratch
/// its histograms are summed in (kept for the whole fit, not allocated per node).
///
/// A fit's result never depends on `count`: every loop either writes each row's own slot (gradients, margins,
/// partitions of disjoint nodes), or — histograms — cuts a node's rows into blocks by the node's row count alone
/// (`blocks(rows:)`), sums each block in row order into its own histogram and adds the blocks' histograms in block
/// order. One thread and eight threads therefore add the same numbers in the same order. (Splitting the features
/// across threads instead, which keeps every sum in row order, measured slower here: 14.2 s against 11.2 s for the
/// 1,000,000-row fit on 2 threads, with only five features to share out.)
final class FitThreads: @unchecked Sendable {
    // @unchecked Sendable: `scratch` is resized only between parallel runs (by the fit's own thread); inside a run
    // every task writes only its own block's slice of it.

    /// Threads a parallel loop uses (1: everything on the calling thread).
    let count: Int
    private var scratch: UnsafeMutableBufferPointer<Double>

    /// A node's rows are cut into blocks of at least this many rows…
    static let blockRows = 16_384
    /// …and at most this many blocks (enough to keep 16 threads busy; each costs a histogram of scratch).
    static let maximumBlocks = 16

    init(count: Int) {
        precondition(count >= 1, "at least one thread")
        self.count = count
        scratch = .allocate(capacity: 0)
    }

    deinit { scratch.deallocate() }

    /// The available cores (the default thread count of a single fit).
    static var availableCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// How many blocks a histogram over `rows` rows is summed in (a function of the row count only).
    static func blocks(rows: Int) -> Int {
        rows < 2 * blockRows ? 1 : min(maximumBlocks, rows / blockRows)
    }

    /// Block `b` of `blocks` equal parts of `range`.
    static func block(_ b: Int, of blocks: Int, in range: Range<Int>) -> Range<Int> {
        let n = range.count
        return (range.lowerBound + n * b / blocks)..<(range.lowerBound + n * (b + 1) / blocks)
    }

    /// At least `capacity` doubles of scratch (contents undefined). Grows outside parallel runs only.
    func scratch(capacity: Int) -> UnsafeMutableBufferPointer<Double> {
        if scratch.count < capacity {
            scratch.deallocate()
            scratch = .allocate(capacity: capacity)
        }
        return scratch
    }

    /// Runs `body(i)` for every `i` in `0..<tasks` on up to `count` threads (each takes the next task when it is
    /// free) and returns when all are done. Tasks must write disjoint memory.
    func run(_ tasks: Int, _ body: (Int) -> Void) {
        let width = min(count, tasks)
        guard width > 1 else {
            for i in 0..<tasks { body(i) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            // The tasks' memory safety is the caller's contract (disjoint writes); `run` returns only after all.
            let body = Unchecked(body)
            DispatchQueue.concurrentPerform(iterations: width) { _ in
                while true {
                    let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if i >= tasks { break }
                    body.value(i)
                }
            }
        }
    }

    /// Runs `body(range)` over `0..<n` cut into about `count` × 4 ranges (one range when `n` is small or there is
    /// one thread). For loops where each index writes only its own slot.
    func forEachRange(_ n: Int, _ body: (Range<Int>) -> Void) {
        guard count > 1, n >= 2 * Self.blockRows else {
            body(0..<n)
            return
        }
        let parts = count * 4
        run(parts) { i in body(Self.block(i, of: parts, in: 0..<n)) }
    }
}

/// A value handed to `FitThreads.run`'s tasks (buffers, pointers) that the compiler cannot check.
struct Unchecked<Value>: @unchecked Sendable {
    // @unchecked Sendable: `run`'s tasks read shared inputs and write disjoint parts of the buffers they are given.
    var value: Value
    init(_ value: Value) { self.value = value }
}
