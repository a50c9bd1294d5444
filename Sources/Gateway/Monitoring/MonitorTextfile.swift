import Logging
import OccupantCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The monitor's Prometheus textfile (`monitor.textfile`, for node_exporter's textfile collector), written off the
/// decision loop: the loop hands each closed window over (memory only, never waiting for the disk) and one thread at a
/// time renders and writes the newest atomically. A window handed over while a write is stuck on a slow card replaces
/// the one waiting, so the file always ends on the newest window and at most one write is in flight.
public final class MonitorTextfile: Sendable {
    public let path: String
    private let files: any FileSystem
    private let logger: Logger
    private let state = Mutex(State())

    struct State {
        /// The newest window not written yet.
        var waiting: MonitorDocument?
        /// A writer thread is running.
        var writing = false
        /// Windows written since start.
        var written = 0
    }

    public init(path: String, files: any FileSystem = LocalFileSystem(), logger: Logger) {
        self.path = path
        self.files = files
        self.logger = logger
    }

    /// Windows written to the file since start.
    public var written: Int { state.withLock { $0.written } }

    /// Queues `document` for the file; starts a writer thread unless one is running (which then writes it).
    public func submit(_ document: MonitorDocument) {
        let start = state.withLock { s -> Bool in
            s.waiting = document
            guard !s.writing else { return false }
            s.writing = true
            return true
        }
        guard start else { return }
        // Blocking file calls (fsync on an SD card) stay off the cooperative pool the loop runs on.
        detachThread { [self] in drain() }
    }

    private func drain() {
        while true {
            let next = state.withLock { s -> MonitorDocument? in
                defer { s.waiting = nil }
                if s.waiting == nil { s.writing = false }
                return s.waiting
            }
            guard let next else { return }
            do {
                try files.writeAtomically(Array(next.prometheusText.utf8), to: path)
                state.withLock { $0.written += 1 }
            } catch {
                logger.warning(
                    "monitor: cannot write the textfile: \(error.message)", metadata: ["monitor.textfile": "\(path)"])
            }
        }
    }
}
