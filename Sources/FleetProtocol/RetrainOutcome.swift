/// What a retraining job did: the answer of `POST /v1/scopes/{scope}/retrain`.
public struct RetrainOutcome: Codable, Sendable, Equatable {
    public var scope: String
    /// The challenger's version; nil when no model was trained (no data, training refused, a job already running).
    public var version: Int?
    public var promoted: Bool
    public var reason: String
    public var sha256: String?

    public init(scope: String, version: Int?, promoted: Bool, reason: String, sha256: String?) {
        self.scope = scope
        self.version = version
        self.promoted = promoted
        self.reason = reason
        self.sha256 = sha256
    }

    /// A model was trained and stored (promoted or kept as challenger).
    public var trained: Bool { version != nil }

    /// One line for people: `office v3 promoted: …`, `office v3 kept as challenger: …`, `office: no model trained: …`.
    public var summary: String {
        guard let version else { return "\(scope): no model trained: \(reason)" }
        return "\(scope) v\(version) \(promoted ? "promoted" : "kept as challenger"): \(reason)"
    }
}
