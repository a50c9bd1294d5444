import FleetProtocol
import Foundation
import Logging
import MQTT
import OccupantCore
import OccupantTesting
import Server
import Testing

/// The poisoning attempts of issue 11 against a real mosquitto run with the files `occupant server broker-config`
/// writes: anonymous clients are refused, a gateway cannot publish for another or read another's model
/// announcements, and the legitimate gateway and server still work through the ACL.
@Suite(.serialized) struct BrokerAccessTests {
    /// A secured broker, the server's configuration and store, and the server's MQTT side running in this process.
    final class SecuredRig: Sendable {
        let dir: URL
        let broker: MosquittoBroker
        let config: ServerConfig
        let store: SQLiteStore
        let mqtt: ServerMQTT
        let task: Task<Void, any Error>

        init(_ name: String) async throws {
            dir = try temporaryDirectory(name)
            let port = try freeLoopbackPort()
            config = try ServerConfig.parse(
                yaml: """
                    broker: { host: 127.0.0.1, port: \(port), username: occupant-server, password: server-secret, \
                    clientId: server-\(name) }
                    gateways:
                      - { id: gw-a, scope: office, token: token-a }
                      - { id: gw-b, scope: office, token: token-b }
                    """)
            let files = try BrokerFiles.make(
                config: config, viewer: .init(username: "viewer", password: "viewer-secret"), directory: dir.path)
            try files.write(to: dir.path)
            broker = try await MosquittoBroker(
                port: port,
                access: .init(passwordFile: dir.path + "/passwords", aclFile: dir.path + "/acl"))
            store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path)
            mqtt = try ServerMQTT(config: config, store: store, logger: Logger(label: "server-mqtt"))
            let mqtt = self.mqtt
            task = Task { try await mqtt.run() }
            // Subscribed once the broker logs the last of the server's subscriptions.
            try await waitUntil(timeout: 20, "the server's subscriptions") {
                broker.log.contains("occupant/+/model/status") ? true : nil
            }
        }

        func gateway(_ id: String, password: String, subscriptions: [String] = []) async throws -> MQTTProbe {
            try await MQTTProbe(
                port: broker.port, subscriptions: subscriptions,
                clientID: "occupant-\(id)-\(UUID().uuidString.prefix(4))",
                username: id, password: password)
        }

        func stop() async {
            mqtt.client?.stop()
            _ = try? await task.value
            broker.stop()
        }
    }

    static func telemetry(_ sound: Double, at: Double = Date().timeIntervalSince1970) -> String {
        #"{"at":\#(at),"readings":{"sound":\#(sound)}}"#
    }

    static func label(occupied: Bool) -> String {
        let now = Date().timeIntervalSince1970
        return #"{"from":\#(now - 600),"to":\#(now - 60),"occupied":\#(occupied)}"#
    }

    /// Waits for the first event that is not a message: how the broker answered the connection.
    func connectionOutcome(username: String?, password: String?, port: Int) async throws -> MQTTEvent {
        let client = try MosquittoClient(
            options: MQTTOptions(
                port: port, clientID: "attacker-\(UUID().uuidString.prefix(6))", username: username,
                password: password, reconnectMin: 30, reconnectMax: 30))
        defer { client.stop() }
        try client.start()
        let outcome = Task {
            for await event in client.events {
                if case .message = event { continue }
                return event
            }
            return MQTTEvent.disconnected("stream ended")
        }
        let timeout = Task {
            try await Task.sleep(for: .seconds(20))
            outcome.cancel()
        }
        defer { timeout.cancel() }
        return await outcome.value
    }

    @Test func anonymousAndWrongPasswordClientsAreRefused() async throws {
        let rig = try await SecuredRig("anonymous")
        let anonymous = try await connectionOutcome(username: nil, password: nil, port: rig.broker.port)
        guard case .refused = anonymous else {
            Issue.record("an anonymous client was not refused: \(anonymous)")
            return
        }
        // A gateway's id with another gateway's token, and the server's account with a guess.
        for (user, password) in [("gw-a", "token-b"), ("occupant-server", "token-a"), ("gw-c", "token-a")] {
            let outcome = try await connectionOutcome(username: user, password: password, port: rig.broker.port)
            guard case .refused = outcome else {
                Issue.record("\(user) with a wrong password was not refused: \(outcome)")
                continue
            }
        }
        // A legitimate gateway publishes; only its rows are stored.
        let a = try await rig.gateway("gw-a", password: "token-a")
        try a.publish(MQTTMessage(topic: "occupant/gw-a/telemetry", text: Self.telemetry(1)))
        try await waitUntil(timeout: 20, "gw-a's telemetry stored") {
            try await rig.store.telemetryCount() == 1 ? true : nil
        }
        await rig.stop()
    }

    @Test func aGatewayCannotPublishForAnother() async throws {
        let rig = try await SecuredRig("cross-publish")
        let a = try await rig.gateway("gw-a", password: "token-a")
        // gw-a's credentials, gw-b's topics: labels (inverted), telemetry, a model status that would widen a rollout.
        try a.publish(MQTTMessage(topic: "occupant/gw-b/labels", text: Self.label(occupied: false)))
        try a.publish(MQTTMessage(topic: "occupant/gw-b/telemetry", text: Self.telemetry(99)))
        try a.publish(
            MQTTMessage(
                topic: "occupant/gw-b/model/status",
                text: #"{"active":"occupancy-office@7","at":"2026-01-01T00:00:00Z","refused":null,"sha256":null}"#,
                retain: true))
        // Then its own data, through the same connection: once that is stored, the spoofs (sent earlier, in order)
        // would have been too.
        try a.publish(MQTTMessage(topic: "occupant/gw-a/labels", text: Self.label(occupied: true)))
        try a.publish(MQTTMessage(topic: "occupant/gw-a/telemetry", text: Self.telemetry(5)))
        try a.publish(
            MQTTMessage(
                topic: "occupant/gw-a/model/status",
                text: #"{"active":null,"at":"2026-01-01T00:00:00Z","refused":null,"sha256":null}"#, retain: true))
        try await waitUntil(timeout: 20, "gw-a's own telemetry, labels and status stored") {
            let rows = try await rig.store.telemetry(gateways: ["gw-a"], from: nil)
            let labels = try await rig.store.labels(gateways: ["gw-a"])
            let statuses = try await rig.store.gatewayStatuses()
            return !rows.isEmpty && !labels.isEmpty && statuses.contains { $0.gateway == "gw-a" } ? true : nil
        }
        #expect(rig.broker.log.contains("'occupant/gw-b/labels'"))
        #expect(rig.broker.log.contains("Denied PUBLISH from occupant-gw-a"))
        #expect(try await rig.store.telemetry(gateways: ["gw-b"], from: nil).isEmpty)
        #expect(try await rig.store.labels(gateways: ["gw-b"]).isEmpty)
        #expect(try await rig.store.gatewayStatuses().allSatisfy { $0.gateway != "gw-b" })
        await rig.stop()
    }

    @Test func aGatewayReadsOnlyItsOwnModelAnnouncements() async throws {
        let rig = try await SecuredRig("announcements")
        let a = try await rig.gateway(
            "gw-a", password: "token-a", subscriptions: ["occupant/+/model/available", "occupant/gw-b/model/available"])
        let b = try await rig.gateway("gw-b", password: "token-b", subscriptions: ["occupant/gw-b/model/available"])
        // gw-a tries to announce a model to gw-b; the server's own announcements go to b, then a.
        try a.publish(MQTTMessage(topic: "occupant/gw-b/model/available", text: #"{"spoof":true}"#, retain: true))
        let server = try #require(rig.mqtt.client)
        try server.publish(MQTTMessage(topic: "occupant/gw-b/model/available", text: #"{"for":"b"}"#, retain: true))
        try server.publish(MQTTMessage(topic: "occupant/gw-a/model/available", text: #"{"for":"a"}"#, retain: true))
        try await a.waitFor("occupant/gw-a/model/available") { $0.text.contains(#""a""#) }
        try await b.waitFor("occupant/gw-b/model/available") { $0.text.contains(#""b""#) }
        #expect(a.messages(on: "occupant/gw-b/model/available").isEmpty)
        #expect(!b.messages.contains { $0.text.contains("spoof") })
        // The retained announcements, asked for afresh: gw-a gets its own only.
        let late = try await rig.gateway(
            "gw-a", password: "token-a",
            subscriptions: ["occupant/gw-b/model/available", "occupant/gw-a/model/available"])
        try await late.waitFor("occupant/gw-a/model/available")
        #expect(late.messages(on: "occupant/gw-b/model/available").isEmpty)
        await rig.stop()
    }

    /// A real gateway process logged in with its id and token file: everything it publishes (decisions, status,
    /// discovery, telemetry, labels) passes the ACL, the server stores its data, and a viewer sees its decisions.
    @Test func aRealGatewayWorksThroughTheACL() async throws {
        let rig = try await SecuredRig("real-gateway")
        let viewer = try await MQTTProbe(
            port: rig.broker.port,
            subscriptions: [
                "occupant/+/occupancy", "occupant/+/status", "homeassistant/#", "occupant/+/override",
                "occupant/+/occupancy/attributes", "occupant/+/model/update",
            ], username: "viewer", password: "viewer-secret")
        let tokenFile = rig.dir.appendingPathComponent("gw-a.token").path
        try "token-a\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let configFile = rig.dir.appendingPathComponent("gw-a.yaml").path
        try """
        gatewayId: gw-a
        simulate: { scenario: day, speed: 1200, labels: true, labelEvery: 30m }
        broker: { port: \(rig.broker.port), username: gw-a, passwordFile: \(tokenFile) }
        telemetry: { interval: 10s }
        stateDirectory: \(rig.dir.path)/gw-a
        """.write(toFile: configFile, atomically: true, encoding: .utf8)
        let gateway = try ChildProcess(["gateway", "run", "--config", configFile])
        defer { gateway.signal(SIGKILL) }
        try await viewer.waitFor("occupant/gw-a/status", timeout: 30) { $0.text == "online" }
        try await viewer.waitFor("occupant/gw-a/occupancy", timeout: 30)
        try await viewer.waitFor("homeassistant/binary_sensor/occupant_gw-a/occupancy/config", timeout: 30)
        try await waitUntil(timeout: 60, "gw-a's telemetry and labels stored") {
            let rows = try await rig.store.telemetry(gateways: ["gw-a"], from: nil)
            let labels = try await rig.store.labels(gateways: ["gw-a"])
            return !rows.isEmpty && !labels.isEmpty ? true : nil
        }
        // Home Assistant (the viewer) sees the controls' states and presses a correction button; the gateway gets
        // the press and the server stores the correction.
        try await viewer.waitFor("occupant/gw-a/override", timeout: 30) { $0.text == "auto" }
        try await viewer.waitFor("occupant/gw-a/occupancy/attributes", timeout: 30)
        try await viewer.waitFor("occupant/gw-a/model/update", timeout: 30)
        try viewer.publish(MQTTMessage(topic: "occupant/gw-a/correct", text: "empty"))
        try await waitUntil(timeout: 60, "the correction stored") {
            try await rig.store.labels(gateways: ["gw-a"]).contains { $0.source == "mqtt:correction" } ? true : nil
        }
        #expect(rig.broker.log.contains("Received PUBLISH from occupant-gw-a"))
        #expect(!rig.broker.log.contains("Denied PUBLISH from occupant-gw-a"), "\(rig.broker.log)")
        #expect(!rig.broker.log.contains("Denied PUBLISH from probe"), "\(rig.broker.log)")
        gateway.signal(SIGKILL)
        await rig.stop()
    }

    /// The command an operator runs: the files are never readable by others, a gateway whose token is not at hand is
    /// named in one line, and the password lines are mosquitto's `$6$` form that the broker accepts (above).
    @Test func brokerConfigWritesPrivateFilesAndNamesWhatIsMissing() async throws {
        let dir = try temporaryDirectory("broker-config")
        let config = dir.appendingPathComponent("server.yaml").path
        try """
        broker: { port: 1883, username: occupant-server, password: s3cret }
        gateways:
          - { id: kitchen, scope: office, token: token-k }
          - { id: lab-2, scope: office, tokenSha256: \(tokenHash("token-l")) }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("broker").path
        let missing = try await ChildProcess.run(["server", "broker-config", "--config", config, "--out", out])
        #expect(missing.status == 2)
        #expect(
            missing.stderr
                == "error: gateway 'lab-2' has only tokenSha256: give its token file in --tokens (lab-2.token)\n")
        #expect(!FileManager.default.fileExists(atPath: out + "/passwords"))

        let tokens = dir.appendingPathComponent("tokens")
        try FileManager.default.createDirectory(at: tokens, withIntermediateDirectories: true)
        try "token-l\n".write(to: tokens.appendingPathComponent("lab-2.token"), atomically: true, encoding: .utf8)
        let made = try await ChildProcess.run([
            "server", "broker-config", "--config", config, "--out", out, "--tokens", tokens.path,
        ])
        #expect(made.status == 0, "\(made.stderr)")
        for name in ["passwords", "acl", "mosquitto.conf"] {
            let mode = try #require(
                try FileManager.default.attributesOfItem(atPath: out + "/" + name)[.posixPermissions] as? Int)
            #expect(mode == 0o640, "\(name) is \(String(mode, radix: 8))")
        }
        let passwords = try String(contentsOfFile: out + "/passwords", encoding: .utf8)
        #expect(
            passwords.split(separator: "\n").map { $0.prefix(while: { $0 != ":" }) } == [
                "occupant-server", "kitchen", "lab-2",
            ])
        #expect(!passwords.contains("token-"))
        let conf = try String(contentsOfFile: out + "/mosquitto.conf", encoding: .utf8)
        #expect(conf.contains("allow_anonymous false\n"))
        #expect(conf.contains("password_file \(out)/passwords\n"))

        // Adding a gateway later without its colleagues' tokens keeps their accounts from the existing file.
        try String(contentsOfFile: config, encoding: .utf8).appending(
            "\n  - { id: hall, scope: office, token: token-h }\n"
        )
        .write(toFile: config, atomically: true, encoding: .utf8)
        let again = try await ChildProcess.run(["server", "broker-config", "--config", config, "--out", out])
        #expect(again.status == 0, "\(again.stderr)")
        let after = try String(contentsOfFile: out + "/passwords", encoding: .utf8)
        let labLine = passwords.split(separator: "\n").first { $0.hasPrefix("lab-2:") }
        #expect(after.split(separator: "\n").contains { $0 == labLine })
        #expect(after.contains("\nhall:$6$"))
    }

    /// The same line `mosquitto_passwd -H sha512 -b pw alice secret` (2.0.11) wrote, from its salt.
    @Test func passwordLinesAreMosquittosSHA512Form() throws {
        let fromMosquitto =
            "alice:$6$lReVUHchJ+YR1jcR$sPnBclRsGmAN+Pbot0pcKKtI62e7XScxxjQ63y9RShe8GVnNYBSvxn+j8YaTwgUIx66PfZzHJnaeeWdb/ZXn+g=="
        let salt = try #require(Data(base64Encoded: "lReVUHchJ+YR1jcR"))
        #expect(BrokerFiles.line("alice", "secret", salt: Array(salt)) == fromMosquitto)
        #expect(BrokerFiles.line("alice", "secreT", salt: Array(salt)) != fromMosquitto)
    }

    /// What mosquitto's files cannot hold is refused with one line naming it.
    @Test(arguments: [
        // (`lab:2` is set after loading: the configuration may refuse such ids itself.)
        (
            "broker: { username: s, password: p }\ngateways: [{ id: lab-2, scope: o, token: t }]",
            "gateway id 'lab:2' cannot be an MQTT username: it contains ':' (the password file's separator)"
        ),
        (
            "broker: { username: s, password: p }\ngateways: [{ id: lab.2, scope: o, token: t }, { id: lab_2, scope: o, token: u }]",
            "gateways 'lab.2' and 'lab_2' share the Home Assistant node id 'occupant_lab_2'"
        ),
        (
            "broker: { username: gw, password: p }\ngateways: [{ id: gw, scope: o, token: t }]",
            "gateway id 'gw' is already another MQTT account"
        ),
        (
            "gateways: [{ id: gw, scope: o, token: t }]",
            "broker.username and broker.password must be set: they are the server's own MQTT account"
        ),
    ])
    func refusals(yaml: String, message: String) throws {
        var config = try ServerConfig.parse(yaml: yaml)
        if config.gateways.first?.id == "lab-2" { config.gateways[0].id = "lab:2" }
        #expect(throws: OccupantError(.configuration, message)) {
            try BrokerFiles.make(config: config, directory: "/etc/mosquitto/occupant")
        }
    }
}
