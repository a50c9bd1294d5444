import Evaluator
import Logging
import MQTT
import OccupantCore
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Keeps the gateway's model in step with the training host: polls `GET …/model` at the configured interval (with
/// jitter, `If-None-Match` the active bundle), and fetches at once when the server announces a bundle on
/// `…/model/available`. A download resumes with `Range` after an interruption; the bytes must match the announced
/// SHA-256 and pass every bundle check before the bundle is installed and the loop switches to it. A refused bundle
/// is remembered by hash and not fetched again; the running model keeps deciding. The outcome of each attempt that
/// changes something is published on `…/model/status`.
public final class ModelUpdater: Service, MQTTListener, Sendable {
    let client: ServerClient
    let settings: GatewayConfig.Server
    let activator: ModelActivator
    let board: ModelStatusBoard
    let publisher: GatewayPublisher
    let logger: Logger
    private let triggers: AsyncStream<Trigger>
    private let continuation: AsyncStream<Trigger>.Continuation
    let state: Mutex<State>

    enum Trigger: Sendable {
        case poll
        case push(ModelAnnouncement)
        /// The announcement names a shadow bundle other than the one held: ask `…/shadow` now.
        case shadow
    }

    struct State {
        /// Hashes of bundles refused here (also kept in `<models>/refused`).
        var refused: Set<String>
        /// Monotonic seconds of the next poll.
        var nextPollAt: Double
        /// Failed attempts in a row (for the retry backoff).
        var failures = 0
        /// The last failure logged as a warning (the same one again is logged at debug level).
        var lastFailure: String?
        /// Failures logged as warnings since start.
        var failureWarnings = 0
        var limits = DownloadLimits()
    }

    /// How long a download may take: the connection and the answer's head within `head` seconds, no byte for `idle`
    /// seconds, or more than `base` + `secondsPerMiB` per MiB of the announced size for the whole body, and the
    /// attempt fails (the bytes received so far are kept and resumed).
    public struct DownloadLimits: Sendable, Equatable {
        public var head = 30.0
        public var idle = 30.0
        public var base = 60.0
        public var secondsPerMiB = 60.0

        public init() {}

        /// Seconds the whole body of `bytes` bytes may take.
        func overall(bytes: Int) -> Double { base + Double(bytes) / 1_048_576 * secondsPerMiB }
    }

    /// The download limits (tests shorten them).
    public var downloadLimits: DownloadLimits {
        get { state.withLock { $0.limits } }
        set { state.withLock { $0.limits = newValue } }
    }

    public init(
        client: ServerClient, settings: GatewayConfig.Server, activator: ModelActivator, board: ModelStatusBoard,
        publisher: GatewayPublisher, logger: Logger
    ) {
        self.client = client
        self.settings = settings
        self.activator = activator
        self.board = board
        self.publisher = publisher
        self.logger = logger
        let (triggers, continuation) = AsyncStream.makeStream(of: Trigger.self, bufferingPolicy: .bufferingNewest(16))
        self.triggers = triggers
        self.continuation = continuation
        let refusedFile = activator.store.directory + "/refused"
        let refused =
            (try? activator.store.files.read(refusedFile)).map { bytes in
                Set(String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init).filter(isSHA256Hex))
            } ?? []
        // The first poll comes right after start.
        state = Mutex(State(refused: refused, nextPollAt: monotonicSeconds()))
    }

    private func pollIsDue() -> Bool {
        state.withLock { s in
            guard monotonicSeconds() >= s.nextPollAt else { return false }
            s.nextPollAt = .infinity // set again once this poll is done
            return true
        }
    }

    /// Failed attempts logged as warnings since start (a repeated failure is logged once).
    var failureWarnings: Int { state.withLock { $0.failureWarnings } }

    /// Hashes refused so far.
    public var refusedHashes: Set<String> { state.withLock { $0.refused } }

    public func run() async throws {
        let timer = Task {
            while !Task.isCancelled {
                if self.pollIsDue() { self.continuation.yield(.poll) }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { timer.cancel() }
        try? await cancelWhenGracefulShutdown {
            for await trigger in self.triggers {
                if Task.isCancelled { break }
                await self.handle(trigger)
            }
        }
    }

    // MARK: MQTT

    public func connected() {
        do {
            try publisher.connection.subscribe(publisher.topics.modelAvailable, qos: 1)
        } catch {
            logger.warning(
                "cannot subscribe to model announcements: \(error)",
                metadata: ["mqtt.topic": "\(publisher.topics.modelAvailable)"])
        }
        publishStatus()
    }

    public func received(_ message: MQTTMessage) {
        guard message.topic == publisher.topics.modelAvailable, !message.payload.isEmpty else { return }
        guard let announcement = ModelAnnouncement.parse(message.payload) else {
            logger.warning(
                "ignoring a malformed model announcement: \(message.text.prefix(200))",
                metadata: ["mqtt.topic": "\(message.topic)"])
            return
        }
        if let id = announcement.modelID, let version = announcement.version {
            board.update { $0.assigned = "\(id)@\(version)" }
        }
        if shadowAnnounced(announcement) { continuation.yield(.shadow) }
        if let reason = skipReason(sha256: announcement.sha256) {
            logger.debug("model announcement \(announcement.sha256.prefix(12)): \(reason)")
            return
        }
        logger.info(
            "model announced: \(announcement.modelID ?? "?")@\(announcement.version.map(String.init) ?? "?"), fetching now",
            metadata: ["model.sha256": "\(announcement.sha256)"])
        continuation.yield(.push(announcement))
    }

    /// The announced URL when it is on the configured server (the bearer token goes nowhere else); else our own.
    func downloadURL(_ announcement: ModelAnnouncement) -> String {
        guard let url = announcement.url else { return client.modelURL }
        if url.hasPrefix(client.baseURL + "/") { return url }
        logger.warning(
            "the announcement's url \(url) is not on \(client.baseURL); fetching from \(client.modelURL) instead")
        return client.modelURL
    }

    /// Why a bundle with this hash need not be fetched, or nil.
    func skipReason(sha256: String) -> String? {
        if board.current.active?.sha256 == sha256 { return "already active" }
        if state.withLock({ $0.refused.contains(sha256) }) { return "refused before" }
        if board.wasRolledBack(sha256) { return "rolled back before by a guard" }
        return nil
    }

    func publishStatus() {
        publisher.publish(modelStatus: Payloads.modelStatus(board.current, at: SystemClock().now()))
    }

    // MARK: Attempts

    private func handle(_ trigger: Trigger) async {
        let outcome: FetchOutcome
        switch trigger {
        case .shadow:
            await updateShadow()
            return
        case .poll:
            outcome = await fetch(url: client.modelURL, expected: nil)
            await updateShadow()
        case .push(let announcement):
            if skipReason(sha256: announcement.sha256) != nil { return } // installed or refused meanwhile
            outcome = await fetch(url: downloadURL(announcement), expected: announcement.sha256)
        }
        if Task.isCancelled { return } // shutting down: the attempt was cut short, nothing to report
        report(outcome)
        // The next poll: the interval with jitter after success, a short capped backoff after a failure.
        state.withLock { s in
            let delay: Double
            if case .failed = outcome {
                s.failures += 1
                delay = min(settings.pollInterval, Double(1 << min(s.failures - 1, 10)))
            } else {
                s.failures = 0
                let jitter = settings.pollJitter
                delay = settings.pollInterval * (1 + Double.random(in: -jitter...jitter))
            }
            s.nextPollAt = min(s.nextPollAt, monotonicSeconds() + delay)
        }
    }

    /// A refused bundle (active or shadow): remembered so it is not fetched again, shown on the board and in the status,
    /// logged once as an error with its hash and version.
    func recordRefusal(_ refusal: ModelStatus.Refusal, what: String) {
        state.withLock { _ = $0.refused.insert(refusal.sha256) }
        rememberRefusal(refusal.sha256)
        board.update { $0.refused = refusal }
        logger.error(
            "\(what): \(refusal.reason)",
            metadata: [
                "model.sha256": "\(refusal.sha256)", "model.version": "\(refusal.version.map(String.init) ?? "?")",
            ])
        publishStatus()
    }

    private func report(_ outcome: FetchOutcome) {
        switch outcome {
        case .notModified:
            logger.debug("model poll: not modified")
        case .noModel:
            logger.debug("model poll: the server has no model for this gateway")
        case .skipped(let sha, let reason):
            logger.debug("model \(sha.prefix(12)) not fetched: \(reason)")
        case .installed(let name, let sha):
            board.update { $0.refused = nil }
            logger.info("model \(name) from the server installed and active", metadata: ["model.sha256": "\(sha)"])
            publishStatus()
        case .refused(let refusal):
            recordRefusal(refusal, what: "model from the server refused, the running one keeps deciding")
        case .failed(let reason):
            // Once per change of reason: a server that keeps answering 401 is one warning, not one per retry.
            let repeated = state.withLock { s -> Bool in
                defer { s.lastFailure = reason }
                if s.lastFailure != reason { s.failureWarnings += 1 }
                return s.lastFailure == reason
            }
            if repeated {
                logger.debug("model fetch failed again: \(reason); will retry")
            } else {
                logger.warning("model fetch failed: \(reason); will retry")
            }
        }
        if case .failed = outcome {} else { state.withLock { $0.lastFailure = nil } }
    }

    func rememberRefusal(_ sha: String) {
        do {
            let files = activator.store.files
            try files.makeDirectories(activator.store.directory)
            try files.appendDurably(Array((sha + "\n").utf8), to: activator.store.directory + "/refused")
        } catch {
            logger.warning("cannot record the refused hash: \(error.message)")
        }
    }
}

extension ModelAnnouncement {
    /// The announcement, or nil unless it names a SHA-256 and an `http(s)` URL (if any).
    static func parse(_ payload: [UInt8]) -> ModelAnnouncement? {
        guard var a = try? FleetJSON.decode(ModelAnnouncement.self, from: payload) else { return nil }
        a.sha256 = a.sha256.lowercased()
        guard isSHA256Hex(a.sha256) else { return nil }
        if let url = a.url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) { return nil }
        return a
    }
}

/// What one fetch attempt came to.
enum FetchOutcome: Sendable {
    case notModified
    case noModel
    case skipped(sha256: String, reason: String)
    case installed(name: String, sha256: String)
    case refused(ModelStatus.Refusal)
    case failed(String)
}

#if canImport(Glibc)
    import Glibc
#endif
