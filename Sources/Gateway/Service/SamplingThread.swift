import OccupantCore

#if canImport(Glibc)
    import Glibc
#endif

/// One thread that runs the gateway loop's task and sleeps between cycles to absolute `CLOCK_MONOTONIC` deadlines.
///
/// Without it each tick is a `Task.sleep`: a timer on the dispatch manager thread that wakes a cooperative-pool
/// thread to resume the loop (two thread wake-ups and the runtime's queues per tick). Here the loop's jobs run on
/// this thread (a task executor preference) and the wait is one timed wait on a condition variable with an
/// absolute deadline, which cancellation interrupts.
public final class SamplingThread: TaskExecutor, @unchecked Sendable {
    // @unchecked: every mutable field is read and written under `lock`.
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private var running = true
    private var interrupted = false

    public init() {
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        condition = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        detachThread { [self] in drain() }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(lock)
        condition.deallocate()
        lock.deallocate()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pthread_mutex_lock(lock)
        guard running else {
            pthread_mutex_unlock(lock)
            // The thread has finished: whatever still arrives runs on the global executor.
            globalConcurrentExecutor.enqueue(job)
            return
        }
        jobs.append(job)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(lock)
    }

    /// Blocks this thread until `deadline` (`monotonicSeconds()`), or until `interrupt()`. Called from the task that
    /// runs on this thread.
    public func sleep(untilMonotonic deadline: Double) {
        let seconds = deadline.rounded(.down)
        var until = timespec(tv_sec: Int(seconds), tv_nsec: Int((deadline - seconds) * 1e9))
        pthread_mutex_lock(lock)
        while !interrupted {
            // A job enqueued meanwhile also signals: it waits for the deadline like the loop does.
            if pthread_cond_timedwait(condition, lock, &until) == ETIMEDOUT { break }
        }
        pthread_mutex_unlock(lock)
    }

    /// Ends the current and every later `sleep` at once (the loop's task was cancelled).
    public func interrupt() {
        pthread_mutex_lock(lock)
        interrupted = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(lock)
    }

    /// The thread ends once the jobs queued so far have run.
    public func stop() {
        pthread_mutex_lock(lock)
        stopping = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(lock)
    }

    private func drain() {
        pthread_mutex_lock(lock)
        while true {
            if !jobs.isEmpty {
                let job = jobs.removeFirst()
                pthread_mutex_unlock(lock)
                job.runSynchronously(on: asUnownedTaskExecutor())
                pthread_mutex_lock(lock)
            } else if stopping {
                running = false
                pthread_mutex_unlock(lock)
                return
            } else {
                pthread_cond_wait(condition, lock)
            }
        }
    }
}
