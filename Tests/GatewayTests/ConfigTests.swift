import OccupantCore
import Testing

@testable import Gateway

@Suite struct ConfigTests {
    @Test func defaultsAreTheSeedRule() async throws {
        let config = try GatewayConfig.parse(yaml: "{}")
        #expect(config.decision.channel == "sound")
        #expect(config.decision.threshold == 10)
        #expect(config.topics.prefix == "occupant")
        #expect(config.broker.host == "127.0.0.1")
        #expect(config.broker.port == 1883)
        #expect(config.topics.homeAssistant)
        #expect(!config.topics.edukit)
    }

    @Test func fullConfigurationParses() async throws {
        let yaml = """
            gatewayId: lobby-1
            profile: sht31-ads1115-pcf8574
            bus: 1
            broker:
              host: broker.local
              port: 8883
              username: gw
              passwordFile: /etc/occupant/mqtt-password
              tls: { caFile: /etc/ssl/ca.pem, certFile: /etc/occupant/gw.crt, keyFile: /etc/occupant/gw.key }
              queueLimit: 200
              reconnect: { min: 1s, max: 2m }
            topics: { prefix: building/a, edukit: true, edukitThing: thermostat-7 }
            decision: { threshold: 14, occupiedAfter: 2s, vacantAfter: 5m, staleAfter: 20s, heartbeat: 30s }
            telemetry: { interval: 5s }
            sensors: { degradedAfter: 2, failedAfter: 5, stuckAfter: 1h }
            stateDirectory: /var/lib/occupant
            """
        let config = try GatewayConfig.parse(yaml: yaml)
        #expect(config.gatewayID == "lobby-1")
        #expect(config.source == .bus(1))
        #expect(config.broker.caFile == "/etc/ssl/ca.pem")
        #expect(config.broker.reconnectMax == 120)
        #expect(config.topics.prefix == "building/a")
        #expect(config.decision.vacantAfter == 300)
        #expect(config.telemetryInterval == 5)
        #expect(config.sensors.failedAfter == 5)
        #expect(config.sensors.stuckAfter == 3600)
    }

    @Test func simulateAcceptsAScenarioOrAMapping() async throws {
        #expect(try GatewayConfig.parse(yaml: "simulate: day").source == .simulated(scenario: "day", speed: 1, seed: 1))
        #expect(
            try GatewayConfig.parse(yaml: "simulate: { scenario: replay.csv, speed: 60, seed: 3 }").source
                == .simulated(scenario: "replay.csv", speed: 60, seed: 3))
    }

    @Test(arguments: [
        ("brokr: {}", "brokr: unknown key 'brokr' (did you mean 'broker'?)"),
        ("broker: { port: 70000 }", "broker.port: 70000 is out of range 1…65535"),
        ("broker: { host: '' }", "broker.host: must not be empty"),
        ("decision: { threshold: loud }", "decision.threshold: expected a number, got 'loud'"),
        (
            "decision: { vacantAfter: soon }",
            "decision.vacantAfter: expected a duration such as 250ms, 15s, 10m or 1h, got 'soon'"
        ),
        ("gatewayId: a/b", "gatewayId: 'a/b' cannot be used in an MQTT topic level"),
        ("topics: { prefix: 'x/#' }", "topics.prefix: 'x/#' must not contain '+' or '#'"),
        ("sensors: { degradedAfter: 5, failedAfter: 2 }", "failedAfter (2) must not be less than degradedAfter (5)"),
        ("bus: 1\nsimulate: day", "give either 'bus' or 'simulate', not both"),
        ("broker: { tls: { certFile: a.crt } }", "broker.tls.caFile: missing required key 'caFile'"),
        ("broker: { password: secret }", "a password needs a username"),
        ("telemetry: { interval: 0s }", "telemetry.interval: must be positive"),
        ("- just\n- a list", "expected a mapping of keys"),
        ("monitor: { window: 0s }", "monitor.window: must be between 1s and 7d, got 0s"),
        ("monitor: { window: hourly }", "monitor.window: expected a duration such as 250ms, 15s, 10m or 1h"),
        ("monitor: { textfile: /var/lib/node_exporter/occupant.txt }", "monitor.textfile: node_exporter's textfile"),
        ("monitor: { windw: 1h }", "monitor.windw: unknown key 'windw' (did you mean 'window'?)"),
    ])
    func badValuesNameTheKey(yaml: String, expected: String) {
        do {
            _ = try GatewayConfig.parse(yaml: yaml, source: "gateway.yaml")
            Issue.record("expected an error containing: \(expected)")
        } catch {
            #expect(error.description.contains(expected), "got: \(error.description)")
            #expect(error.description.hasPrefix("gateway.yaml:"))
        }
    }

    @Test func monitorDefaultsToHourlyWindowsAndReadsItsSection() throws {
        let defaults = try GatewayConfig.parse(yaml: "{}")
        #expect(defaults.monitor == MonitorSettings(window: 3600, textfile: nil))
        let config = try GatewayConfig.parse(
            yaml: "monitor: { window: 10m, textfile: /var/lib/node_exporter/occupant.prom, stuckAfter: 30m }")
        #expect(
            config.monitor
                == MonitorSettings(window: 600, textfile: "/var/lib/node_exporter/occupant.prom", stuckAfter: 1800))
        #expect(try GatewayConfig.parse(yaml: "monitor: { enabled: false }").monitor.enabled == false)
        // The shipped example parses, with its monitor section.
        let example = try String(
            contentsOfFile: packageRootPath("tools/config/gateway.example.yaml"), encoding: .utf8)
        #expect(try GatewayConfig.parse(yaml: example).monitor.window == 3600)
    }

    @Test func decisionChannelMustExistInTheProfile() async throws {
        var config = try GatewayConfig.parse(yaml: "decision: { channel: noise }")
        config.source = .simulated(scenario: "day", speed: 1, seed: 1)
        config.profile = packageRootPath("firmware-profiles/thermostat-mcu.yaml")
        #expect(throws: OccupantError.self) { try GatewayRuntime(config: config, logger: .init(label: "t")) }
        do {
            _ = try GatewayRuntime(config: config, logger: .init(label: "t"))
        } catch let error as OccupantError {
            #expect(error.message.hasPrefix("decision.channel: 'noise' is not a channel of profile thermostat-mcu"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
