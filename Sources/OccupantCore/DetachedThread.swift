#if canImport(Glibc)
    import Glibc
#endif

/// Runs `body` once on a new detached thread (Foundation's `Thread.detachNewThread` without full Foundation), for
/// blocking calls that must stay off the cooperative pool.
public func detachThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(
        &thread, nil,
        { context in
            Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
    precondition(rc == 0, "cannot start a thread: \(rc)")
    pthread_detach(thread)
}
