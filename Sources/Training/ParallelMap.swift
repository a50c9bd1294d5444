import Foundation
import Synchronization

/// Runs `body(0..<count)` on `workers` threads (each thread takes the next index when it is free) and returns
/// the results in index order, so the outcome does not depend on scheduling.
func parallelMap<R: Sendable>(
    _ count: Int, workers: Int, _ body: @Sendable @escaping (Int) -> R
) -> [R] {
    guard count > 0 else { return [] }
    let next = Atomic<Int>(0)
    let results = Mutex<[R?]>([R?](repeating: nil, count: count))
    let threads = max(1, min(workers, count))
    let done = DispatchSemaphore(value: 0)
    let work: @Sendable () -> Void = {
        while true {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= count { break }
            let r = body(i)
            results.withLock { $0[i] = r }
        }
        done.signal()
    }
    for _ in 1..<threads {
        let thread = Thread(block: work)
        thread.stackSize = 8 << 20
        thread.start()
    }
    work()
    for _ in 0..<threads { done.wait() }
    return results.withLock { $0.map { $0! } }
}
