/// A gateway's retained `model/status`: `{"active":"id@3","at":"…","refused":null,"sha256":"…"}`; `refused` is
/// `{"reason":"badSignature: …","sha256":"…","version":4}` after a refusal. Absent values are written as null.
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

    /// `modelID@version` of the running model; nil while the rule decides.
    public var active: String?
    /// SHA-256 (hex) of the active bundle file.
    public var sha256: String?
    public var refused: Refusal?
    /// When the gateway wrote it (ISO-8601).
    public var at: String?
    /// `modelID@version` of the bundle scored in shadow (absent when none).
    public var shadow: String?
    public var shadowSha256: String?

    public init(active: String?, sha256: String?, refused: Refusal?, at: String?) {
        self.active = active
        self.sha256 = sha256
        self.refused = refused
        self.at = at
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(active, forKey: .active)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(refused, forKey: .refused)
        try c.encode(at, forKey: .at)
        try c.encodeIfPresent(shadow, forKey: .shadow)
        try c.encodeIfPresent(shadowSha256, forKey: .shadowSha256)
    }
}
