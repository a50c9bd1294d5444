import ArgumentParser
import FleetProtocol
import Foundation
import GatewayDaemon
import MQTT
import OccupantCore
import Synchronization

/// `occupant watch`: prints what gateways publish, one line per decision — for technicians and the demo.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Subscribe to a broker and print gateways' decisions and status as they are published.",
        discussion: """
            Exits 1 with one line on stderr when the broker does not answer within --connect-timeout or refuses the \
            connection.
            """
    )

    @Option(help: ArgumentHelp("MQTT broker.", valueName: "host:port"))
    var broker: String = "127.0.0.1:1883"

    @Option(help: "Only this gateway (default: every gateway under the prefix).")
    var gatewayId: String?

    @Option(help: "Topic prefix.")
    var prefix: String = "occupant"

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Option(help: "Give up when the broker has not answered after this many seconds.")
    var connectTimeout: Double = 5

    @Flag(help: "Print every publication, heartbeats included (default: only changes of state or decider).")
    var all = false

    @Option(help: "MQTT username (a broker that refuses anonymous clients: the viewer from `server broker-config`).")
    var username: String?

    @Option(help: "File holding the MQTT password.")
    var passwordFile: String?

    func validate() throws {
        if parseEndpoint(broker) == nil { throw ValidationError("--broker: expected HOST:PORT, got '\(broker)'") }
        if !(connectTimeout > 0) { throw ValidationError("--connect-timeout: expected a positive number of seconds") }
        if passwordFile != nil && username == nil { throw ValidationError("--password-file needs --username") }
    }

    /// What `watch` subscribes to: decisions, status and model status of one gateway (or all), and the Home
    /// Assistant discovery of the same gateways.
    static func subscriptions(prefix: String, gatewayID: String?) -> [String] {
        let topics = GatewayTopics(prefix: prefix, gatewayID: gatewayID ?? "+")
        return [
            topics.occupancy, topics.status, topics.modelStatus,
            GatewayTopics.discoveryFilter(
                discoveryPrefix: topics.discoveryPrefix, component: "binary_sensor", object: "occupancy",
                gatewayID: gatewayID),
        ]
    }

    func run() async throws {
        let (host, port) = parseEndpoint(broker)!
        let client: MosquittoClient
        do {
            var password: String?
            if let passwordFile {
                do throws(OccupantError) {
                    password = try LocalFileSystem().readText(passwordFile).trimmingCharacters(
                        in: .whitespacesAndNewlines)
                } catch {
                    throw OccupantError(
                        .configuration, "--password-file: cannot read \(passwordFile): \(error.fileReason)")
                }
            }
            client = try MosquittoClient(
                options: MQTTOptions(
                    host: host, port: port, clientID: "occupant-watch-\(getpid())", username: username,
                    password: password))
            try client.start()
        } catch {
            throw report(error)
        }
        let state = WatchState()
        let timeout = connectTimeout
        let endpoint = broker
        let watchdog = Task {
            try await Task.sleep(for: .seconds(timeout))
            let gaveUp = state.withLock { s in
                if !s.connected {
                    s.failure = "cannot reach the MQTT broker at \(endpoint) within \(formatSeconds(timeout))"
                }
                return !s.connected
            }
            if gaveUp { client.stop() }
        }
        defer { watchdog.cancel() }
        if let duration {
            Task {
                try? await Task.sleep(for: .seconds(duration))
                client.stop()
            }
        }
        let base = GatewayTopics(prefix: prefix, gatewayID: gatewayId ?? "+").base
        var last: [String: String] = [:]
        for await event in client.events {
            switch event {
            case .connected:
                state.withLock { $0.connected = true }
                for topic in Self.subscriptions(prefix: prefix, gatewayID: gatewayId) {
                    try client.subscribe(topic)
                }
                emit("watching \(base)/… on \(broker)")
            case .message(let message):
                let decision = Self.decision(message, prefix: prefix)
                if !all, decision != nil {
                    let key = Self.changeKey(message, prefix: prefix)
                    if last[message.topic] == key { continue }
                    last[message.topic] = key
                }
                emit(Self.describe(message, prefix: prefix))
            case .refused(let reason):
                state.withLock { $0.failure = "the MQTT broker at \(endpoint) refused the connection: \(reason)" }
                client.stop()
            case .disconnected(let reason):
                if state.withLock({ $0.connected }) {
                    printError("lost the MQTT broker at \(endpoint): \(reason); reconnecting")
                }
            case .delivered:
                break
            }
        }
        let (connected, failure) = state.withLock { ($0.connected, $0.failure) }
        if let failure {
            printError("error: \(failure)")
            throw ExitCode(ExitStatus.failure)
        }
        if !connected {
            printError("error: cannot reach the MQTT broker at \(endpoint)")
            throw ExitCode(ExitStatus.failure)
        }
    }

    /// The decision a message carries, when it is one (`<prefix>/<gateway>/occupancy`).
    static func decision(_ message: MQTTMessage, prefix: String) -> (gateway: String, document: DecisionDocument)? {
        guard let (gateway, kind) = GatewayTopics.parse(message.topic, prefix: prefix), kind == .occupancy,
            let document = try? FleetJSON.decode(DecisionDocument.self, from: message.payload)
        else { return nil }
        return (gateway, document)
    }

    /// What makes a decision worth printing again: its state and who decided.
    static func changeKey(_ message: MQTTMessage, prefix: String) -> String {
        guard let (_, d) = decision(message, prefix: prefix) else { return message.text }
        return "\(d.roomOccupancy.map { "\($0)" } ?? "stale") \(d.decidedBy)"
    }

    /// One readable line for a published message.
    static func describe(_ message: MQTTMessage, prefix: String) -> String {
        if let (gateway, d) = decision(message, prefix: prefix) {
            let at = String(d.at.prefix(19)).replacingOccurrences(of: "T", with: " ")
            let state: String
            switch d.roomOccupancy {
            case true?: state = "OCCUPIED"
            case false?: state = "vacant  "
            case nil: state = "stale   "
            }
            let probability = d.probability.map { String(format: "%.3f", $0) } ?? "-"
            let inputs = d.inputs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            var line = "\(at)  \(gateway)  \(state)  p=\(probability)  by \(d.decidedBy)  \(inputs)"
            if let stale = d.stale { line += "  (\(stale))" }
            return line
        }
        if message.topic.hasPrefix(GatewayTopics.defaultDiscoveryPrefix + "/") {
            return "Home Assistant discovery: \(message.topic)"
        }
        return "\(message.topic): \(message.text)"
    }
}

/// Whether the broker ever answered, and why the watch ended early (set from the watchdog task and the event loop).
private final class WatchState: Sendable {
    private let value = Mutex<(connected: Bool, failure: String?)>((false, nil))

    func withLock<T>(_ body: (inout (connected: Bool, failure: String?)) -> T) -> T {
        value.withLock { body(&$0) }
    }
}

/// `5 s`, `0.5 s`.
private func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
}

/// Writes one line to stdout unbuffered (a pipe would otherwise hold lines back).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
