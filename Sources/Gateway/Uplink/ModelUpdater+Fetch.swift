import AsyncHTTPClient
import Evaluator
import NIOCore
import OccupantCore
import Synchronization

extension ModelUpdater {
    /// The partial download for `sha256`: `<models>/.download-<sha256>`.
    func downloadPath(_ sha256: String) -> String { activator.store.directory + "/.download-" + sha256 }

    /// A download left by an interrupted attempt: its hash and size.
    func partialDownload() -> (sha256: String, size: Int)? {
        let files = activator.store.files
        for name in (try? files.list(activator.store.directory)) ?? [] where name.hasPrefix(".download-") {
            let sha = String(name.dropFirst(".download-".count))
            guard isSHA256Hex(sha), let size = (try? files.size(downloadPath(sha))) ?? nil else {
                try? files.remove(activator.store.directory + "/" + name)
                continue
            }
            return (sha, size)
        }
        return nil
    }

    /// One attempt: ask the server (resuming a partial download), check the bytes, verify, install and switch.
    func fetch(url: String, expected: String?) async -> FetchOutcome {
        let files = activator.store.files
        do {
            try files.makeDirectories(activator.store.directory)
        } catch {
            return .failed(error.message)
        }
        var partial = partialDownload()
        if let p = partial, let expected, p.sha256 != expected {
            try? files.remove(downloadPath(p.sha256)) // an older announcement's leftovers
            partial = nil
        }
        if let p = partial, p.size == 0 {
            partial = nil
        }

        var headers: [(String, String)] = []
        // Anything we hold or have refused is "not modified" for us (a list, as HTTP allows).
        let known = ([board.current.active?.sha256].compactMap { $0 } + refusedHashes.union(board.rolledBack).sorted())
            .map { "\"\($0)\"" }
        if !known.isEmpty { headers.append(("If-None-Match", known.joined(separator: ", "))) }
        if let p = partial {
            headers.append(("Range", "bytes=\(p.size)-"))
            headers.append(("If-Range", "\"\(p.sha256)\""))
        }
        let request = client.request(url, headers: headers)
        let limits = downloadLimits
        let response: HTTPClientResponse
        do {
            response = try await client.http.execute(request, timeout: .milliseconds(Int64(limits.head * 1000)))
        } catch {
            return .failed("GET \(url): \(describeHTTPError(error))")
        }
        let status = Int(response.status.code)
        // The server names the bundle it assigns (also on 304): Home Assistant's update entity shows it.
        if let assigned = response.headers.first(name: API.Header.occupantModel), assigned.utf8.count <= 200 {
            board.update { $0.assigned = assigned }
        } else if status == 204 {
            board.update { $0.assigned = nil }
        }
        switch status {
        case 304:
            return .notModified
        case 204:
            return .noModel
        case 200, 206:
            break
        case 401, 403:
            return .failed(
                "GET \(url): HTTP \(status) (\(status == 401 ? "the server does not accept this gateway's token" : "the token belongs to another gateway"))"
            )
        default:
            // The reason, if it comes within the idle limit (the body of an error can stall too).
            let answer =
                (try? await withTimeout(seconds: limits.idle, what: "GET \(url)") {
                    String(buffer: try await response.body.collect(upTo: 4096))
                }) ?? ""
            return .failed("GET \(url): HTTP \(status) \(answer.prefix(200))")
        }

        // Which bundle is this? The ETag is its SHA-256.
        let etag = response.headers.first(name: "ETag").map(unquotedETag)?.lowercased()
        let sha: String
        if status == 206, let p = partial {
            sha = p.sha256
        } else if let etag, isSHA256Hex(etag) {
            sha = etag
        } else if let expected {
            sha = expected
        } else {
            return .failed("GET \(url): no SHA-256 ETag on the answer")
        }
        if let reason = skipReason(sha256: sha) { return .skipped(sha256: sha, reason: reason) }

        let path = downloadPath(sha)
        var received: Int
        do {
            if status == 206 {
                guard let p = partial, let range = response.headers.first(name: "Content-Range"),
                    contentRangeStart(range) == p.size
                else {
                    if let p = partial { try? files.remove(downloadPath(p.sha256)) }
                    return .failed(
                        "GET \(url): a 206 answer that does not continue the partial download; starting over")
                }
                received = p.size
            } else {
                // A full answer: start over (and drop any other partial download).
                if let p = partial, p.sha256 != sha { try files.remove(downloadPath(p.sha256)) }
                try files.remove(path)
                received = 0
            }
        } catch {
            return .failed(error.message)
        }
        let resumedAt = status == 206 ? received : 0
        // The head's deadline does not cover the body: watch it for silence and for a drip that never ends.
        let announced = response.headers.first(name: "Content-Length").flatMap { Int($0) }
        let watch = DownloadWatch(
            limits: limits, bytes: min(announced ?? ModelBundle.maximumSize, ModelBundle.maximumSize), at: received)
        do {
            received = try await withThrowingTaskGroup(of: Int?.self) { group in
                group.addTask { [received] in
                    var count = received
                    for try await chunk in response.body {
                        count += chunk.readableBytes
                        if count > ModelBundle.maximumSize {
                            try? files.remove(path)
                            throw OccupantError(
                                .model, "GET \(url): more than \(ModelBundle.maximumSize) bytes, not a model bundle")
                        }
                        try files.append(Array(chunk.readableBytesView), to: path)
                        watch.progress(count)
                    }
                    return count
                }
                group.addTask {
                    try await watch.expire()
                    return nil
                }
                defer { group.cancelAll() }
                while let finished = try await group.next() {
                    if let count = finished { return count }
                }
                return watch.received
            }
            try files.sync(path, newFile: resumedAt == 0)
        } catch let error as OccupantError {
            return .failed(error.message)
        } catch let stalled as DownloadWatch.Stalled {
            return .failed(
                "GET \(url): \(stalled.reason) after \(watch.received) bytes; the download resumes from there")
        } catch {
            return .failed(
                "GET \(url): interrupted after \(watch.received) bytes (\(describeHTTPError(error))); the download resumes from there"
            )
        }

        let bytes: [UInt8]
        do {
            bytes = try files.read(path)
        } catch {
            return .failed(error.message)
        }
        let actual = sha256Hex(bytes)
        guard actual == sha else {
            try? files.remove(path)
            return .failed(
                "the download's SHA-256 is \(actual), expected \(sha)\(resumedAt > 0 ? " (resumed at \(resumedAt))" : "")"
            )
        }
        try? files.remove(path)
        return install(bytes, sha256: sha, resumedAt: resumedAt)
    }

    /// Every bundle check and the install (the same `ModelInstaller` as `occupant model install`), then the switch
    /// the control socket makes.
    private func install(_ bytes: [UInt8], sha256 sha: String, resumedAt: Int) -> FetchOutcome {
        let installer = ModelInstaller(store: activator.store, verifier: activator.verifier)
        let manifest: BundleManifest
        do {
            manifest = try installer.install(bytes, now: activator.clock.now()).bundle.manifest
        } catch {
            switch error {
            case .refused(let refusal, let version):
                return .refused(
                    .init(version: version, sha256: sha, reason: "\(refusal.reason.rawValue): \(refusal.message)"))
            case .storeFailed(let failure, let model):
                return .failed("installing \(model): \(failure.message)")
            }
        }
        switch activator.switchToActive(
            by: "the server\(resumedAt > 0 ? " (download resumed at byte \(resumedAt))" : "")")
        {
        case .success(let scorer, let activeSHA):
            return .installed(name: "\(manifest.modelID)@\(manifest.version) (\(scorer.id))", sha256: activeSHA)
        case .failure(let reason):
            return .refused(.init(version: manifest.version, sha256: sha, reason: reason))
        case .none:
            return .failed("installed \(manifest.modelID)@\(manifest.version) but the store has no active model")
        }
    }
}

/// Watches a download's body: fails it after `limits.idle` seconds without a byte, or when the whole body takes
/// longer than the limits allow for its size.
final class DownloadWatch: Sendable {
    struct Stalled: Error {
        var reason: String
    }

    private let idle: Double
    private let overall: Double
    private let started = monotonicSeconds()
    private let state: Mutex<(received: Int, at: Double)>

    init(limits: ModelUpdater.DownloadLimits, bytes: Int, at received: Int) {
        idle = limits.idle
        overall = limits.overall(bytes: bytes)
        state = Mutex((received, monotonicSeconds()))
    }

    var received: Int { state.withLock { $0.received } }

    func progress(_ received: Int) {
        state.withLock { $0 = (received, monotonicSeconds()) }
    }

    /// Returns never; throws `Stalled` once a limit is passed (or `CancellationError` when the body is done).
    func expire() async throws {
        while true {
            try await Task.sleep(for: .milliseconds(Int(min(1, idle / 4) * 1000)))
            let now = monotonicSeconds()
            let last = state.withLock { $0.at }
            if now - last > idle {
                throw Stalled(reason: "no bytes for \(formatSeconds(idle))")
            }
            if now - started > overall {
                throw Stalled(reason: "not done within \(formatSeconds(overall))")
            }
        }
    }
}

private func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
}

/// `bytes 100-199/200` → 100.
func contentRangeStart(_ value: String) -> Int? {
    let trimmed = value.drop { $0 == " " }
    guard trimmed.hasPrefix("bytes ") else { return nil }
    let spec = trimmed.dropFirst("bytes ".count)
    guard let dash = spec.firstIndex(of: "-") else { return nil }
    return Int(spec[..<dash])
}

/// A short reason for a failed request: connection refused, timeout, closed.
func describeHTTPError(_ error: any Error) -> String {
    if let error = error as? HTTPClientError { return "\(error)" }
    return "\(error)"
}
