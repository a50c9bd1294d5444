/// One telemetry document: a gateway's `telemetry` message, and one line of an upload batch (NDJSON).
/// `{"at":"…","readings":{"sound":12.5,"hvac":"heating","co2":null},"health":{…},"unavailable":{…}}`; the server
/// reads `at` and `readings` only. The gateway writes it with its allocation-light writer (`Payloads.telemetry`).
public struct TelemetryDocument: Codable, Sendable, Equatable {
    public var at: TimeValue
    public var readings: [String: JSONReading]
    /// Channel → `ok`, `stale`, `failed`… (written by the gateway, not needed by the server).
    public var health: [String: String]?
    /// Channel → why it has no value.
    public var unavailable: [String: String]?

    public init(
        at: TimeValue, readings: [String: JSONReading], health: [String: String]? = nil,
        unavailable: [String: String]? = nil
    ) {
        self.at = at
        self.readings = readings
        self.health = health
        self.unavailable = unavailable
    }

    /// Documents as an upload batch body: one per line.
    public static func ndjson(_ documents: [TelemetryDocument]) throws -> [UInt8] {
        var out: [UInt8] = []
        for d in documents {
            out += try FleetJSON.bytes(d)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }
}

/// The server's answer to a telemetry batch.
public struct TelemetryReceipt: Codable, Sendable, Equatable {
    /// The `Batch-ID`, or `sha256:<hex of the body>` when none was sent.
    public var batch: String
    /// Lines in the batch.
    public var rows: Int
    /// Rows stored now (rows already stored for the same instant are skipped).
    public var accepted: Int
    /// The batch id was seen before: nothing stored.
    public var duplicate: Bool

    public init(batch: String, rows: Int, accepted: Int, duplicate: Bool) {
        self.batch = batch
        self.rows = rows
        self.accepted = accepted
        self.duplicate = duplicate
    }
}
