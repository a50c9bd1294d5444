#if canImport(Glibc)
    import Glibc
#endif

/// A mutex with a condition variable (Foundation's `NSCondition` without full Foundation): `lock()`, `wait()`
/// (which unlocks while it waits), `broadcast()`, `unlock()`.
public final class ThreadCondition: @unchecked Sendable {
    // @unchecked: the pthread objects are made for use from several threads; they never move (allocated once).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    /// Waits for a `signal()` or `broadcast()`; call with the lock held, in a loop that checks the predicate.
    public func wait() { pthread_cond_wait(condition, mutex) }
    public func signal() { pthread_cond_signal(condition) }
    public func broadcast() { pthread_cond_broadcast(condition) }
}
