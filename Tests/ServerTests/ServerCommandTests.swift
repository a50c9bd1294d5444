import FleetProtocol
import Foundation
import MQTT
import OccupantCore
import OccupantTesting
import Testing

@testable import OccupantCLI
@testable import Server

/// `occupant server …` client commands and `occupant watch`, run as the user runs them.
@Suite(.serialized) struct ServerCommandTests {
    @Test func aDownServerFailsFastWithOneLineNamingTheURL() async throws {
        let port = try freeLoopbackPort()
        let started = ContinuousClock.now
        let result = try await ChildProcess.run(
            ["server", "models", "--url", "http://127.0.0.1:\(port)"], environment: ["OCCUPANT_ADMIN_TOKEN": "t"],
            timeout: 20)
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(
            result.stderr.hasPrefix("error: cannot reach the server at http://127.0.0.1:\(port)/v1/models: "),
            "\(result.stderr)")
    }

    @Test func theDefaultURLIsNamed() async throws {
        let result = try await ChildProcess.run(
            ["server", "gateways"], environment: ["OCCUPANT_ADMIN_TOKEN": "t"], timeout: 20)
        #expect(result.stderr.contains("no --url or --config given: asking http://127.0.0.1:8080"), "\(result.stderr)")
    }

    @Test func retrainThatTrainsNothingSaysWhyAndExits3() async throws {
        let rig = try RouteRig("retrain-command")
        try await rig.live { base in
            let result = try await ChildProcess.run(
                ["server", "retrain", "--url", base, "--scope", "office"],
                environment: ["OCCUPANT_ADMIN_TOKEN": "admin-token"], timeout: 30)
            #expect(result.status == 3, "\(result.stderr)")
            #expect(result.stdout == "office: no model trained: no labelled telemetry in office yet\n")
            let json = try await ChildProcess.run(
                ["server", "retrain", "--url", base, "--scope", "office", "--json"],
                environment: ["OCCUPANT_ADMIN_TOKEN": "admin-token"],
                timeout: 30)
            #expect(json.status == 3)
            #expect(try FleetJSON.decode(RetrainOutcome.self, from: json.stdout.utf8).trained == false)
            let help = try await ChildProcess.run(["server", "retrain", "--help"])
            #expect(help.stdout.contains("3 no model was trained"), "\(help.stdout)")
        }
    }

    @Test func alertsAreListedAsATableAndAcknowledged() async throws {
        let clock = ManualClock(Instant(seconds: 1_767_600_000))
        let rig = try RouteRig("alerts-command", clock: clock, extraYAML: "alerts: { silentAfter: 30m }")
        clock.advance(31 * 60)
        try await rig.registry.checkSilence()
        let open = try await rig.store.alertDocuments(open: true)
        #expect(open.count == 4)
        let id = try #require(open.first { $0.gateway == "gw-b" }?.id)
        try await rig.live { base in
            let env = ["OCCUPANT_ADMIN_TOKEN": "admin-token"]
            let table = try await ChildProcess.run(["server", "alerts", "--open", "--url", base], environment: env)
            #expect(table.status == 0, "\(table.stderr)")
            let lines = table.stdout.split(separator: "\n")
            #expect(lines.count == 5, "\(table.stdout)")
            #expect(lines.first?.hasPrefix("ID  KIND    STATE  SCOPE   GATEWAY") == true, "\(table.stdout)")
            #expect(
                lines.contains { $0.hasPrefix("\(id) ") && $0.contains("silent") && $0.contains("gateway gw-b silent") }
            )
            let ack = try await ChildProcess.run(
                ["server", "alerts", "ack", "\(id)", "--by", "ops", "--url", base], environment: env)
            #expect(ack.status == 0, "\(ack.stderr)")
            #expect(ack.stdout == "alert \(id) acknowledged by ops at \(clock.now().iso8601)\n")
            let json = try await ChildProcess.run(["server", "alerts", "--json", "--url", base], environment: env)
            let listing = try FleetJSON.decode(AlertListing.self, from: json.stdout.utf8)
            #expect(listing.alerts.first { $0.id == id }?.acknowledgedBy == "ops")
            let missing = try await ChildProcess.run(
                ["server", "alerts", "ack", "999", "--url", base], environment: env)
            #expect(missing.status == 1)
            #expect(missing.stderr == "error: \(base)/v1/alerts/999/ack: the server answered 404: no alert 999\n")
        }
    }

    @Test func modelsAndGatewaysPrintTypedLines() async throws {
        let rig = try RouteRig("models-command")
        let sha = try await rig.champion(Array(repeating: 2, count: 16))
        try await rig.live { base in
            let env = ["OCCUPANT_ADMIN_TOKEN": "admin-token"]
            let models = try await ChildProcess.run(["server", "models", "--url", base], environment: env)
            #expect(models.status == 0, "\(models.stderr)")
            #expect(
                models.stdout.hasPrefix(
                    "office v1  occupancy-office  \(sha.prefix(12))  holdout accuracy 0.9000 on 12 rows  data 2026-01-05T00:00:00.000Z … 2026-01-05T01:00:00.000Z  [champion]\n"
                ),
                "\(models.stdout)")
            let gateways = try await ChildProcess.run(["server", "gateways", "--url", base], environment: env)
            #expect(
                gateways.stdout.contains("room 1  scope office  assigned occupancy-office@1  active -\n"),
                "\(gateways.stdout)")
            let json = try await ChildProcess.run(["server", "gateways", "--url", base, "--json"], environment: env)
            #expect(try FleetJSON.decode(GatewayListing.self, from: json.stdout.utf8).gateways.count == 4)
        }
    }

    @Test func watchExits1WhenTheBrokerIsUnreachable() async throws {
        let port = try freeLoopbackPort()
        let result = try await ChildProcess.run(
            ["watch", "--broker", "127.0.0.1:\(port)", "--connect-timeout", "1"], timeout: 20)
        #expect(result.status == 1)
        #expect(result.stderr == "error: cannot reach the MQTT broker at 127.0.0.1:\(port) within 1 s\n")
    }

    @Test func watchForOneGatewayShowsOnlyItsDiscovery() async throws {
        #expect(
            WatchCommand.subscriptions(prefix: "occupant", gatewayID: "a") == [
                "occupant/a/occupancy", "occupant/a/status", "occupant/a/model/status",
                "homeassistant/binary_sensor/occupant_a/occupancy/config",
            ])
        #expect(
            WatchCommand.subscriptions(prefix: "occupant", gatewayID: nil).last
                == "homeassistant/binary_sensor/+/occupancy/config")

        let broker = try await MosquittoBroker()
        defer { broker.stop() }
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["homeassistant/#", "occupant/#"])
        for g in ["a", "b"] {
            let topics = GatewayTopics(prefix: "occupant", gatewayID: g)
            try probe.publish(
                MQTTMessage(
                    topic: topics.discovery(component: "binary_sensor", object: "occupancy"), text: "{}", retain: true))
            try probe.publish(
                MQTTMessage(
                    topic: topics.occupancy,
                    text:
                        #"{"roomOccupancy":true,"probability":0.9,"decidedBy":"rule:sound>10","inputs":{"sound":12},"health":{"sound":"ok"},"at":"2026-01-05T08:00:00.000Z"}"#,
                    retain: true))
        }
        // Retained and delivered to the probe: a late subscriber gets them too.
        _ = try await waitUntil(timeout: 10, "the retained messages are in") { probe.messages.count >= 4 ? true : nil }
        let result = try await ChildProcess.run(
            ["watch", "--broker", "127.0.0.1:\(broker.port)", "--gateway-id", "a", "--duration", "2"], timeout: 20)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.contains("Home Assistant discovery: homeassistant/binary_sensor/occupant_a/occupancy/config"),
            "\(result.stdout)")
        #expect(
            result.stdout.contains("2026-01-05 08:00:00  a  OCCUPIED  p=0.900  by rule:sound>10  sound=12"),
            "\(result.stdout)")
        #expect(!result.stdout.contains("occupant_b"), "\(result.stdout)")
        #expect(!result.stdout.contains("  b  "), "\(result.stdout)")
    }
}
