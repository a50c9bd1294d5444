import FleetProtocol
import OccupantCore

extension ServerMQTT {
    /// A gateway's `rolledBack` status member: stored once per (gateway, bundle, time) and logged once, with the guard
    /// and its numbers (the rollout's waves read them from the store).
    func recordRollback(_ r: ModelStatusDocument.RolledBack, gateway: String, now: Double) async throws {
        let sha = r.sha256.lowercased()
        guard sha.count == 64, sha.allSatisfy(\.isHexDigit) else {
            throw IntakeError(422, "rolledBack.sha256 is not a SHA-256 in hex")
        }
        guard let at = Instant(iso8601: r.at)?.seconds else {
            throw IntakeError(422, "rolledBack.at '\(r.at.prefix(40))' is not an ISO-8601 time")
        }
        guard !r.guardName.isEmpty, r.guardName.count <= 64 else {
            throw IntakeError(422, "rolledBack.guard must name a guard (1–64 characters)")
        }
        let record = ModelRollbackRecord(
            gateway: gateway, version: r.version, sha256: sha, guardName: r.guardName,
            reason: String(r.reason.prefix(1000)), at: at, received: now)
        if try await store.addRollback(record) {
            logger.warning(
                "\(gateway) rolled back \(record.version.map { "v\($0)" } ?? sha.prefix(12) + "…") on its own: \(record.guardName): \(record.reason)"
            )
        }
    }
}
