/// `GET /v1/gateways`: which model each gateway should run, and what it last reported.
public struct GatewayListing: Codable, Sendable, Equatable {
    public struct Gateway: Codable, Sendable, Equatable {
        public var id: String
        public var scope: String
        /// `modelID@version` the server assigns; nil: the static rule.
        public var assigned: String?
        public var assignedSha256: String?
        /// `modelID@version` the gateway reports running.
        public var active: String?
        public var activeSha256: String?
        /// The gateway's last refusal, `v4 badSignature: …`.
        public var refused: String?
        /// When the gateway last reported (ISO-8601).
        public var reportedAt: String?
        /// The gateway's last automatic rollback, `v5 stuck: …` (absent when none).
        public var rolledBack: String? = nil

        public init(
            id: String, scope: String, assigned: String?, assignedSha256: String?, active: String?,
            activeSha256: String?,
            refused: String?, reportedAt: String?
        ) {
            self.id = id
            self.scope = scope
            self.assigned = assigned
            self.assignedSha256 = assignedSha256
            self.active = active
            self.activeSha256 = activeSha256
            self.refused = refused
            self.reportedAt = reportedAt
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(scope, forKey: .scope)
            try c.encode(assigned, forKey: .assigned)
            try c.encode(assignedSha256, forKey: .assignedSha256)
            try c.encode(active, forKey: .active)
            try c.encode(activeSha256, forKey: .activeSha256)
            try c.encode(refused, forKey: .refused)
            try c.encode(reportedAt, forKey: .reportedAt)
            try c.encodeIfPresent(rolledBack, forKey: .rolledBack)
        }
    }

    public var gateways: [Gateway]

    public init(gateways: [Gateway]) {
        self.gateways = gateways
    }
}
