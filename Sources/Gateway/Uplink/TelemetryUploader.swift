import Logging
import OccupantCore
import ServiceLifecycle
import Synchronization

/// Writes the telemetry spool to disk every second and, every `interval`, sends what it holds to the training host,
/// one batch per request, oldest first — the closed monitor windows first (`POST …/monitor`, one per request), then
/// the telemetry batches (`POST …/telemetry`).
///
/// 2xx → the batch is deleted (a duplicate answer too: the server has it). 400, 413, 415 and 422 say the batch itself
/// is bad (re-sending the same bytes cannot succeed) → logged and dropped. Anything else — 401/403 (the token),
/// 404, 408, 429, 5xx, no connection — keeps every batch on disk and retries with an exponential backoff capped at
/// `maximumBackoff`. Each change of state (a new kind of failure, or recovery) is logged once, shown in `health`, and
/// sent to systemd as `STATUS=` (what `systemctl status` prints).
public final class TelemetryUploader: Service, Sendable {
    let client: ServerClient
    public let spool: TelemetrySpool
    let interval: Double
    let logger: Logger
    let notifier: SystemdNotifier
    /// Seconds one upload request may take, the answer included.
    let requestTimeout: Double
    private let progress = Mutex(Progress())

    /// The longest wait between two attempts while the server keeps failing.
    public static let maximumBackoff = 300.0

    struct Progress {
        var health = Health.ok
        var failures = 0
        var uploadedRows = 0
        var uploadedBatches = 0
        var rejectedBatches = 0
        var uploadedWindows = 0
        var rejectedWindows = 0
    }

    /// Where uploads stand; every batch stays on disk unless this is `ok`.
    public enum Health: Sendable, Equatable, CustomStringConvertible {
        /// The last upload went through (or none was needed yet).
        case ok
        /// No connection, a timeout, 408, 429 or 5xx.
        case unreachable
        /// 401: the server does not accept this gateway's token.
        case unauthorized
        /// 403: the token belongs to another gateway.
        case forbidden
        /// 404: the server does not know this gateway (or the URL is wrong).
        case notFound
        /// Another answer that does not say the batch is bad (kept, to be safe).
        case unexpected(Int)

        public var description: String {
            switch self {
            case .ok: return "ok"
            case .unreachable: return "unreachable"
            case .unauthorized: return "unauthorized"
            case .forbidden: return "forbidden"
            case .notFound: return "not found"
            case .unexpected(let status): return "HTTP \(status)"
            }
        }
    }

    /// What to do with a batch after the server answered `status`.
    enum Disposition: Equatable {
        case delivered
        /// The batch itself is bad: drop it.
        case drop
        /// Keep the batch, retry later.
        case keep(Health)
    }

    static func disposition(status: Int) -> Disposition {
        switch status {
        case 200..<300: return .delivered
        case 400, 413, 415, 422: return .drop
        case 401: return .keep(.unauthorized)
        case 403: return .keep(.forbidden)
        case 404: return .keep(.notFound)
        case 408, 429, 500..<600: return .keep(.unreachable)
        default: return .keep(.unexpected(status))
        }
    }

    /// Seconds before the next attempt after `failures` failed rounds in a row: `interval`, doubled each time, at
    /// most `maximumBackoff` (or `interval` when that is longer).
    static func retryDelay(interval: Double, failures: Int) -> Double {
        guard failures > 0 else { return interval }
        let cap = max(interval, maximumBackoff)
        return min(cap, interval * Double(1 << min(failures - 1, 30)))
    }

    public init(
        client: ServerClient, spool: TelemetrySpool, interval: Double, logger: Logger,
        notifier: SystemdNotifier = .fromProcessEnvironment(), requestTimeout: Double = 10
    ) {
        self.requestTimeout = requestTimeout
        self.client = client
        self.spool = spool
        self.interval = interval
        self.logger = logger
        self.notifier = notifier
    }

    /// Rows and batches the server has acknowledged since start, and batches it rejected.
    public var uploaded: (rows: Int, batches: Int, rejected: Int) {
        progress.withLock { ($0.uploadedRows, $0.uploadedBatches, $0.rejectedBatches) }
    }

    /// Monitor windows the server has acknowledged since start, and windows it rejected.
    public var uploadedWindows: (windows: Int, rejected: Int) {
        progress.withLock { ($0.uploadedWindows, $0.rejectedWindows) }
    }

    /// Where uploads stand, and how many rounds in a row have failed.
    public var health: (state: Health, failures: Int) { progress.withLock { ($0.health, $0.failures) } }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var nextUpload = monotonicSeconds() + self.interval
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int(min(1, self.interval) * 1000)))
                self.flush()
                if monotonicSeconds() >= nextUpload {
                    await self.uploadAll()
                    let failures = self.progress.withLock { $0.failures }
                    nextUpload =
                        monotonicSeconds() + TelemetryUploader.retryDelay(interval: self.interval, failures: failures)
                }
            }
        }
        // The loop has stopped (it shuts down first): keep its last samples.
        flush()
    }

    private func flush() {
        do {
            try spool.flush()
        } catch {
            logger.error("telemetry spool: \(error.message)")
        }
    }

    /// Sends monitor windows, then batches, until the spool is empty or the server cannot take more now.
    func uploadAll() async {
        guard await uploadWindows() else { return }
        while !Task.isCancelled {
            let batch: TelemetrySpool.Batch?
            do {
                batch = try spool.nextBatch()
            } catch {
                logger.error("telemetry spool: \(error.message)")
                return
            }
            guard let batch else { return }
            let result: (status: Int, body: String)
            do {
                result = try await client.postTelemetry(batch.body, batchID: batch.id, timeout: requestTimeout)
            } catch {
                if Task.isCancelled { return } // shutting down; the batch stays in the spool
                failed(.unreachable, "POST \(client.telemetryURL): \(describeHTTPError(error))")
                return
            }
            switch Self.disposition(status: result.status) {
            case .delivered:
                spool.acknowledge(batch)
                delivered { p in
                    p.uploadedRows += batch.rows
                    p.uploadedBatches += 1
                }
                logger.debug(
                    "telemetry batch sent",
                    metadata: [
                        "upload.batch": "\(batch.id)", "upload.rows": "\(batch.rows)",
                        "upload.answer": "\(result.body.prefix(200))",
                    ])
            case .drop:
                spool.acknowledge(batch)
                progress.withLock { $0.rejectedBatches += 1 }
                logger.error(
                    "the training host rejected telemetry batch \(batch.id) (\(batch.rows) rows) as bad, dropped: HTTP \(result.status) \(result.body.prefix(300))"
                )
            case .keep(let health):
                failed(health, "POST \(client.telemetryURL): HTTP \(result.status) \(result.body.prefix(200))")
                return
            }
        }
    }

    /// Sends the spooled monitor windows, oldest first; false when the server cannot take more now (the telemetry
    /// waits too, so a window never falls behind rows sent after it).
    func uploadWindows() async -> Bool {
        while !Task.isCancelled {
            let window: TelemetrySpool.Window?
            do {
                window = try spool.nextWindow()
            } catch {
                logger.error("telemetry spool: \(error.message)")
                return false
            }
            guard let window else { return true }
            let result: (status: Int, body: String)
            do {
                result = try await client.postMonitor(window.body, batchID: window.id, timeout: requestTimeout)
            } catch {
                if Task.isCancelled { return false } // shutting down; the window stays in the spool
                failed(.unreachable, "POST \(client.monitorURL): \(describeHTTPError(error))")
                return false
            }
            switch Self.disposition(status: result.status) {
            case .delivered:
                spool.acknowledge(window: window)
                delivered { $0.uploadedWindows += 1 }
                logger.debug(
                    "monitor window sent",
                    metadata: ["upload.batch": "\(window.id)", "upload.answer": "\(result.body.prefix(200))"])
            case .drop:
                spool.acknowledge(window: window)
                progress.withLock { $0.rejectedWindows += 1 }
                logger.error(
                    "the training host rejected monitor window \(window.id) as bad, dropped: HTTP \(result.status) \(result.body.prefix(300))"
                )
            case .keep(let health):
                failed(health, "POST \(client.monitorURL): HTTP \(result.status) \(result.body.prefix(200))")
                return false
            }
        }
        return false
    }

    /// Records a delivery (`count` updates the figures); logs once when uploads work again after failures.
    private func delivered(_ count: (inout Progress) -> Void) {
        let recovered = progress.withLock { p -> Health in
            defer {
                p.health = .ok
                p.failures = 0
            }
            count(&p)
            return p.health
        }
        if recovered != .ok {
            notifier.status("telemetry upload ok again")
            logger.info(
                "training host takes telemetry again (was \(recovered)): uploading \(spool.count) spooled rows and \(spool.windowCount) monitor windows"
            )
        }
    }

    /// Records a failed round; logs once when the kind of failure changes (never the token).
    private func failed(_ health: Health, _ reason: String) {
        let (changed, failures) = progress.withLock { p -> (Bool, Int) in
            defer {
                p.health = health
                p.failures += 1
            }
            return (p.health != health, p.failures + 1)
        }
        let next = Self.retryDelay(interval: interval, failures: failures)
        let kept =
            "telemetry kept on disk (\(spool.count) rows, \(spool.windowCount) monitor windows), next try in \(Int(next.rounded(.up))) s"
        guard changed else {
            logger.debug("telemetry upload failed again (\(health)): \(reason); \(kept)")
            return
        }
        notifier.status("telemetry upload \(health), \(spool.count) rows kept on disk")
        switch health {
        case .unauthorized:
            logger.warning(
                "the training host refuses this gateway's token (HTTP 401): \(kept); check server.token or server.tokenFile"
            )
        case .forbidden:
            logger.warning(
                "the training host says the token belongs to another gateway (HTTP 403): \(kept); check gatewayId and the token"
            )
        case .notFound:
            logger.warning(
                "the training host does not know this gateway (HTTP 404 at \(client.telemetryURL)): \(kept); check server.url and gatewayId"
            )
        case .ok, .unreachable, .unexpected:
            logger.warning("training host unreachable: \(reason); \(kept)")
        }
    }
}
