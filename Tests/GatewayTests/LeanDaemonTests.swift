import Foundation
import Gateway
import MQTT
import OccupantCore
import OccupantTesting
import Testing

/// `occupant gateway run` runs the lean `occupant-gateway` installed beside it, in the same process (issue 16).
@Suite(.serialized) struct LeanDaemonTests {
    /// The program image a process runs now.
    func executable(of pid: Int32) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
    }

    @Test func gatewayRunExecsTheLeanDaemonInTheSameProcess() async throws {
        let broker = try await MosquittoBroker()
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/lean/#"])
        let notify = try NotifySocket()
        let gateway = try ChildProcess(
            ["gateway", "run", "--simulate", "--speed", "600", "--broker", broker.endpoint, "--gateway-id", "lean"],
            environment: ["NOTIFY_SOCKET": notify.path])
        _ = try await notify.waitFor("READY=1")
        // systemd's NotifyAccess=main: READY=1 came from the pid it started, which now runs occupant-gateway.
        #expect(try executable(of: gateway.pid).hasSuffix("/occupant-gateway"))
        try await probe.waitFor("occupant/lean/occupancy")
        gateway.signal(SIGTERM)
        _ = try await notify.waitFor("STOPPING=1")
        #expect(try await gateway.wait(timeout: 15) == 0)
        try await probe.waitFor("occupant/lean/status", timeout: 5, "offline") { $0.text == "offline" }
    }

    @Test func withoutTheLeanDaemonTheGatewayRunsInProcess() async throws {
        let broker = try await MosquittoBroker()
        let notify = try NotifySocket()
        let gateway = try ChildProcess(
            ["gateway", "--simulate", "--speed", "600", "--broker", broker.endpoint, "--gateway-id", "fat"],
            environment: ["NOTIFY_SOCKET": notify.path, "OCCUPANT_GATEWAY_IN_PROCESS": "1"])
        _ = try await notify.waitFor("READY=1")
        #expect(try executable(of: gateway.pid).hasSuffix("/occupant"))
        gateway.signal(SIGTERM)
        #expect(try await gateway.wait(timeout: 15) == 0)
    }

    @Test func theLeanDaemonReportsBadInputAsOccupantDoes() async throws {
        let lean = try occupantExecutable().deletingLastPathComponent().appendingPathComponent("occupant-gateway")
        let badBroker = try ChildProcess(["--simulate", "--broker", "nohost"], executable: lean)
        #expect(try await badBroker.wait() == 2)
        #expect(badBroker.stderr.contains("--broker: expected HOST:PORT, got 'nohost'"))
        let missing = try ChildProcess(["--config", "/nonexistent/gateway.yaml"], executable: lean)
        #expect(try await missing.wait() == 2)
        #expect(missing.stderr == "/nonexistent/gateway.yaml: cannot read the configuration: no such file\n")
        // Through occupant the same: the exec keeps the exit status and the message.
        let viaOccupant = try await ChildProcess.run(["gateway", "run", "--config", "/nonexistent/gateway.yaml"])
        #expect(viaOccupant.status == 2)
        #expect(viaOccupant.stderr == missing.stderr)
    }
}

/// The loop's own thread: jobs run there, a sleep lasts until its absolute deadline, and cancellation ends it.
@Suite struct SamplingThreadTests {
    @Test func aTaskPreferringTheThreadRunsThereAndSleepsToItsDeadline() async throws {
        let thread = SamplingThread()
        defer { thread.stop() }
        let (mainThread, onThread, slept) = await withTaskExecutorPreference(thread) {
            let start = monotonicSeconds()
            let before = pthread_self()
            thread.sleep(untilMonotonic: start + 0.05)
            return (before, pthread_self(), monotonicSeconds() - start)
        }
        #expect(mainThread == onThread)
        #expect(slept >= 0.05)
        let poolThread = await Task.detached { pthread_self() }.value
        #expect(poolThread != onThread)
    }

    @Test func cancellingTheTaskEndsItsSleep() async throws {
        let thread = SamplingThread()
        defer { thread.stop() }
        let started = AsyncStream<Void>.makeStream()
        let sleeper = Task {
            await withTaskExecutorPreference(thread) {
                started.continuation.yield()
                await withTaskCancellationHandler {
                    // An hour: only the interrupt can end this within the test's time.
                    thread.sleep(untilMonotonic: monotonicSeconds() + 3600)
                } onCancel: {
                    thread.interrupt()
                }
            }
        }
        var iterator = started.stream.makeAsyncIterator()
        _ = await iterator.next()
        sleeper.cancel()
        await sleeper.value
    }
}
