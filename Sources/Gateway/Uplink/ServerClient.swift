import AsyncHTTPClient
import CompressNIO
import Evaluator
import NIOCore
import NIOHTTP1
import OccupantCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The training host's HTTP API as this gateway uses it: every request carries the gateway's bearer token.
public struct ServerClient: Sendable {
    /// `http://host:port`, no trailing slash.
    public let baseURL: String
    public let gatewayID: String
    let token: String
    let http: HTTPClient
    /// Shared by every copy of this client: set once the server answered 415 to a gzip body (a training host older
    /// than gzip intake); from then on uploads go uncompressed.
    let plainUploads = PlainUploads()

    public init(baseURL: String, gatewayID: String, token: String, http: HTTPClient = .shared) {
        self.baseURL = baseURL
        self.gatewayID = gatewayID
        self.token = token
        self.http = http
    }

    /// `GET` here for this gateway's model.
    public var modelURL: String { API.url(baseURL, API.gatewayModel(gatewayID)) }
    /// `POST` telemetry batches here.
    public var telemetryURL: String { API.url(baseURL, API.gatewayTelemetry(gatewayID)) }
    /// `POST` closed monitor windows here, one per request.
    public var monitorURL: String { API.url(baseURL, API.gatewayMonitor(gatewayID)) }

    /// A request with the token, and the headers given.
    func request(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = []) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "User-Agent", value: "occupant/\(occupantVersion)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return request
    }

    /// Posts one telemetry batch (NDJSON); returns the status and at most 64 KB of the answer. `timeout` covers the
    /// whole exchange, the answer's body included (the HTTP client's deadline ends with the head).
    func postTelemetry(_ body: [UInt8], batchID: String, timeout: Double) async throws -> (status: Int, body: String) {
        try await post(body, to: telemetryURL, type: "application/x-ndjson", batchID: batchID, timeout: timeout)
    }

    /// Posts one monitor window (a `MonitorDocument`), like `postTelemetry`.
    func postMonitor(_ body: [UInt8], batchID: String, timeout: Double) async throws -> (status: Int, body: String) {
        try await post(body, to: monitorURL, type: "application/json", batchID: batchID, timeout: timeout)
    }

    /// Bodies below this many bytes are sent as they are: gzip's header and trailer would eat the gain.
    static let gzipAbove = 512

    /// Posts `body` gzip-compressed (issue 15 §4), or plain when it is small or the server has refused gzip; a 415
    /// for a gzip body is resent plain at once and remembered.
    private func post(_ body: [UInt8], to url: String, type: String, batchID: String, timeout: Double) async throws
        -> (status: Int, body: String)
    {
        var headers = [("Content-Type", type), (API.Header.batchID, batchID)]
        var payload = ByteBuffer(bytes: body)
        let gzip = body.count >= Self.gzipAbove && !plainUploads.value
        if gzip {
            payload = try payload.compress(with: .gzip)
            headers.append(("Content-Encoding", "gzip"))
        }
        var request = self.request(url, method: .POST, headers: headers)
        request.body = .bytes(payload)
        let http = self.http
        let answer = try await withTimeout(seconds: timeout, what: "POST \(url)") { [request] in
            let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            let answer = try await response.body.collect(upTo: 64 << 10)
            return (status: Int(response.status.code), body: String(buffer: answer))
        }
        guard gzip, answer.status == 415 else { return answer }
        plainUploads.refuseGzip()
        return try await post(body, to: url, type: type, batchID: batchID, timeout: timeout)
    }
}

/// Whether uploads go uncompressed from now on (see `ServerClient.plainUploads`).
final class PlainUploads: Sendable {
    private let plain = Mutex(false)
    var value: Bool { plain.withLock { $0 } }
    func refuseGzip() { plain.withLock { $0 = true } }
}

/// `"abc"` or `W/"abc"` → `abc`.
func unquotedETag(_ value: String) -> String {
    var v = Substring(value.trimmingWhitespace())
    if v.hasPrefix("W/") { v = v.dropFirst(2) }
    if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = v.dropFirst().dropLast() }
    return String(v)
}

/// A request that took longer than its time limit.
struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var seconds: Double
    var description: String { "\(what): no complete answer within \(seconds) s" }
}

/// Runs `operation`, cancelling it and throwing `TimedOut` after `seconds`.
func withTimeout<T: Sendable>(
    seconds: Double, what: String, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TimedOut(what: what, seconds: seconds)
        }
        return value
    }
}
