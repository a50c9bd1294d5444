import AsyncHTTPClient
import Evaluator
import NIOCore
import NIOHTTP1
import OccupantCore

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

    /// A request with the token, and the headers given.
    func request(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = []) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "User-Agent", value: "occupant/\(occupantVersion)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return request
    }

    /// Posts one telemetry batch (NDJSON); returns the status and at most 64 KB of the answer.
    func postTelemetry(_ body: [UInt8], batchID: String, timeout: Double) async throws -> (status: Int, body: String) {
        var request = self.request(
            telemetryURL, method: .POST,
            headers: [("Content-Type", "application/x-ndjson"), (API.Header.batchID, batchID)])
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let answer = try await response.body.collect(upTo: 64 << 10)
        return (Int(response.status.code), String(buffer: answer))
    }
}

/// `"abc"` or `W/"abc"` → `abc`.
func unquotedETag(_ value: String) -> String {
    var v = Substring(value.trimmingCharacters(in: .whitespaces))
    if v.hasPrefix("W/") { v = v.dropFirst(2) }
    if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = v.dropFirst().dropLast() }
    return String(v)
}
