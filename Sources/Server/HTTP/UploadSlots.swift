import Synchronization

/// Uploads in progress per token (a gateway id, or `admin`): a token that already has `limit` bodies streaming in gets
/// 429, so one stalled or hostile client holds at most `limit` × `intake.maxBodyBytes` of memory (issue 11: 100
/// stalled 8 MiB uploads with one token took the server to 875 MB).
final class UploadSlots: Sendable {
    let limit: Int
    private let inProgress = Mutex<[String: Int]>([:])

    init(limit: Int) {
        precondition(limit > 0, "uploadsPerToken is at least 1")
        self.limit = limit
    }

    /// Takes a slot for `owner`; false when it already has `limit`.
    func acquire(_ owner: String) -> Bool {
        inProgress.withLock { counts in
            let n = counts[owner, default: 0]
            guard n < limit else { return false }
            counts[owner] = n + 1
            return true
        }
    }

    func release(_ owner: String) {
        inProgress.withLock { counts in
            let n = counts[owner, default: 0]
            precondition(n > 0, "upload slot released twice for \(owner)")
            counts[owner] = n == 1 ? nil : n - 1
        }
    }

    /// Runs `body` holding one of `owner`'s slots; 429 when none is free.
    func run<T>(_ owner: String, _ body: () async throws -> T) async throws -> T {
        guard acquire(owner) else {
            throw APIError(
                .tooManyRequests,
                "'\(owner)' already has \(limit) uploads in progress (http.uploadsPerToken); retry when one finishes",
                headers: [.retryAfter: "5"])
        }
        defer { release(owner) }
        return try await body()
    }
}
