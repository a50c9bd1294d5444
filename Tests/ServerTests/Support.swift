import Evaluator
import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Sensors
import Server

/// Telemetry rows (every `step` seconds) and hourly ground-truth label ranges from the simulated office, the way a
/// gateway and a person confirming occupancy would send them.
func simulatedDays(_ days: Range<Int>, gateway: String, seed: UInt64 = 5, step: Double = 30) -> (
    rows: [TelemetryRow], labels: [LabelRange]
) {
    let scenario = OfficeDayScenario(seed: seed)
    var rows: [TelemetryRow] = []
    var labels: [LabelRange] = []
    var current: (from: Double, occupied: Bool)?
    for second in stride(from: Double(days.lowerBound) * 86_400, to: Double(days.upperBound) * 86_400, by: step) {
        let at = scenario.start + second
        let state = scenario.state(at: at)
        rows.append(TelemetryRow(gateway: gateway, at: at.seconds, readings: state.values.mapValues { Optional($0) }))
        let occupied = state.occupied == true
        if let c = current, c.occupied != occupied {
            labels.append(
                LabelRange(gateway: gateway, from: c.from, to: at.seconds, occupied: c.occupied, source: "test"))
            current = (at.seconds, occupied)
        } else if current == nil {
            current = (at.seconds, occupied)
        }
    }
    if let c = current {
        labels.append(
            LabelRange(
                gateway: gateway, from: c.from, to: (scenario.start + Double(days.upperBound) * 86_400).seconds,
                occupied: c.occupied, source: "test"))
    }
    return (rows, labels)
}

/// The gateway's telemetry payload as NDJSON lines.
func ndjson(_ rows: [TelemetryRow]) -> String {
    rows.map { row in
        let readings = row.readings.sorted { $0.key < $1.key }.map { JSON.Member($0.key, $0.value?.json ?? .null) }
        return JSON.object(["at": .string(Instant(seconds: row.at).iso8601), "readings": .object(readings)]).serialized
    }.joined(separator: "\n") + "\n"
}

func labelsJSON(_ labels: [LabelRange]) -> String {
    "["
        + labels.map { l in
            JSON.object([
                "gateway": .string(l.gateway), "from": .string(Instant(seconds: l.from).iso8601),
                "to": .string(Instant(seconds: l.to).iso8601), "occupied": .bool(l.occupied),
            ]).serialized
        }.joined(separator: ",") + "]"
}

/// The testing clock serves the server's wall-clock seam too (both protocols only ask for `now()`).
extension ManualClock: WallClock {}

/// The setup of a retraining test: a signing key in `dir`, the configuration `yaml` with that key and `dir` as its state
/// directory, a SQLite store and a registry on them (announcements recorded, not sent).
func retrainingRig(_ dir: URL, yaml: String) throws -> (
    config: ServerConfig, store: SQLiteStore, registry: ModelRegistry
) {
    let key = dir.appendingPathComponent("server").path
    _ = try SigningKeys.save(SigningKeys.generate(), prefix: key)
    var config = try ServerConfig.parse(yaml: yaml)
    config.stateDirectory = dir.path
    config.signingKey = key + ".key"
    let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path)
    let registry = ModelRegistry(
        config: config, store: store,
        artifacts: try ArtifactStore(root: dir.appendingPathComponent("artifacts").path),
        signing: try SigningKeys.readPrivateKey(path: config.signingKey!), announcer: RecordingAnnouncer(),
        logger: Logger(label: "test"))
    return (config, store, registry)
}
