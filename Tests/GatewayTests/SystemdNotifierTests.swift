import OccupantTesting
import Testing

@testable import Gateway

@Suite struct SystemdNotifierTests {
    @Test func sendsDatagramsToNotifySocket() async throws {
        let socket = try NotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "4000000"])
        #expect(notifier.watchdogInterval == 2)
        notifier.ready(status: "sampling")
        let seen = try await socket.waitFor("READY=1", timeout: 5)
        #expect(seen.last == "READY=1\nSTATUS=sampling")
        notifier.watchdog()
        _ = try await socket.waitFor("WATCHDOG=1", timeout: 5)
        notifier.stopping()
        _ = try await socket.waitFor("STOPPING=1", timeout: 5)
    }

    @Test func silentWithoutNotifySocket() async {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(!notifier.send("READY=1"))
        #expect(notifier.watchdogInterval == nil)
    }

    @Test func watchdogForAnotherPIDIsIgnored() async {
        let notifier = SystemdNotifier(environment: [
            "NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1",
        ])
        #expect(notifier.watchdogInterval == nil)
    }
}
