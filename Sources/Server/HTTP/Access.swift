import Hummingbird

/// Who is calling, from the bearer token: a gateway (which may touch only its own data and model) or the admin.
enum Caller: Equatable {
    case gateway(String)
    case admin
}

struct Access: Sendable {
    let config: ServerConfig
    /// Token hash → gateway id.
    let gateways: [String: String]
    /// Where refused credentials are logged (rate-limited; never the token).
    let refusals: LoginRefusals?

    init(config: ServerConfig, refusals: LoginRefusals? = nil) {
        self.config = config
        self.refusals = refusals
        gateways = Dictionary(config.gateways.map { ($0.tokenHash, $0.id) }, uniquingKeysWith: { first, _ in first })
    }

    /// 401 without a known token.
    func caller(_ request: Request) throws -> Caller {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            refusals?.refused("\(request.method) \(request.uri.path) without a bearer token")
            throw APIError(.unauthorized, "missing bearer token", headers: [.wwwAuthenticate: "Bearer"])
        }
        let hash = tokenHash(String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces))
        if let admin = config.adminTokenHash, constantTimeEqual(hash, admin) { return .admin }
        // Looked up by the token's SHA-256: timing can tell at most something about a hash, not about a token.
        if let gateway = gateways[hash] { return .gateway(gateway) }
        refusals?.refused("\(request.method) \(request.uri.path) with an unknown token")
        throw APIError(.unauthorized, "unknown token", headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
    }

    /// The gateway itself (or the admin); 403 for another gateway's token, 404 for a gateway the server does not know.
    @discardableResult
    func requireGateway(_ request: Request, id: String, adminAllowed: Bool = true) throws -> Caller {
        let caller = try caller(request)
        switch caller {
        case .admin where adminAllowed:
            guard config.gateway(id) != nil else { throw APIError(.notFound, "unknown gateway '\(id)'") }
        case .admin:
            throw APIError(.forbidden, "only gateway '\(id)' may do this")
        case .gateway(let own):
            guard own == id else {
                refusals?.refused("\(request.method) \(request.uri.path) with the token of gateway '\(own)'")
                throw APIError(.forbidden, "this token belongs to gateway '\(own)', not '\(id)'")
            }
        }
        return caller
    }

    func requireAdmin(_ request: Request) throws {
        guard try caller(request) == .admin else { throw APIError(.forbidden, "this needs the admin token") }
    }
}

/// Compares two hex digests without stopping at the first difference.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var diff: UInt8 = 0
    for i in x.indices { diff |= x[i] ^ y[i] }
    return diff == 0
}
