import CZlib
import Evaluator
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
    let uplink: Uplink
    /// Shared by every copy of this client: set once the server answered 415 to a gzip body (a training host older
    /// than gzip intake); from then on uploads go uncompressed.
    let plainUploads = PlainUploads()

    public init(baseURL: String, gatewayID: String, token: String, uplink: Uplink = Uplink()) {
        self.baseURL = baseURL
        self.gatewayID = gatewayID
        self.token = token
        self.uplink = uplink
    }

    /// `GET` here for this gateway's model.
    public var modelURL: String { API.url(baseURL, API.gatewayModel(gatewayID)) }
    /// `POST` telemetry batches here.
    public var telemetryURL: String { API.url(baseURL, API.gatewayTelemetry(gatewayID)) }
    /// `POST` closed monitor windows here, one per request.
    public var monitorURL: String { API.url(baseURL, API.gatewayMonitor(gatewayID)) }

    /// A request with the token, and the headers given (a POST when it has a body).
    func request(_ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) -> HTTPRequest {
        HTTPRequest(
            url: url,
            headers: [("Authorization", "Bearer \(token)"), ("User-Agent", "occupant/\(occupantVersion)")] + headers,
            body: body)
    }

    /// Posts one telemetry batch (NDJSON); returns the status and at most 64 KB of the answer (a longer answer is cut
    /// there). `timeout` covers the whole exchange, the answer's body included.
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
        var payload = body
        let gzip = body.count >= Self.gzipAbove && !plainUploads.value
        if gzip {
            payload = try gzipped(body)
            headers.append(("Content-Encoding", "gzip"))
        }
        let answer = try await uplink.perform(
            request(url, headers: headers, body: payload), limits: TransferLimits(total: timeout)
        ) { _ in .collect(upTo: 64 << 10) }
        let result = (status: answer.status, body: String(decoding: answer.body, as: UTF8.self))
        guard gzip, result.status == 415 else { return result }
        plainUploads.refuseGzip()
        return try await post(body, to: url, type: type, batchID: batchID, timeout: timeout)
    }
}

/// `bytes` as one gzip member (zlib's deflate, default level).
func gzipped(_ bytes: [UInt8]) throws -> [UInt8] {
    var stream = z_stream()
    guard occ_deflate_init_gzip(&stream, Z_DEFAULT_COMPRESSION) == Z_OK else {
        throw OccupantError(.io, "gzip: cannot initialise zlib")
    }
    defer { deflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))))
    var input = bytes
    let result = input.withUnsafeMutableBufferPointer { input in
        output.withUnsafeMutableBufferPointer { output in
            stream.next_in = input.baseAddress
            stream.avail_in = uInt(input.count)
            stream.next_out = output.baseAddress
            stream.avail_out = uInt(output.count)
            return deflate(&stream, Z_FINISH)
        }
    }
    guard result == Z_STREAM_END else { throw OccupantError(.io, "gzip: deflate failed (zlib \(result))") }
    output.removeSubrange(Int(stream.total_out)...)
    return output
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
