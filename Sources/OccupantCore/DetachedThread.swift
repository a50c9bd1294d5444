#if canImport(Glibc)
    import Glibc
#endif

/// Runs `body` once on a new detached thread (Foundation's `Thread.detachNewThread` without full Foundation), for
/// blocking calls that must stay off the cooperative pool. `stackSize` in bytes; the C library's default otherwise.
public func detachThread(stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    if let stackSize { pthread_attr_setstacksize(&attributes, stackSize) }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(
        &thread, &attributes,
        { context in
            Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
    precondition(rc == 0, "cannot start a thread: \(rc)")
}

/// Runs CPU-bound or blocking `work` on a thread of its own and awaits its result, so the cooperative pool (one
/// thread per core) keeps serving HTTP, MQTT and timers meanwhile: a model fit, a flush stuck on a slow disk.
public func runOffThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        // 8 MiB, as a main thread: tree growth recurses.
        detachThread(stackSize: 8 << 20) {
            do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
        }
    }
}
