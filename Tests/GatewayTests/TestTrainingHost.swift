import CompressNIO
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import OccupantTesting
import ServiceLifecycle

/// A stand-in for the training host's gateway API, over real HTTP on loopback (Hummingbird): serves one model
/// bundle with `ETag`/`304`/`Range`/`401`/`403`, takes telemetry batches by `Batch-ID`, and records every request.
final class TestTrainingHost: Sendable {
    let port: Int
    let gatewayID: String
    let token: String
    private let state = Locked(State())
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    struct Request: Sendable {
        var method: String
        var status: Int
        var etag: String?
        var range: String?
        var ifNoneMatch: String?
        var batchID: String?
        /// The upload's `Content-Encoding` (nil when plain).
        var encoding: String?
        /// The upload's size in bytes once inflated.
        var bytes: Int?
    }

    struct State: Sendable {
        var bundle: [UInt8]?
        /// What `…/shadow` serves (204 when nil).
        var shadow: [UInt8]?
        var shadowRequests: [Int] = []
        /// The next full download sends this many bytes, then the connection is closed.
        var cutAfter: Int?
        /// The next full download sends this many bytes, then nothing more (the connection stays open).
        var stallAfter: Int?
        /// The next full download sends one byte every 50 ms.
        var dripNext = false
        /// The next telemetry batch is answered with a head and a body that never ends.
        var stallNextTelemetry = false
        /// Set by `stop()`: a stalled or dripping answer ends.
        var stopping = false
        /// The next telemetry batch is stored, then answered 500 (as if the answer was lost).
        var failNextTelemetry = false
        var requests: [Request] = []
        var batches: [String: Int] = [:]
        var rows: [String] = []
        var duplicates = 0
        /// Monitor window bodies, in the order they came.
        var windows: [String] = []
        /// Answer a gzip upload with 415, as a training host older than gzip intake does.
        var refuseGzip = false
    }

    init(port: Int? = nil, gatewayID: String, token: String = "gw-token") async throws {
        self.port = try port ?? freeLoopbackPort()
        self.gatewayID = gatewayID
        self.token = token
        let router = Router()
        let state = self.state
        router.get("/v1/gateways/:id/model") { request, context -> Response in
            try TestTrainingHost.model(request, context, state: state, gatewayID: gatewayID, token: token)
        }
        router.get("/v1/gateways/:id/shadow") { request, context -> Response in
            if let status = TestTrainingHost.authorize(request, context, gatewayID: gatewayID, token: token) {
                return Response(status: status)
            }
            guard let bundle = state.withLock({ $0.shadow }) else {
                state.withLock { $0.shadowRequests.append(204) }
                return Response(status: .noContent)
            }
            let etag = "\"\(TestTrainingHost.sha256(bundle))\""
            if (request.headers[.ifNoneMatch] ?? "").contains(etag) {
                state.withLock { $0.shadowRequests.append(304) }
                return Response(status: .notModified, headers: [.eTag: etag])
            }
            state.withLock { $0.shadowRequests.append(200) }
            return Response(
                status: .ok, headers: [.eTag: etag], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bundle)))
        }
        router.post("/v1/gateways/:id/telemetry") { request, context -> Response in
            try await TestTrainingHost.telemetry(request, context, state: state, gatewayID: gatewayID, token: token)
        }
        router.post("/v1/gateways/:id/monitor") { request, context -> Response in
            var record = Request(
                method: "POST", status: 200, batchID: request.headers[.init("Batch-ID")!],
                encoding: request.headers[.contentEncoding])
            defer { state.withLock { $0.requests.append(record) } }
            if let status = TestTrainingHost.authorize(request, context, gatewayID: gatewayID, token: token) {
                record.status = Int(status.code)
                return Response(status: status)
            }
            guard let body = try await TestTrainingHost.body(request, state: state) else {
                record.status = 415
                return Response(status: .unsupportedMediaType)
            }
            state.withLock { $0.windows.append(String(buffer: body)) }
            return Response(status: .ok)
        }
        var logger = Logger(label: "test-host")
        logger.logLevel = .critical
        let started = Locked(false)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: self.port)),
            onServerRunning: { _ in started.withLock { $0 = true } }, logger: logger)
        let group = ServiceGroup(services: [app], logger: logger)
        self.group = group
        task = Task { try await group.run() }
        _ = try await waitUntil(timeout: 10, "the test host listening") { started.withLock { $0 } ? true : nil }
    }

    deinit { task.cancel() }

    func stop() async {
        state.withLock { $0.stopping = true }
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var requests: [Request] { state.withLock { $0.requests } }
    var rows: [String] { state.withLock { $0.rows } }
    var duplicates: Int { state.withLock { $0.duplicates } }
    var windows: [String] { state.withLock { $0.windows } }

    func serve(_ bundle: [UInt8]?) { state.withLock { $0.bundle = bundle } }
    func serveShadow(_ bundle: [UInt8]?) { state.withLock { $0.shadow = bundle } }
    var shadowRequests: [Int] { state.withLock { $0.shadowRequests } }
    func cutNextDownload(after bytes: Int) { state.withLock { $0.cutAfter = bytes } }
    func failNextTelemetry() { state.withLock { $0.failNextTelemetry = true } }
    /// From now on a gzip upload is answered 415, as by a training host older than gzip intake.
    func refuseGzip() { state.withLock { $0.refuseGzip = true } }
    func stallNextDownload(after bytes: Int) { state.withLock { $0.stallAfter = bytes } }
    func dripNextDownload() { state.withLock { $0.dripNext = true } }
    func stallNextTelemetry() { state.withLock { $0.stallNextTelemetry = true } }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    fileprivate static func authorize(
        _ request: Hummingbird.Request, _ context: BasicRequestContext, gatewayID: String, token: String
    ) -> HTTPResponse.Status? {
        guard request.headers[.authorization] == "Bearer \(token)" else { return .unauthorized }
        guard context.parameters.get("id") == gatewayID else { return .forbidden }
        return nil
    }

    private static func model(
        _ request: Hummingbird.Request, _ context: BasicRequestContext, state: Locked<State>, gatewayID: String,
        token: String
    ) throws -> Response {
        var record = Request(
            method: "GET", status: 0, range: request.headers[.range], ifNoneMatch: request.headers[.ifNoneMatch])
        defer { state.withLock { $0.requests.append(record) } }
        if let status = authorize(request, context, gatewayID: gatewayID, token: token) {
            record.status = Int(status.code)
            return Response(status: status)
        }
        let (bundle, cut) = state.withLock { s -> ([UInt8]?, Int?) in
            defer { s.cutAfter = nil }
            return (s.bundle, s.bundle == nil ? nil : s.cutAfter)
        }
        let slow = state.withLock { s -> (stallAfter: Int?, drip: Bool)? in
            guard s.bundle != nil, request.headers[.range] == nil, s.stallAfter != nil || s.dripNext else { return nil }
            defer {
                s.stallAfter = nil
                s.dripNext = false
            }
            return (s.stallAfter, s.dripNext)
        }
        guard let bundle else {
            record.status = 204
            return Response(status: .noContent)
        }
        let etag = sha256(bundle)
        record.etag = etag
        var headers: HTTPFields = [.eTag: "\"\(etag)\"", .acceptRanges: "bytes", .init("X-Occupant-Model")!: "test@1"]
        let tags = (request.headers[.ifNoneMatch] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        if tags.contains("\"\(etag)\"") || tags.contains("*") {
            record.status = 304
            return Response(status: .notModified, headers: headers)
        }
        if let range = request.headers[.range], range.hasPrefix("bytes="), range.hasSuffix("-"),
            let start = Int(range.dropFirst("bytes=".count).dropLast()),
            request.headers[.ifRange] == nil || request.headers[.ifRange] == "\"\(etag)\""
        {
            guard start < bundle.count else {
                record.status = 416
                return Response(status: .rangeNotSatisfiable)
            }
            record.status = 206
            headers[.contentRange] = "bytes \(start)-\(bundle.count - 1)/\(bundle.count)"
            return Response(
                status: .partialContent, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: bundle[start...])))
        }
        record.status = 200
        if let slow {
            // Part of the body (or one byte at a time), never the end, until the client gives up or the host stops.
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody(contentLength: bundle.count) { writer in
                    var sent = 0
                    if let first = slow.stallAfter {
                        try await writer.write(ByteBuffer(bytes: bundle.prefix(first)))
                        sent = first
                    }
                    while !state.withLock({ $0.stopping }) {
                        try await Task.sleep(for: .milliseconds(50))
                        if slow.drip && sent < bundle.count - 1 {
                            try await writer.write(ByteBuffer(bytes: bundle[sent..<sent + 1]))
                            sent += 1
                        }
                    }
                    throw CancellationError()
                })
        }
        if let cut {
            // Send part of the body, then drop the connection.
            let part = ByteBuffer(bytes: bundle.prefix(cut))
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody(contentLength: bundle.count) { writer in
                    try await writer.write(part)
                    try await Task.sleep(for: .milliseconds(300))
                    throw CancellationError()
                })
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bundle)))
    }

    private static func telemetry(
        _ request: Hummingbird.Request, _ context: BasicRequestContext, state: Locked<State>, gatewayID: String,
        token: String
    ) async throws -> Response {
        let batchID = request.headers[.init("Batch-ID")!]
        var record = Request(
            method: "POST", status: 0, batchID: batchID, encoding: request.headers[.contentEncoding])
        defer { state.withLock { $0.requests.append(record) } }
        if let status = authorize(request, context, gatewayID: gatewayID, token: token) {
            record.status = Int(status.code)
            return Response(status: status)
        }
        func answer(_ status: HTTPResponse.Status, _ json: String) -> Response {
            record.status = Int(status.code)
            return Response(
                status: status, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
        }
        let stall = state.withLock { s -> Bool in
            defer { s.stallNextTelemetry = false }
            return s.stallNextTelemetry
        }
        if stall {
            record.status = 200
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(contentLength: 100) { writer in
                    try await writer.write(ByteBuffer(string: "{"))
                    while !state.withLock({ $0.stopping }) { try await Task.sleep(for: .milliseconds(50)) }
                    throw CancellationError()
                })
        }
        guard request.headers[.contentType] == "application/x-ndjson" else {
            return answer(.unsupportedMediaType, #"{"error":"expected application/x-ndjson"}"#)
        }
        guard let batchID, !batchID.isEmpty else { return answer(.badRequest, #"{"error":"missing Batch-ID"}"#) }
        guard let body = try await body(request, state: state) else {
            return answer(.unsupportedMediaType, #"{"error":"Content-Encoding 'gzip' is not supported"}"#)
        }
        record.bytes = body.readableBytes
        let lines = String(buffer: body).split(separator: "\n").map(String.init)
        for line in lines {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                object["at"] is String,
                object["readings"] is [String: Any]
            else { return answer(.badRequest, #"{"error":"malformed row"}"#) }
        }
        let (duplicate, fail) = state.withLock { s -> (Bool, Bool) in
            if s.batches[batchID] != nil {
                s.duplicates += 1
                return (true, false)
            }
            s.batches[batchID] = lines.count
            s.rows += lines
            defer { s.failNextTelemetry = false }
            return (false, s.failNextTelemetry)
        }
        if fail { return answer(.internalServerError, #"{"error":"answer lost"}"#) }
        return answer(
            .ok, #"{"batch":"\#(batchID)","accepted":\#(duplicate ? 0 : lines.count),"duplicate":\#(duplicate)}"#)
    }

    /// An upload's body, inflated when gzip; nil when it is gzip and this host plays an old server that refuses it.
    private static func body(_ request: Hummingbird.Request, state: Locked<State>) async throws -> ByteBuffer? {
        var body = try await request.body.collect(upTo: 8 << 20)
        guard request.headers[.contentEncoding] == "gzip" else { return body }
        if state.withLock({ $0.refuseGzip }) { return nil }
        return try body.decompress(with: .gzip)
    }
}
