import Crypto
import Synchronization

/// Which model the gateway runs and the last bundle it refused, as published on `…/model/status`.
public struct ModelStatus: Sendable, Equatable {
    public struct Active: Sendable, Equatable {
        public var modelID: String
        public var version: Int
        /// SHA-256 (hex) of the active bundle file.
        public var sha256: String
        public var name: String { "\(modelID)@\(version)" }
    }

    public struct Refusal: Sendable, Equatable {
        public var version: Int?
        public var sha256: String
        /// `<BundleError reason>: <message>`.
        public var reason: String
    }

    public var active: Active?
    public var refused: Refusal?
    /// The bundle scored in shadow beside the active one, if any.
    public var shadow: Active?

    public init(active: Active? = nil, refused: Refusal? = nil) {
        self.active = active
        self.refused = refused
    }
}

/// The model status shared by the activation path, the updater and the publisher.
public final class ModelStatusBoard: Sendable {
    private let status = Mutex(ModelStatus())

    public init() {}

    public var current: ModelStatus { status.withLock { $0 } }

    func update(_ body: (inout ModelStatus) -> Void) { status.withLock { body(&$0) } }
}
