import FleetProtocol
import Hummingbird
import OccupantCore

/// Shadow scoring over HTTP: a gateway fetches its shadow bundle; the admin reads and sets a scope's assignments.
extension Routes {
    func addShadowRoutes(_ router: Router<BasicRequestContext>) {
        router.get(RouterPath(API.Route.gatewayShadow)) { request, context in try await shadowBundle(request, context) }
        router.get(RouterPath(API.Route.scopeShadow)) { request, context in try await shadowListing(request, context) }
        router.put(RouterPath(API.Route.scopeShadow)) { request, context in try await assignShadow(request, context) }
    }

    /// `GET /v1/gateways/{id}/shadow`: like `…/model`, for the bundle to score in shadow; `204` when none.
    func shadowBundle(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try parameter("id", context)
        try access.requireGateway(request, id: id)
        guard let record = try await registry.shadowModel(for: id) else { return Response(status: .noContent) }
        return try deliver(record, request)
    }

    func shadowListing(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let scope = try parameter("scope", context)
        do {
            return try Response.json(try await registry.shadowListing(scope: scope))
        } catch let error as OccupantError {
            throw APIError(.notFound, error.message)
        }
    }

    /// `PUT /v1/scopes/{scope}/shadow` with a `ShadowAssignment`; answers the listing.
    func assignShadow(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try access.requireAdmin(request)
        let scope = try parameter("scope", context)
        let assignment: ShadowAssignment
        do {
            assignment = try FleetJSON.decode(ShadowAssignment.self, from: try await body(request))
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, "shadow assignment: \(Intake.describe(error))")
        }
        do {
            try await registry.assignShadow(scope: scope, version: assignment.version, gateway: assignment.gateway)
            return try Response.json(try await registry.shadowListing(scope: scope))
        } catch let error as OccupantError {
            throw APIError(config.scopes.contains(scope) ? .badRequest : .notFound, error.message)
        }
    }
}
