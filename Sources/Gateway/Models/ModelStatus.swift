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

    /// The last model a guard rolled back (kept in `<models>/rolled-back`), or a guard's alert.
    public struct RolledBack: Sendable, Equatable, Codable {
        public var modelID: String
        public var version: Int?
        public var sha256: String
        public var guardName: String
        public var reason: String
        /// ISO-8601, gateway clock.
        public var at: String
    }

    public var active: Active?
    public var refused: Refusal?
    /// `<id>@<version>` the server assigns this gateway, as last announced or served (nil until it names one).
    public var assigned: String?
    public var rolledBack: RolledBack?
    /// The last guard that tripped after probation (alert only, the model kept deciding).
    public var guardAlert: RolledBack?
    /// The bundle scored in shadow beside the active one, if any.
    public var shadow: Active?

    public init(active: Active? = nil, refused: Refusal? = nil, rolledBack: RolledBack? = nil) {
        self.active = active
        self.refused = refused
        self.rolledBack = rolledBack
    }
}

/// The model status shared by the activation path, the updater and the publisher.
public final class ModelStatusBoard: Sendable {
    private let status = Mutex(ModelStatus())
    /// Every bundle hash a guard rolled back here: never fetched or installed again by the updater.
    private let rolledBackHashes = Mutex(Set<String>())

    public init() {}

    public var current: ModelStatus { status.withLock { $0 } }

    func update(_ body: (inout ModelStatus) -> Void) { status.withLock { body(&$0) } }

    /// Whether a guard rolled back the bundle with this hash.
    public func wasRolledBack(_ sha256: String) -> Bool { rolledBackHashes.withLock { $0.contains(sha256) } }

    /// The hashes rolled back so far.
    public var rolledBack: Set<String> { rolledBackHashes.withLock { $0 } }

    func noteRolledBack(_ hashes: some Sequence<String>) { rolledBackHashes.withLock { $0.formUnion(hashes) } }
}
