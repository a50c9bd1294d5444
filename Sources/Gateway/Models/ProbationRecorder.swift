import Evaluator
import Logging
import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a guard's verdict changes outside the loop: the store's pointers, the files that survive a restart
/// (`<models>/probation`: the hash of the bundle on probation; `<models>/rolled-back`: one JSON line per rollback),
/// the status board and `…/model/status`, and the log.
public final class ProbationRecorder: Sendable {
    let store: ModelStore
    let board: ModelStatusBoard
    let publisher: GatewayPublisher
    let logger: Logger

    public init(store: ModelStore, board: ModelStatusBoard, publisher: GatewayPublisher, logger: Logger) {
        self.store = store
        self.board = board
        self.publisher = publisher
        self.logger = logger
    }

    var probationFile: String { store.directory + "/probation" }
    var rolledBackFile: String { store.directory + "/rolled-back" }

    /// Every rollback recorded in `store`, oldest first (`occupant model list` shows them).
    public static func rollbacks(in store: ModelStore) -> [ModelStatus.RolledBack] {
        guard let bytes = try? store.files.read(store.directory + "/rolled-back") else { return [] }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap {
            try? FleetJSON.decode(ModelStatus.RolledBack.self, from: Array($0))
        }
    }

    /// The rollbacks recorded before (the board learns every hash and shows the last one).
    public func load() {
        let records = Self.rollbacks(in: store)
        board.noteRolledBack(records.map(\.sha256))
        if let last = records.last { board.update { $0.rolledBack = last } }
    }

    /// Whether the bundle with this hash was still on probation when the gateway stopped.
    public func wasOnProbation(_ sha256: String) -> Bool {
        guard let bytes = try? store.files.read(probationFile) else { return false }
        return String(decoding: bytes, as: UTF8.self).trimmingWhitespaceAndNewlines() == sha256
    }

    /// A model became active: it is on probation (until `passed` or a rollback), also across a restart.
    func started(_ subject: ProbationSubject) {
        do {
            try store.files.makeDirectories(store.directory)
            try store.files.writeAtomically(Array((subject.sha256 + "\n").utf8), to: probationFile)
        } catch {
            logger.warning("cannot record the probation of \(subject.modelID): \(error.message)")
        }
    }

    func passed(_ subject: ProbationSubject, duration: Double) {
        try? store.files.remove(probationFile)
        logger.info(
            "model \(subject.modelID)@\(subject.version.map(String.init) ?? "?") passed probation (\(formatNumber(duration)) s); its guards now alert only",
            metadata: ["model.sha256": "\(subject.sha256)"])
    }

    /// A guard tripped after probation: one warning and `guardAlert` on the status, nothing switched.
    func alert(_ subject: ProbationSubject, _ trip: Probation.Trip, at: Instant) {
        board.update {
            $0.guardAlert = .init(
                modelID: subject.modelID, version: subject.version, sha256: subject.sha256,
                guardName: trip.guardName.rawValue, reason: trip.reason, at: at.iso8601)
        }
        publisher.publish(modelStatus: Payloads.modelStatus(board.current, at: SystemClock().now()))
        logger.warning(
            "model guard \(trip.guardName.rawValue) tripped for \(subject.modelID)@\(subject.version.map(String.init) ?? "?") (alert only, no switch back): \(trip.reason)",
            metadata: ["model.sha256": "\(subject.sha256)"])
    }

    /// The loop switched back from `subject` to `fallback` (nil: the rule): the store follows, the rollback is
    /// recorded for good, the status says so.
    func rolledBack(_ subject: ProbationSubject, to fallback: ProbationSubject?, _ trip: Probation.Trip, at: Instant) {
        let record = ModelStatus.RolledBack(
            modelID: subject.modelID, version: subject.version, sha256: subject.sha256,
            guardName: trip.guardName.rawValue, reason: trip.reason, at: at.iso8601)
        logger.error(
            "model \(subject.modelID)@\(subject.version.map(String.init) ?? "?") rolled back by the \(trip.guardName.rawValue) guard: \(trip.reason); now deciding with \(fallback.map { "\($0.modelID)@\($0.version.map(String.init) ?? "?")" } ?? "the rule")",
            metadata: ["model.sha256": "\(subject.sha256)"])
        do {
            if let file = store.activeFile, let bytes = try? store.files.read(store.path(of: file)),
                sha256Hex(bytes) == subject.sha256
            {
                try store.setAside(file)
            }
            try? store.files.remove(probationFile)
            try store.files.makeDirectories(store.directory)
            let line = try FleetJSON.text(record) + "\n"
            try store.files.appendDurably(Array(line.utf8), to: rolledBackFile)
        } catch let error as OccupantError {
            logger.warning("cannot record the rollback in \(store.directory): \(error.message)")
        } catch {
            logger.warning("cannot record the rollback in \(store.directory): \(error)")
        }
        board.noteRolledBack([subject.sha256])
        board.update {
            $0.rolledBack = record
            $0.guardAlert = nil
            $0.active = fallback.map { .init(modelID: $0.modelID, version: $0.version ?? 0, sha256: $0.sha256) }
        }
        publisher.publish(modelStatus: Payloads.modelStatus(board.current, at: SystemClock().now()))
    }
}
