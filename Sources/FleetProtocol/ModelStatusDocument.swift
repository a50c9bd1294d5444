/// A gateway's retained `model/status`: `{"active":"id@3","at":"…","refused":null,"sha256":"…"}`; `refused` is
/// `{"reason":"badSignature: …","sha256":"…","version":4}` after a refusal. Absent values are written as null, except
/// `rolledBack`, which appears once a guard has rolled a model back.
public struct ModelStatusDocument: Codable, Sendable, Equatable {
    public struct Refusal: Codable, Sendable, Equatable {
        public var version: Int?
        public var sha256: String?
        /// `<BundleError reason>: <message>`.
        public var reason: String?

        public init(version: Int?, sha256: String?, reason: String?) {
            self.version = version
            self.sha256 = sha256
            self.reason = reason
        }

        /// `v4 badSignature: …`.
        public var summary: String {
            [version.map { "v\($0)" }, reason].compactMap { $0 }.joined(separator: " ")
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(version, forKey: .version)
            try c.encode(sha256, forKey: .sha256)
            try c.encode(reason, forKey: .reason)
        }
    }

    /// The last model the gateway's guards rolled back on their own (absent when none has been).
    public struct RolledBack: Codable, Sendable, Equatable {
        public var version: Int?
        public var sha256: String
        /// The guard that tripped: `flapping`, `stuck`, `outOfRange`, `brokenOutput`, `drift` or `accuracy`.
        public var guardName: String
        /// What it saw, with the numbers.
        public var reason: String
        /// When (ISO-8601, gateway clock).
        public var at: String

        public init(version: Int?, sha256: String, guardName: String, reason: String, at: String) {
            self.version = version
            self.sha256 = sha256
            self.guardName = guardName
            self.reason = reason
            self.at = at
        }

        enum CodingKeys: String, CodingKey {
            case version, sha256
            case guardName = "guard"
            case reason, at
        }

        /// `v4 flapping: …`.
        public var summary: String {
            [version.map { "v\($0)" }, "\(guardName): \(reason)"].compactMap { $0 }.joined(separator: " ")
        }
    }

    /// `modelID@version` of the running model; nil while the rule decides.
    public var active: String?
    /// SHA-256 (hex) of the active bundle file.
    public var sha256: String?
    public var refused: Refusal?
    /// Written only when present (`{"version":4,"sha256":"…","guard":"stuck","reason":"…","at":"…"}`).
    public var rolledBack: RolledBack?
    /// The last guard that tripped after probation and only alerted (same fields as `rolledBack`; written only when
    /// present): the model kept deciding.
    public var guardAlert: RolledBack?
    /// When the gateway wrote it (ISO-8601).
    public var at: String?
    /// `modelID@version` of the bundle scored in shadow (absent when none).
    public var shadow: String?
    public var shadowSha256: String?
    /// Telemetry rows in the gateway's spool not yet uploaded, when it was written (absent from older gateways and
    /// from gateways that send telemetry over MQTT only).
    public var spoolBacklog: Int? = nil
    /// The gateway process's CPU time, RSS and uptime when it was written (absent from older gateways).
    public var process: MonitorDocument.Process? = nil

    public init(
        active: String?, sha256: String?, refused: Refusal?, rolledBack: RolledBack? = nil,
        guardAlert: RolledBack? = nil, at: String?
    ) {
        self.active = active
        self.sha256 = sha256
        self.refused = refused
        self.rolledBack = rolledBack
        self.guardAlert = guardAlert
        self.at = at
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(active, forKey: .active)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(refused, forKey: .refused)
        try c.encodeIfPresent(rolledBack, forKey: .rolledBack)
        try c.encodeIfPresent(guardAlert, forKey: .guardAlert)
        try c.encode(at, forKey: .at)
        try c.encodeIfPresent(shadow, forKey: .shadow)
        try c.encodeIfPresent(shadowSha256, forKey: .shadowSha256)
        try c.encodeIfPresent(spoolBacklog, forKey: .spoolBacklog)
        try c.encodeIfPresent(process, forKey: .process)
    }
}
