import OccupantCore
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `@Suite(.ownThread)`: each test of the suite runs on a thread of its own instead of the cooperative pool.
///
/// For CPU-bound tests (fits, reference feature computations, forest parity). Swift Testing runs a synchronous
/// test on a cooperative-pool thread, and the pool has one thread per core: on a 2-core machine two such tests
/// held both threads for tens of seconds, and every other test waiting on a `Task.sleep`, a broker or a socket was
/// stalled with them until its harness wait ran out (the full run, December 2026). On a thread of its own a long
/// test is time-sliced by the kernel like any process, and the pool stays free. Task-locals (the current test, so
/// `#expect` is attributed) go with the task.
public struct OwnThreadTrait: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard testCase != nil else { return try await function() }
        let executor = ThreadExecutor()
        defer { executor.finish() }
        try await withTaskExecutorPreference(executor) { try await function() }
    }
}

extension Trait where Self == OwnThreadTrait {
    /// Runs each test on a thread of its own, off the cooperative pool (see `OwnThreadTrait`).
    public static var ownThread: Self { Self() }
}

/// A task executor with one thread: jobs run in the order they arrive. The thread starts with the first job and
/// ends once `finish()` was called and no job is left; a job that still arrives after that starts it again, so no
/// job is ever stranded.
public final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs`, `running` and `finished` are only touched with `condition` locked.
    private let condition = ThreadCondition()
    private var jobs: [UnownedJob] = []
    private var running = false
    private var finished = false

    public init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        let start = !running
        running = true
        condition.signal()
        condition.unlock()
        if start { detachThread(stackSize: 8 << 20) { self.run() } }
    }

    /// Lets the thread end when its queue is empty.
    public func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// Whether the calling thread is one of these executors' threads.
    public static var isCurrentThreadOne: Bool {
        let me = UInt(bitPattern: Int(pthread_self()))
        return ownThreads.withLock { $0.contains(me) }
    }

    private static let ownThreads = Mutex<Set<UInt>>([])

    private func run() {
        let me = UInt(bitPattern: Int(pthread_self()))
        Self.ownThreads.withLock { _ = $0.insert(me) }
        defer { Self.ownThreads.withLock { _ = $0.remove(me) } }
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            if jobs.isEmpty {
                running = false
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
