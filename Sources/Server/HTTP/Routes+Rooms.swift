import Hummingbird
import OccupantCore

/// `GET /v1/scopes/{scope}/rooms`: the per-room report (fleet model vs room model), for the admin token or the
/// dashboard's read-only viewer token.
extension Routes {
    static let roomsRoute = "/v1/scopes/:scope/rooms"

    func addRoomRoutes(_ router: Router<BasicRequestContext>) {
        router.get(RouterPath(Self.roomsRoute)) { request, context in try await rooms(request, context) }
    }

    func rooms(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try requireReader(request)
        let scope = try knownScope(context)
        return try Response.json(try await registry.roomsDocument(scope: scope))
    }

    /// The admin token, or the dashboard's viewer token (read-only).
    func requireReader(_ request: Request) throws {
        if let viewer = config.dashboard.viewerTokenHash, let header = request.headers[.authorization],
            header.hasPrefix("Bearer "),
            constantTimeEqual(
                tokenHash(String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)), viewer)
        {
            return
        }
        try access.requireAdmin(request)
    }
}
