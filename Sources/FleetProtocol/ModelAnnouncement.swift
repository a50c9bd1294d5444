/// The server's retained announcement on a gateway's `model/available`:
/// `{"modelID":"occupancy-office","sha256":"…","size":41230,"url":"https://host/v1/gateways/g/model","version":3}`.
public struct ModelAnnouncement: Codable, Sendable, Equatable {
    public var modelID: String?
    public var version: Int?
    public var sha256: String
    public var size: Int?
    /// Where to fetch it (the gateway fetches only from its configured server).
    public var url: String?
    /// The bundle assigned to score in shadow (`modelID@version`, its SHA-256), or nil for none; absent from servers
    /// that predate shadow scoring. The gateway fetches it from `…/shadow`.
    public var shadow: Shadow?

    public struct Shadow: Codable, Sendable, Equatable {
        public var model: String
        public var sha256: String
        public init(model: String, sha256: String) {
            self.model = model
            self.sha256 = sha256
        }
    }

    public init(
        modelID: String?, version: Int?, sha256: String, size: Int?, url: String?, shadow: Shadow? = nil
    ) {
        self.shadow = shadow
        self.modelID = modelID
        self.version = version
        self.sha256 = sha256
        self.size = size
        self.url = url
    }
}
