import Evaluator
import OccupantCore

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
        let limits = downloadLimits
        let download = Download(url: url, files: files, partial: partial, expected: expected)
        // The head within `head` seconds; then the body: no byte for `idle` seconds, or longer than the limits allow
        // for its announced size, fails the attempt (what came is kept and resumed).
        let transfer = TransferLimits(head: limits.head, idle: limits.idle) { announced in
            limits.overall(bytes: min(announced ?? ModelBundle.maximumSize, ModelBundle.maximumSize))
        }
        let answer: HTTPAnswer
        do {
            answer = try await client.uplink.perform(client.request(url, headers: headers), limits: transfer) {
                self.begin(download, $0)
            }
        } catch TransferError.sink(let error as OccupantError) {
            return .failed(error.message)
        } catch {
            if let outcome = download.outcome { return outcome }
            if let status = download.status, download.path == nil { return .failed("GET \(url): HTTP \(status)") }
            guard download.path != nil else { return .failed("GET \(url): \(describeHTTPError(error))") }
            if case TransferError.stalled(let reason) = error {
                return .failed(
                    "GET \(url): \(reason) after \(download.received) bytes; the download resumes from there")
            }
            return .failed(
                "GET \(url): interrupted after \(download.received) bytes (\(describeHTTPError(error))); the download resumes from there"
            )
        }
        if let outcome = download.outcome { return outcome }
        guard let path = download.path, let sha = download.sha256 else {
            // An error status: its reason, if it came within the idle limit.
            let reason = String(decoding: answer.body, as: UTF8.self)
            return .failed("GET \(url): HTTP \(answer.status) \(reason.prefix(200))")
        }
        let resumedAt = download.resumedAt
        do {
            try files.sync(path, newFile: resumedAt == 0)
        } catch {
            return .failed(error.message)
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

    /// The answer's head (on the transfer thread): what the status means, which bundle comes, and where its bytes
    /// go. Sets `download.outcome` when there is nothing to download.
    private func begin(_ download: Download, _ head: HTTPHead) -> BodyAction {
        let status = head.status
        let url = download.url
        download.status = status
        // The server names the bundle it assigns (also on 304): Home Assistant's update entity shows it.
        if let assigned = head.first(API.Header.occupantModel), assigned.utf8.count <= 200 {
            board.update { $0.assigned = assigned }
        } else if status == 204 {
            board.update { $0.assigned = nil }
        }
        switch status {
        case 304:
            download.outcome = .notModified
            return .skip
        case 204:
            download.outcome = .noModel
            return .skip
        case 200, 206:
            break
        case 401, 403:
            download.outcome = .failed(
                "GET \(url): HTTP \(status) (\(status == 401 ? "the server does not accept this gateway's token" : "the token belongs to another gateway"))"
            )
            return .skip
        default:
            return .collect(upTo: 4096)
        }

        // Which bundle is this? The ETag is its SHA-256.
        let etag = head.first("ETag").map(unquotedETag)?.lowercased()
        let sha: String
        if status == 206, let p = download.partial {
            sha = p.sha256
        } else if let etag, isSHA256Hex(etag) {
            sha = etag
        } else if let expected = download.expected {
            sha = expected
        } else {
            download.outcome = .failed("GET \(url): no SHA-256 ETag on the answer")
            return .skip
        }
        if let reason = skipReason(sha256: sha) {
            download.outcome = .skipped(sha256: sha, reason: reason)
            return .skip
        }

        let files = download.files
        let path = downloadPath(sha)
        do {
            if status == 206 {
                guard let p = download.partial, let range = head.first("Content-Range"),
                    contentRangeStart(range) == p.size
                else {
                    if let p = download.partial { try? files.remove(downloadPath(p.sha256)) }
                    download.outcome = .failed(
                        "GET \(url): a 206 answer that does not continue the partial download; starting over")
                    return .skip
                }
                download.received = p.size
                download.resumedAt = p.size
            } else {
                // A full answer: start over (and drop any other partial download).
                if let p = download.partial, p.sha256 != sha { try files.remove(downloadPath(p.sha256)) }
                try files.remove(path)
            }
        } catch {
            download.outcome = .failed(error.message)
            return .skip
        }
        download.sha256 = sha
        download.path = path
        return .stream { chunk in try download.append(chunk) }
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

/// One download attempt, between its transfer thread (the head and the body's chunks, in order) and `fetch`, which
/// reads it after the transfer ended.
private final class Download: @unchecked Sendable {
    let url: String
    let files: any FileSystem
    let partial: (sha256: String, size: Int)?
    let expected: String?
    /// The answer's status, once its head came.
    var status: Int?
    /// Set when the head means there is nothing to download.
    var outcome: FetchOutcome?
    /// The bundle and its partial file, once its body comes.
    var sha256: String?
    var path: String?
    /// The byte the answer continues at (206), else 0.
    var resumedAt = 0
    /// Bytes of the bundle on disk.
    var received = 0

    init(url: String, files: any FileSystem, partial: (sha256: String, size: Int)?, expected: String?) {
        self.url = url
        self.files = files
        self.partial = partial
        self.expected = expected
    }

    func append(_ chunk: UnsafeRawBufferPointer) throws {
        guard let path else { return }
        if received + chunk.count > ModelBundle.maximumSize {
            try? files.remove(path)
            throw OccupantError(.model, "GET \(url): more than \(ModelBundle.maximumSize) bytes, not a model bundle")
        }
        try files.append(Array(chunk), to: path)
        received += chunk.count
    }
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
    error is CancellationError ? "cancelled" : "\(error)"
}
