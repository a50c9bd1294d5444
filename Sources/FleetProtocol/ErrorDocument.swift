/// A refused request's body: `{"error":"<one line>"}`.
public struct ErrorDocument: Codable, Sendable, Equatable {
    public var error: String

    public init(error: String) {
        self.error = error
    }
}

/// `GET /health`: `{"status":"ok"}`.
public struct HealthDocument: Codable, Sendable, Equatable {
    public var status: String

    public init(status: String) {
        self.status = status
    }
}
