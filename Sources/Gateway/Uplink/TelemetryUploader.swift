import Logging
import OccupantCore
import ServiceLifecycle
import Synchronization

/// Writes the telemetry spool to disk every second and, every `interval`, sends what it holds to the training host,
/// one batch per request, oldest first. 2xx → the batch is deleted (a duplicate answer too: the server has it);
/// 4xx → logged and dropped (re-sending the same bytes cannot succeed); 5xx or no connection → kept for the next
/// round. An outage is logged once, and its end once.
public final class TelemetryUploader: Service, Sendable {
    let client: ServerClient
    public let spool: TelemetrySpool
    let interval: Double
    let logger: Logger
    private let progress = Mutex(Progress())

    struct Progress {
        var outage: String?
        var uploadedRows = 0
        var uploadedBatches = 0
        var rejectedBatches = 0
    }

    public init(client: ServerClient, spool: TelemetrySpool, interval: Double, logger: Logger) {
        self.client = client
        self.spool = spool
        self.interval = interval
        self.logger = logger
    }

    /// Rows and batches the server has acknowledged since start, and batches it rejected.
    public var uploaded: (rows: Int, batches: Int, rejected: Int) {
        progress.withLock { ($0.uploadedRows, $0.uploadedBatches, $0.rejectedBatches) }
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var lastUpload = monotonicSeconds()
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int(min(1, self.interval) * 1000)))
                self.flush()
                if monotonicSeconds() - lastUpload >= self.interval {
                    await self.uploadAll()
                    lastUpload = monotonicSeconds()
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

    /// Sends batches until the spool is empty or the server cannot take more now.
    func uploadAll() async {
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
                result = try await client.postTelemetry(batch.body, batchID: batch.id, timeout: 10)
            } catch {
                if Task.isCancelled { return } // shutting down; the batch stays in the spool
                outage("POST \(client.telemetryURL): \(describeHTTPError(error))")
                return
            }
            switch result.status {
            case 200..<300:
                spool.acknowledge(batch)
                let recovered = progress.withLock { p -> String? in
                    defer { p.outage = nil }
                    p.uploadedRows += batch.rows
                    p.uploadedBatches += 1
                    return p.outage
                }
                if recovered != nil {
                    logger.info("training host reachable again: uploading \(spool.count) spooled telemetry rows")
                }
                logger.debug(
                    "telemetry batch sent",
                    metadata: [
                        "upload.batch": "\(batch.id)", "upload.rows": "\(batch.rows)",
                        "upload.answer": "\(result.body.prefix(200))",
                    ])
            case 400..<500:
                spool.acknowledge(batch)
                progress.withLock { $0.rejectedBatches += 1 }
                logger.error(
                    "the training host rejected telemetry batch \(batch.id) (\(batch.rows) rows), dropped: HTTP \(result.status) \(result.body.prefix(300))"
                )
            default:
                outage("POST \(client.telemetryURL): HTTP \(result.status) \(result.body.prefix(200))")
                return
            }
        }
    }

    private func outage(_ reason: String) {
        let first = progress.withLock { p -> Bool in
            defer { p.outage = reason }
            return p.outage == nil
        }
        if first {
            logger.warning("training host unreachable, telemetry kept on disk (\(spool.count) rows): \(reason)")
        }
    }
}
