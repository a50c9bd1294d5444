import OccupantTesting
import Testing

/// The `.ownThread` trait keeps a CPU-bound test off the cooperative pool; if it did not, a long fit would again
/// stall every test waiting on a broker or a socket.
@Suite("Tests on a thread of their own")
struct OwnThreadTests {
    @Test(.ownThread) func aSynchronousTestRunsOnItsOwnThread() {
        #expect(ThreadExecutor.isCurrentThreadOne)
    }

    @Test(.ownThread) func anAsynchronousTestComesBackToItsOwnThreadAfterAnAwait() async throws {
        #expect(ThreadExecutor.isCurrentThreadOne)
        try await Task.sleep(for: .milliseconds(10))
        #expect(ThreadExecutor.isCurrentThreadOne)
        let child = await Task.detached { ThreadExecutor.isCurrentThreadOne }.value
        #expect(!child)
    }

    @Test func withoutTheTraitATestRunsOnThePool() {
        #expect(!ThreadExecutor.isCurrentThreadOne)
    }
}
