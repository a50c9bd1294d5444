import Evaluator
import Logging
import OccupantCore

/// The one path from "the store's active bundle changed" to "the loop decides with it", used by the control socket
/// (`occupant model install`/`rollback`) and by the model updater: load the active bundle, run every check, hand
/// the scorer to the loop and record it on the status board.
public struct ModelActivator: Sendable {
    public let store: ModelStore
    public let verifier: ModelVerifier
    let loop: GatewayLoop
    let clock: any GatewayClock
    let board: ModelStatusBoard
    let logger: Logger

    /// Switches the running loop to the store's active bundle; `by` says who asked, for the log line.
    @discardableResult
    func switchToActive(by who: String) -> ActivationResult {
        let result = ModelActivator.load(store: store, verifier: verifier, now: clock.now())
        switch result {
        case .none:
            break
        case .success(let scorer, let sha256):
            loop.replaceScorer(scorer, hysteresis: scorer.hysteresis, note: nil)
            board.update {
                $0.active = .init(
                    modelID: scorer.bundle.manifest.modelID, version: scorer.bundle.manifest.version, sha256: sha256)
            }
            logger.info("model switched by \(who): \(scorer.id)", metadata: ["model.sha256": "\(sha256)"])
        case .failure(let reason):
            logger.error("model refused, the running one keeps deciding: \(reason)")
        }
        return result
    }

    /// Loads and checks the store's active bundle. `.none` when nothing is installed.
    static func load(store: ModelStore, verifier: ModelVerifier, now: Instant) -> ActivationResult {
        guard let file = store.activeFile else { return .none }
        do {
            let bytes = try ModelBundle.read(path: store.path(of: file))
            let bundle = try verifier.verify(bytes, now: now)
            return .success(try ModelScorer(bundle: bundle), sha256: sha256Hex(bytes))
        } catch let error as BundleError {
            return .failure("\(error.reason.rawValue): \(error.message)")
        } catch {
            return .failure("\(error)")
        }
    }

    enum ActivationResult {
        case none
        case success(ModelScorer, sha256: String)
        case failure(String)
    }
}
