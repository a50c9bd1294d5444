import Hummingbird
import Logging
import OccupantTesting
import ServiceLifecycle

/// Serves `router` on a free loopback port for the length of `body`, then shuts it down gracefully, on success and
/// on error alike. Cancelling the serving task instead can trap in NIO ("Deinited NIOAsyncWriter without calling
/// finish()") when a connection was accepted but not yet served, as a server retrying a webhook's POST does
/// (swift-nio #3481; it crashed the full test run, December 2026).
func withLoopbackApp<Value>(
    _ router: Router<BasicRequestContext>, _ body: (_ port: Int) async throws -> Value
) async throws -> Value {
    let port = try freeLoopbackPort()
    let logger = Logger(label: "loopback-app")
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
    let group = ServiceGroup(services: [app], logger: logger)
    let serving = Task { try await group.run() }
    let outcome: Result<Value, any Error>
    do {
        try await waitUntil(timeout: 10, "the app on port \(port) listens") { canConnect(port: port) ? true : nil }
        outcome = .success(try await body(port))
    } catch {
        outcome = .failure(error)
    }
    await group.triggerGracefulShutdown()
    _ = try? await serving.value
    return try outcome.get()
}
