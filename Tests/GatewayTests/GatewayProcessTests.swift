import Foundation
import MQTT
import OccupantTesting
import Testing

/// The `occupant` binary as a child process against a real mosquitto, checked from a subscriber.
@Suite(.serialized) struct GatewayProcessTests {
    func startGateway(_ broker: MosquittoBroker, id: String, extra: [String] = [], environment: [String: String] = [:])
        throws -> ChildProcess
    {
        try ChildProcess(
            ["gateway", "run", "--simulate", "--speed", "600", "--broker", broker.endpoint, "--gateway-id", id] + extra,
            environment: environment)
    }

    @Test func publishesStateDiscoveryAndGoesOfflineWhenKilled() async throws {
        let broker = try await MosquittoBroker()
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/#", "homeassistant/#"])
        let notify = try NotifySocket()
        let gateway = try startGateway(
            broker, id: "e2e", environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "2000000"])
        _ = try await notify.waitFor("READY=1")
        _ = try await notify.waitFor("WATCHDOG=1")

        try await probe.waitFor(
            "occupant/e2e/status", where: { $0.text == "online" && $0.retain == false || $0.text == "online" })
        let first = try await probe.waitFor("occupant/e2e/occupancy")
        let object = try #require(jsonObject(first))
        #expect(object["decidedBy"] as? String == "rule:sound>10")
        #expect(object["at"] is String)
        #expect((object["inputs"] as? [String: Any])?["sound"] != nil)
        try await probe.waitFor("homeassistant/binary_sensor/occupant_e2e/occupancy/config")
        try await probe.waitFor("occupant/e2e/telemetry")

        // The simulated day (600× real time) brings both states within seconds.
        try await probe.waitFor("occupant/e2e/occupancy", timeout: 30, "occupied") {
            jsonObject($0)?["roomOccupancy"] as? Bool == true
        }
        try await probe.waitFor("occupant/e2e/occupancy", timeout: 30, "vacant") {
            jsonObject($0)?["roomOccupancy"] as? Bool == false
        }

        // Killed without a chance to say goodbye: the broker publishes the last will.
        gateway.signal(SIGKILL)
        _ = try? await gateway.wait(timeout: 10)
        try await probe.waitFor("occupant/e2e/status", timeout: 15, "offline (last will)") { $0.text == "offline" }

        // A late subscriber sees the retained offline status and the last decision.
        let late = try await MQTTProbe(
            port: broker.port, subscriptions: ["occupant/e2e/status", "occupant/e2e/occupancy"])
        #expect(try await late.waitFor("occupant/e2e/status").text == "offline")
        #expect(try await late.waitFor("occupant/e2e/occupancy").retain)
    }

    @Test func sigtermPublishesOfflineAndExitsCleanly() async throws {
        let broker = try await MosquittoBroker()
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/term/status"])
        let notify = try NotifySocket()
        let gateway = try startGateway(broker, id: "term", environment: ["NOTIFY_SOCKET": notify.path])
        _ = try await notify.waitFor("READY=1")
        try await probe.waitFor("occupant/term/status", where: { $0.text == "online" })
        gateway.signal(SIGTERM)
        _ = try await notify.waitFor("STOPPING=1")
        #expect(try await gateway.wait(timeout: 15) == 0)
        try await probe.waitFor("occupant/term/status", timeout: 5, "offline") { $0.text == "offline" }
    }

    @Test func reannouncesWhenHomeAssistantComesOnline() async throws {
        let broker = try await MosquittoBroker()
        let gateway = try startGateway(broker, id: "ha")
        defer { gateway.signal(SIGKILL) }
        let probe = try await MQTTProbe(
            port: broker.port, subscriptions: ["homeassistant/binary_sensor/#", "occupant/ha/occupancy"])
        try await probe.waitFor("homeassistant/binary_sensor/occupant_ha/occupancy/config") // retained copy
        try await probe.waitFor("occupant/ha/occupancy")
        let before = probe.messages.count
        try probe.publish(MQTTMessage(topic: "homeassistant/status", text: "online"))
        let again = try await probe.waitFor(
            "homeassistant/binary_sensor/occupant_ha/occupancy/config", timeout: 10, after: before)
        #expect(!again.retain) // a live re-send, not the broker's retained copy
        try await probe.waitFor("occupant/ha/occupancy", timeout: 10, after: before)
    }

    @Test func survivesABrokerRestartAndPublishesStateAgain() async throws {
        let broker = try await MosquittoBroker()
        let gateway = try startGateway(broker, id: "restart", extra: ["--log-level", "info"])
        defer { gateway.signal(SIGKILL) }
        do {
            let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/restart/#"])
            try await probe.waitFor("occupant/restart/occupancy")
        }
        broker.stop()
        try await Task.sleep(for: .microseconds(3_000_000)) // the gateway keeps deciding while the broker is away
        #expect(gateway.isRunning)
        try await broker.start()
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/restart/#"])
        // mosquitto was restarted without persistence: anything retained now was published after the restart.
        try await probe.waitFor("occupant/restart/status", timeout: 30, "online again") { $0.text == "online" }
        try await probe.waitFor("occupant/restart/occupancy", timeout: 30)
        #expect(gateway.isRunning)
        #expect(gateway.stderr.contains("MQTT connection lost") || gateway.stderr.contains("unreachable"))
        #expect(gateway.stderr.contains("reconnected to MQTT broker"))
    }

    @Test func unreachableBrokerIsReportedOnceAndDecidingContinues() async throws {
        let port = try freeLoopbackPort()
        let notify = try NotifySocket()
        let gateway = try ChildProcess(
            [
                "gateway", "run", "--simulate", "--speed", "600", "--broker", "127.0.0.1:\(port)", "--gateway-id",
                "lonely",
            ],
            environment: ["NOTIFY_SOCKET": notify.path])
        defer { gateway.signal(SIGKILL) }
        _ = try await notify.waitFor("READY=1") // ready while MQTT retries
        _ = try await waitUntil(timeout: 20, "unreachable warning") {
            gateway.stderr.contains("unreachable") ? true : nil
        }
        let first = try await waitUntil(timeout: 20, "a decision logged") {
            let n = gateway.stderr.components(separatedBy: "decision:").count - 1
            return n > 0 ? n : nil
        }
        // More decisions (and libmosquitto's reconnect attempts between them), still one warning.
        _ = try await waitUntil(timeout: 60, "four more decisions") {
            gateway.stderr.components(separatedBy: "decision:").count - 1 >= first + 4 ? true : nil
        }
        let warnings = gateway.stderr.components(separatedBy: "unreachable").count - 1
        #expect(warnings == 1)
    }
}

/// Bad input to the command line: a one-line message naming the problem, exit status 2.
@Suite struct GatewayCommandLineTests {
    @Test func badConfigurationExitsWithStatus2AndNamesTheKey() async throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("gateway.yaml").path
        try "decision:\n  treshold: 12\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await ChildProcess.run(["gateway", "run", "--config", path, "--simulate"])
        #expect(result.status == 2)
        #expect(result.stderr == "\(path):2: decision.treshold: unknown key 'treshold' (did you mean 'threshold'?)\n")
    }

    @Test func missingConfigurationFile() async throws {
        let result = try await ChildProcess.run(["gateway", "run", "--config", "/nonexistent/gateway.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr == "/nonexistent/gateway.yaml: cannot read the configuration: no such file\n")
    }

    @Test func unknownProfile() async throws {
        let result = try await ChildProcess.run(["gateway", "run", "--simulate", "--profile", "nope"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: profile 'nope' not found"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func badBrokerFlag() async throws {
        let result = try await ChildProcess.run(["gateway", "run", "--simulate", "--broker", "nohost"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--broker: expected HOST:PORT, got 'nohost'"))
    }

    @Test func profileValidateReportsEveryProblem() async throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("bad.yaml").path
        try "name: bad\ndevices:\n  - name: a\n    address: 0x99\n    read: { length: 1 }\nchannels: []\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let result = try await ChildProcess.run(["profile", "validate", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(path):4: devices[0].address: 0x99 is out of range 0x03…0x77"))
        #expect(result.stderr.contains("\(path):6: channels: a profile needs at least one channel"))
        let good = try await ChildProcess.run([
            "profile", "validate", packageRootPath("firmware-profiles/thermostat-mcu.yaml"),
        ])
        #expect(good.status == 0)
    }

    @Test func profileValidateTakesAProfileNameAsOtherCommandsDo() async throws {
        let good = try await ChildProcess.run(["profile", "validate", "thermostat-mcu"])
        #expect(good.status == 0, "stderr: \(good.stderr)")
        #expect(good.stdout.contains("firmware-profiles/thermostat-mcu.yaml: ok — thermostat-mcu"))
        let missing = try await ChildProcess.run(["profile", "validate", "nope"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("profile 'nope' not found: looked for nope.yaml in "))
        #expect(missing.stderr.contains("/etc/occupant/firmware-profiles"))
    }

    /// A copied (installed) binary finds the profiles shipped next to it in `../share/occupant/firmware-profiles`,
    /// and says where it looked when they are not there.
    @Test func anInstalledBinaryFindsItsProfiles() async throws {
        let prefix = try temporaryDirectory()
        let bin = prefix.appendingPathComponent("bin")
        let share = prefix.appendingPathComponent("share/occupant/firmware-profiles")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let executable = bin.appendingPathComponent("occupant")
        try FileManager.default.copyItem(at: try occupantExecutable(), to: executable)

        let unset = ["OCCUPANT_PROFILES": ""]
        let before = try ChildProcess(
            ["profile", "validate", "thermostat-mcu"], environment: unset, executable: executable)
        #expect(try await before.wait() == 2)
        #expect(before.stderr.contains("looked for thermostat-mcu.yaml in "))
        #expect(before.stderr.contains(share.path))
        #expect(before.stderr.contains("OCCUPANT_PROFILES is not set"))

        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: packageRootPath("firmware-profiles/thermostat-mcu.yaml"),
            toPath: share.appendingPathComponent("thermostat-mcu.yaml").path)
        let after = try ChildProcess(
            ["profile", "validate", "thermostat-mcu"], environment: unset, executable: executable)
        #expect(try await after.wait() == 0, "stderr: \(after.stderr)")
        #expect(after.stdout.contains("\(share.path)/thermostat-mcu.yaml: ok"))
    }
}
