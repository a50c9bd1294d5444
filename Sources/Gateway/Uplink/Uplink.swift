import CCurl
import OccupantCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The gateway's HTTP(S) client for the training host, on libcurl's easy API (issue 16: no NIO stack in the daemon).
/// Each transfer blocks a thread of its own (never the cooperative pool) and is bridged back with a continuation; a
/// cancelled task aborts its transfer at curl's next progress call. Connections are reused: finished easy handles
/// go back to a small pool (`curl_easy_reset` keeps their live connections and TLS sessions). TLS: 1.2 or newer,
/// peer and host verified, against only `caFile` when one is configured (no system store then). libcurl itself is
/// loaded (dlopen) by the first transfer, once per process: a gateway that never makes one never maps it.
public final class Uplink: Sendable {
    /// The only CA the server's certificate may chain to; nil: curl's default store.
    public let caFile: String?
    /// Idle easy handles (at most `keep`), each with its connection cache.
    private let handles = Mutex<[EasyHandle]>([])
    private static let keep = 2

    public init(caFile: String? = nil) {
        self.caFile = caFile
    }

    deinit {
        // A handle in the pool means libcurl was loaded.
        for handle in handles.withLock({ $0 }) { occ_curl_easy_cleanup(handle.pointer) }
    }

    /// Loads libcurl (and runs `curl_global_init`) the first time, once per process: nil when it is there, else the
    /// line every transfer fails with.
    static func loadLibcurl() -> String? {
        occ_curl_load().map { loadFailure(String(cString: $0), library: String(OCC_CURL_SONAME)) }
    }

    /// Whether `library` would load as libcurl, without touching the process's libcurl (the failure path's test seam):
    /// nil, or the line a transfer would fail with.
    static func probe(_ library: String) -> String? {
        var message = [CChar](repeating: 0, count: 512)
        guard occ_curl_probe(library, &message, message.count) != 0 else { return nil }
        return loadFailure(String(cString: message), library: library)
    }

    /// One line: the library, why it did not load, and the Debian package that ships it.
    private static func loadFailure(_ reason: String, library: String) -> String {
        "\(library) could not be loaded (\(reason)): install libcurl4 (libcurl4t64 on Debian 13, Ubuntu 24.04 and later)"
    }

    /// Runs `request` on a thread of its own. `head` is called (on that thread) with the answer's head and says what
    /// to do with the body. Throws `TransferError`, or `CancellationError` when the task was cancelled.
    func perform(
        _ request: HTTPRequest, limits: TransferLimits, head: @escaping @Sendable (HTTPHead) -> BodyAction
    ) async throws -> HTTPAnswer {
        let exchange = Exchange(limits: limits, onHead: head)
        let result: Result<HTTPAnswer, TransferError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let started = startThread {
                    continuation.resume(returning: self.run(request, exchange))
                }
                if !started { continuation.resume(returning: .failure(.failed("cannot start a transfer thread"))) }
            }
        } onCancel: {
            exchange.cancel()
        }
        switch result {
        case .success(let answer): return answer
        case .failure(.cancelled): throw CancellationError()
        case .failure(let error): throw error
        }
    }

    // MARK: The transfer thread

    private func take() -> EasyHandle? {
        if let handle = handles.withLock({ $0.popLast() }) { return handle }
        return occ_curl_easy_init().map(EasyHandle.init)
    }

    /// Resets `handle` (no pointer into the finished transfer stays set) and keeps it for the next one.
    private func giveBack(_ handle: EasyHandle) {
        occ_curl_easy_reset(handle.pointer)
        let kept = handles.withLock { idle in
            guard idle.count < Self.keep else { return false }
            idle.append(handle)
            return true
        }
        if !kept { occ_curl_easy_cleanup(handle.pointer) }
    }

    /// The blocking part: configure a handle, `curl_easy_perform`, sort out the result.
    private func run(_ request: HTTPRequest, _ exchange: Exchange) -> Result<HTTPAnswer, TransferError> {
        if let failure = Self.loadLibcurl() { return .failure(.failed(failure)) }
        guard let handle = take() else { return .failure(.failed("curl_easy_init failed")) }
        let curl = handle.pointer
        var list: UnsafeMutablePointer<curl_slist>?
        // No `Expect: 100-continue` round trip before a body.
        for line in request.headers.map({ "\($0.0): \($0.1)" }) + ["Expect:"] {
            list = occ_curl_slist_append(list, line)
        }
        defer { occ_curl_slist_free_all(list) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        defer { giveBack(handle) } // before the buffer and the header list go
        let user = Unmanaged.passUnretained(exchange).toOpaque()
        let limits = exchange.limits

        _ = occ_curl_setopt_string(curl, CURLOPT_URL, request.url)
        _ = occ_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = occ_curl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = occ_curl_setopt_slist(curl, CURLOPT_HTTPHEADER, list)
        // Redirects followed as AsyncHTTPClient did (at most 5, to http or https only; curl drops the token when
        // the host changes).
        _ = occ_curl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 1)
        _ = occ_curl_setopt_long(curl, CURLOPT_MAXREDIRS, 5)
        _ = occ_curl_setopt_string(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        _ = occ_curl_setopt_long(curl, CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
        _ = occ_curl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 1)
        _ = occ_curl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile {
            _ = occ_curl_setopt_string(curl, CURLOPT_CAINFO, caFile)
            _ = occ_curl_setopt_string(curl, CURLOPT_CAPATH, nil)
        }
        if let total = limits.total {
            _ = occ_curl_setopt_long(curl, CURLOPT_TIMEOUT_MS, Int(total * 1000))
        }
        if let connect = limits.head ?? limits.total {
            _ = occ_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(connect * 1000)))
        }
        _ = occ_curl_setopt_long(curl, CURLOPT_NOPROGRESS, 0)
        _ = occ_curl_setopt_pointer(curl, CURLOPT_XFERINFODATA, user)
        _ = occ_curl_setopt_xferinfo(curl) { user, _, _, _, _ in
            Unmanaged<Exchange>.fromOpaque(user!).takeUnretainedValue().progress()
        }
        _ = occ_curl_setopt_pointer(curl, CURLOPT_HEADERDATA, user)
        _ = occ_curl_setopt_data_callback(curl, CURLOPT_HEADERFUNCTION) { data, size, count, user in
            let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
            return Unmanaged<Exchange>.fromOpaque(user!).takeUnretainedValue().header(bytes)
        }
        _ = occ_curl_setopt_pointer(curl, CURLOPT_WRITEDATA, user)
        _ = occ_curl_setopt_data_callback(curl, CURLOPT_WRITEFUNCTION) { data, size, count, user in
            let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
            return Unmanaged<Exchange>.fromOpaque(user!).takeUnretainedValue().write(bytes)
        }

        exchange.started = monotonicSeconds()
        let code: CURLcode
        if let body = request.body {
            _ = occ_curl_setopt_long(curl, CURLOPT_POST, 1)
            _ = occ_curl_setopt_off(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            code = body.withUnsafeBytes { bytes in
                _ = occ_curl_setopt_pointer(
                    curl, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                return occ_curl_easy_perform(curl)
            }
        } else {
            code = occ_curl_easy_perform(curl)
        }
        return exchange.finish(code, reason: curlReason(code, errorBuffer))
    }
}

/// One line: curl's text for `code`, and the error buffer's detail when it says more.
private func curlReason(_ code: CURLcode, _ buffer: UnsafeMutablePointer<CChar>) -> String {
    let reason = String(cString: occ_curl_easy_strerror(code))
    let detail = String(cString: buffer).split(whereSeparator: \.isNewline).joined(separator: " ")
    return detail.isEmpty || detail == reason ? reason : "\(reason) (\(detail))"
}

/// An easy handle (owned by one transfer at a time, or idle in the pool).
private struct EasyHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}

/// A request: method GET, or POST when there is a body.
struct HTTPRequest: Sendable {
    var url: String
    var headers: [(String, String)]
    var body: [UInt8]?
}

/// The answer's status line and fields (of the final answer; 1xx answers are skipped).
public struct HTTPHead: Sendable {
    public var status: Int
    public var fields: [Field]

    public struct Field: Sendable {
        public var name: String
        public var value: String
    }

    /// The first field called `name` (case-insensitive).
    public func first(_ name: String) -> String? {
        let lowered = name.lowercased()
        return fields.first { $0.name.lowercased() == lowered }?.value
    }
}

/// What to do with an answer's body.
enum BodyAction: Sendable {
    /// Keep up to this many bytes in memory; more ends the transfer with what came (`truncated`).
    case collect(upTo: Int)
    /// Hand each chunk to the sink (on the transfer thread); a throw ends the transfer with `TransferError.sink`.
    case stream(@Sendable (UnsafeRawBufferPointer) throws -> Void)
    /// Do not read it (the transfer ends at the head).
    case skip
}

/// A finished transfer.
struct HTTPAnswer: Sendable {
    var head: HTTPHead
    var body: [UInt8]
    /// A `collect` body that was longer than its cap (`body` holds the first bytes).
    var truncated: Bool
    /// Body bytes received.
    var received: Int
    var status: Int { head.status }
}

/// A transfer's time limits (seconds).
struct TransferLimits: Sendable {
    /// The whole exchange, body included.
    var total: Double?
    /// The connection and the answer's head.
    var head: Double?
    /// No byte of the body for this long.
    var idle: Double?
    /// The body from the head on, given the announced `Content-Length` (nil when none).
    var body: (@Sendable (Int?) -> Double)?

    init(
        total: Double? = nil, head: Double? = nil, idle: Double? = nil, body: (@Sendable (Int?) -> Double)? = nil
    ) {
        self.total = total
        self.head = head
        self.idle = idle
        self.body = body
    }
}

/// Why a transfer failed, as one line.
enum TransferError: Error, CustomStringConvertible {
    /// `TransferLimits.total` passed.
    case timedOut(seconds: Double)
    /// A head, idle or body limit passed: "no bytes for 30 s".
    case stalled(String)
    case cancelled
    /// The body's sink threw.
    case sink(any Error)
    /// Connection, TLS or protocol failure: curl's reason.
    case failed(String)

    var description: String {
        switch self {
        case .timedOut(let seconds): "no complete answer within \(formatSeconds(seconds))"
        case .stalled(let reason): reason
        case .cancelled: "cancelled"
        case .sink(let error): "\(error)"
        case .failed(let reason): reason
        }
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
}

/// One transfer's state. Touched by its transfer thread only (the callbacks), and read by the caller after the
/// continuation resumed; `cancelled` is the one field another thread sets.
private final class Exchange: @unchecked Sendable {
    let limits: TransferLimits
    let onHead: @Sendable (HTTPHead) -> BodyAction
    private let cancelled = Atomic(false)

    var started = 0.0
    private var status = 0
    private var fields: [HTTPHead.Field] = []
    private var head: HTTPHead?
    private var action = BodyAction.skip
    private var headAt = 0.0
    private var lastByte = 0.0
    private var bodyLimit: Double?
    private var body: [UInt8] = []
    private var received = 0
    private var truncated = false
    private var skipped = false
    private var abort: TransferError?

    init(limits: TransferLimits, onHead: @escaping @Sendable (HTTPHead) -> BodyAction) {
        self.limits = limits
        self.onHead = onHead
    }

    func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// CURLOPT_XFERINFOFUNCTION: nonzero aborts the transfer.
    func progress() -> Int32 {
        if cancelled.load(ordering: .relaxed) { return stop(.cancelled) }
        let now = monotonicSeconds()
        guard head != nil else {
            if let limit = limits.head, now - started > limit {
                return stop(.stalled("no answer within \(formatSeconds(limit))"))
            }
            return 0
        }
        if let idle = limits.idle, now - lastByte > idle {
            return stop(.stalled("no bytes for \(formatSeconds(idle))"))
        }
        if let bodyLimit, now - headAt > bodyLimit {
            return stop(.stalled("not done within \(formatSeconds(bodyLimit))"))
        }
        return 0
    }

    private func stop(_ error: TransferError) -> Int32 {
        if abort == nil { abort = error }
        return 1
    }

    /// CURLOPT_HEADERFUNCTION: one line of a head at a time; returning less than given aborts.
    func header(_ bytes: UnsafeRawBufferPointer) -> Int {
        let line = String(decoding: bytes, as: UTF8.self).trimmingWhitespaceAndNewlines()
        if line.hasPrefix("HTTP/") {
            let parts = line.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            fields = []
        } else if line.isEmpty {
            // The end of a head; a 1xx answer is followed by the real one, a redirect by the next server's.
            let redirect = (300..<400).contains(status) && fields.contains { $0.name.lowercased() == "location" }
            guard status >= 200, !redirect, head == nil else { return bytes.count }
            let finished = HTTPHead(status: status, fields: fields)
            head = finished
            headAt = monotonicSeconds()
            lastByte = headAt
            if let limit = limits.body {
                bodyLimit = limit(finished.first("Content-Length").flatMap { Int($0) })
            }
            action = onHead(finished)
            if case .skip = action { skipped = true }
        } else if let colon = line.firstIndex(of: ":") {
            fields.append(
                .init(
                    name: String(line[..<colon]),
                    value: line[line.index(after: colon)...].trimmingWhitespace()))
        }
        return bytes.count
    }

    /// CURLOPT_WRITEFUNCTION: body bytes; returning less than given aborts.
    func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        lastByte = monotonicSeconds()
        switch action {
        case .skip:
            return 0
        case .collect(let cap):
            guard body.count + bytes.count <= cap else {
                body.append(contentsOf: bytes.prefix(cap - body.count))
                received += bytes.count
                truncated = true
                return 0
            }
            body.append(contentsOf: bytes)
        case .stream(let sink):
            do {
                try sink(bytes)
            } catch {
                if abort == nil { abort = .sink(error) }
                return 0
            }
        }
        received += bytes.count
        return bytes.count
    }

    /// The outcome of `curl_easy_perform`'s `code`.
    func finish(_ code: CURLcode, reason: String) -> Result<HTTPAnswer, TransferError> {
        if let abort { return .failure(abort) }
        let stoppedOnPurpose = code == CURLE_WRITE_ERROR && (truncated || skipped)
        guard code == CURLE_OK || stoppedOnPurpose else {
            if code == CURLE_OPERATION_TIMEDOUT, let total = limits.total { return .failure(.timedOut(seconds: total)) }
            return .failure(.failed(reason))
        }
        guard let head else { return .failure(.failed("no HTTP answer")) }
        return .success(HTTPAnswer(head: head, body: body, truncated: truncated, received: received))
    }
}

/// Starts a detached thread that runs `body`; false when the system refused one.
private func startThread(_ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    var thread = pthread_t()
    let result = pthread_create(
        &thread, &attributes,
        { argument in
            Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
            return nil
        }, box)
    guard result == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        return false
    }
    return true
}
