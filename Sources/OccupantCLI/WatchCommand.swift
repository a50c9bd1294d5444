import ArgumentParser
import Foundation
import MQTT
import OccupantCore

/// `occupant watch`: prints what gateways publish, one line per decision — for technicians and the demo.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Subscribe to a broker and print gateways' decisions and status as they are published."
    )

    @Option(help: ArgumentHelp("MQTT broker.", valueName: "host:port"))
    var broker: String = "127.0.0.1:1883"

    @Option(help: "Only this gateway (default: every gateway under the prefix).")
    var gatewayId: String?

    @Option(help: "Topic prefix.")
    var prefix: String = "occupant"

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Flag(help: "Print every publication, heartbeats included (default: only changes of state or decider).")
    var all = false

    func validate() throws {
        if parseEndpoint(broker) == nil { throw ValidationError("--broker: expected HOST:PORT, got '\(broker)'") }
    }

    func run() async throws {
        let (host, port) = parseEndpoint(broker)!
        let client = try MosquittoClient(options: MQTTOptions(host: host, port: port, clientID: "occupant-watch-\(getpid())"))
        let base = "\(prefix)/\(gatewayId ?? "+")"
        try client.start()
        if let duration {
            Task {
                try? await Task.sleep(for: .seconds(duration))
                client.stop()
            }
        }
        var last: [String: String] = [:]
        for await event in client.events {
            switch event {
            case .connected:
                for topic in ["\(base)/occupancy", "\(base)/status", "\(base)/model/status", "homeassistant/binary_sensor/+/occupancy/config"] {
                    try client.subscribe(topic)
                }
                emit("watching \(base)/… on \(broker)")
            case .message(let message):
                if !all, message.topic.hasSuffix("/occupancy") {
                    let key = Self.changeKey(message)
                    if last[message.topic] == key { continue }
                    last[message.topic] = key
                }
                emit(Self.describe(message))
            case .refused(let reason):
                printError("broker refused the connection: \(reason)")
            default:
                break
            }
        }
    }

    /// What makes a decision worth printing again: its state and who decided.
    static func changeKey(_ message: MQTTMessage) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any] else { return message.text }
        return "\(object["roomOccupancy"] ?? "stale") \(object["decidedBy"] ?? "")"
    }

    /// One readable line for a published message.
    static func describe(_ message: MQTTMessage) -> String {
        let gateway = message.topic.split(separator: "/").dropFirst().first.map(String.init) ?? "?"
        if message.topic.hasSuffix("/occupancy"),
            let object = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any]
        {
            let at = (object["at"] as? String).map { String($0.prefix(19)).replacingOccurrences(of: "T", with: " ") } ?? "?"
            let state: String
            switch object["roomOccupancy"] {
            case let occupied as Bool: state = occupied ? "OCCUPIED" : "vacant  "
            default: state = "stale   "
            }
            let probability = (object["probability"] as? Double).map { String(format: "%.3f", $0) } ?? "-"
            let inputs = (object["inputs"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            var line = "\(at)  \(gateway)  \(state)  p=\(probability)  by \(object["decidedBy"] as? String ?? "?")  \(inputs)"
            if let stale = object["stale"] as? String { line += "  (\(stale))" }
            return line
        }
        if message.topic.hasPrefix("homeassistant/") { return "Home Assistant discovery: \(message.topic)" }
        return "\(message.topic): \(message.text)"
    }
}

/// Writes one line to stdout unbuffered (a pipe would otherwise hold lines back).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
