import FleetProtocol
import Hummingbird
import OccupantCore

/// `POST /v1/gateways/{id}/monitor`: a gateway's closed monitor window from its spool, the HTTP twin of its retained
/// `occupant/<id>/monitor` message. Checked like that one (`Intake.monitor`), stored once per window start, then
/// judged for alerts.
extension Routes {
    func storeMonitor(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try parameter("id", context)
        let owner = Self.owner(try access.requireGateway(request, id: id))
        return try await uploads.run(owner) { try await storeMonitor(request, gateway: id) }
    }

    func storeMonitor(_ request: Request, gateway id: String) async throws -> Response {
        let bytes = try await body(request)
        let document: MonitorDocument
        do {
            document = try intake.monitor(json: bytes, gateway: id, now: clock.now().seconds)
        } catch {
            throw APIError(error)
        }
        guard let from = document.window.from.seconds else {
            preconditionFailure("Intake.monitor checks the window's times")
        }
        // Windows ending after this one's start: this one, when it is stored already, and the few after it.
        let duplicate = try await store.monitorWindows(gateway: id, since: from).contains {
            $0.window.from.seconds == from
        }
        try await store.insertMonitor(document)
        do {
            try await registry.checkMonitor(gateway: id)
        } catch {
            // The window is stored; the next one judges again.
            registry.logger.error("judging \(id)'s monitor windows for alerts: \(error)")
        }
        return try Response.json(
            MonitorReceipt(gateway: id, from: document.window.from, to: document.window.to, duplicate: duplicate))
    }
}
