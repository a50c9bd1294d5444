/// What a retraining job did: the answer of `POST /v1/scopes/{scope}/retrain`.
public struct RetrainOutcome: Codable, Sendable, Equatable {
    public var scope: String
    /// The challenger's version; nil when no model was trained (no data, training refused, a job already running).
    public var version: Int?
    public var promoted: Bool
    public var reason: String
    public var sha256: String?
    /// Stored rows the job left out because a reading was of the wrong kind for its channel (text on a number
    /// channel, say); nil or 0 when none.
    public var skippedRows: Int?

    public init(
        scope: String, version: Int?, promoted: Bool, reason: String, sha256: String?, skippedRows: Int? = nil
    ) {
        self.scope = scope
        self.version = version
        self.promoted = promoted
        self.reason = reason
        self.sha256 = sha256
        self.skippedRows = skippedRows
    }

    /// A model was trained and stored (promoted or kept as challenger).
    public var trained: Bool { version != nil }

    /// One line for people: `office v3 promoted: …`, `office v3 kept as challenger: …`, `office: no model trained: …`.
    public var summary: String {
        let skipped =
            (skippedRows ?? 0) > 0 ? " (\(skippedRows!) stored rows skipped: a reading of the wrong kind)" : ""
        guard let version else { return "\(scope): no model trained: \(reason)\(skipped)" }
        return "\(scope) v\(version) \(promoted ? "promoted" : "kept as challenger"): \(reason)\(skipped)"
    }
}
