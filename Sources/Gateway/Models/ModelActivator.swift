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
    /// Records probation starts (nil: the guards only watch).
    var recorder: ProbationRecorder? = nil

    /// Switches the running loop to the store's active bundle; `by` says who asked, for the log line.
    @discardableResult
    func switchToActive(by who: String) -> ActivationResult {
        let result = ModelActivator.load(store: store, verifier: verifier, now: clock.now())
        switch result {
        case .none:
            break
        case .success(let scorer, let sha256):
            let manifest = scorer.bundle.manifest
            let subject = ProbationSubject(
                modelID: manifest.modelID, version: manifest.version, sha256: sha256, bundle: scorer.bundle,
                onProbation: loop.probationSettings.enabled)
            if subject.onProbation { recorder?.started(subject) }
            loop.replaceScorer(scorer, hysteresis: scorer.hysteresis, note: nil, subject: subject)
            board.update {
                $0.active = .init(
                    modelID: scorer.bundle.manifest.modelID, version: scorer.bundle.manifest.version, sha256: sha256)
                $0.guardAlert = nil
            }
            logger.info("model switched by \(who): \(scorer.id)", metadata: ["model.sha256": "\(sha256)"])
        case .failure(let reason):
            logger.error("model refused, the running one keeps deciding: \(reason)")
        }
        return result
    }

    /// Loads and checks the store's active bundle (or `file`). `.none` when nothing is installed.
    static func load(
        store: ModelStore, verifier: ModelVerifier, now: Instant, file: String? = nil
    ) -> ActivationResult {
        guard let file = file ?? store.activeFile else { return .none }
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
