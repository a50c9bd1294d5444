import Evaluator
import OccupantCore

/// The one install flow, used by `occupant model install` and by the model updater: every bundle check (signature,
/// format, profile, expiry, golden vectors, and newer than the store's active bundle of the same model id), then an
/// atomic install that makes it the store's active bundle. Switching a running loop to it is the activator's job.
public struct ModelInstaller: Sendable {
    public let store: ModelStore
    public let verifier: ModelVerifier

    public init(store: ModelStore, verifier: ModelVerifier) {
        self.store = store
        self.verifier = verifier
    }

    /// Why a bundle did not get installed.
    public enum Failure: Error, CustomStringConvertible {
        /// The bundle failed a check; nothing was written.
        case refused(BundleError, version: Int?)
        /// The bundle (`id@version`) passed but the store could not write it.
        case storeFailed(OccupantError, model: String)

        public var description: String {
            switch self {
            case .refused(let error, _): return "\(error.reason.rawValue): \(error.message)"
            case .storeFailed(let error, let model): return "installing \(model): \(error.message)"
            }
        }
    }

    /// The id and version of the store's active bundle, read from disk (nil when none, or when it is unreadable).
    public var activeVersion: (id: String, version: Int)? {
        guard let file = store.activeFile,
            let bytes = try? ModelBundle.read(path: store.path(of: file)),
            let bundle = try? ModelBundle.decode(bytes)
        else { return nil }
        return (bundle.manifest.modelID, bundle.manifest.version)
    }

    /// Checks and installs `bytes`; returns the bundle and its file name in the store.
    public func install(_ bytes: [UInt8], now: Instant) throws(Failure) -> (bundle: ModelBundle, file: String) {
        let bundle: ModelBundle
        do {
            bundle = try verifier.verify(bytes, now: now, activeVersion: activeVersion)
        } catch {
            throw .refused(error, version: try? ModelBundle.decode(bytes).manifest.version)
        }
        do {
            let file = try store.install(bytes, modelID: bundle.manifest.modelID, version: bundle.manifest.version)
            return (bundle, file)
        } catch {
            throw .storeFailed(error, model: "\(bundle.manifest.modelID)@\(bundle.manifest.version)")
        }
    }
}
