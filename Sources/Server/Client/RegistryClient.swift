import AsyncHTTPClient
import FleetProtocol
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import OccupantCore

/// A request to the training host that did not come back with a document: the server could not be reached, it
/// refused (its status and one-line reason), or it answered something that is not the document.
public struct RegistryClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case unreachable
        case refused(status: Int)
        case badAnswer
    }

    public var kind: Kind
    /// The URL asked.
    public var url: String
    public var message: String

    public init(_ kind: Kind, url: String, _ message: String) {
        self.kind = kind
        self.url = url
        self.message = message
    }

    /// One line naming the URL: `cannot reach the server at http://…: connection refused`.
    public var description: String {
        switch kind {
        case .unreachable: "cannot reach the server at \(url): \(message)"
        case .refused(let status): "\(url): the server answered \(status): \(message)"
        case .badAnswer: "\(url): \(message)"
        }
    }
}

/// The training host's admin API as typed calls (`occupant server models|gateways|retrain|labels`): every request
/// carries the admin token; a server that does not answer fails within the connect timeout, not after the request's.
public struct RegistryClient: Sendable {
    /// `http://host:port`, no trailing slash.
    public let baseURL: String
    let token: String
    let http: HTTPClient
    /// How long one request may take (a retrain runs for minutes: it has its own).
    public var requestTimeout: TimeAmount = .seconds(30)

    /// Runs `body` with a client of its own (closed afterwards) that gives up connecting after `connectTimeout`.
    public static func with<T: Sendable>(
        baseURL: String, token: String, connectTimeout: TimeAmount = .seconds(3),
        _ body: (RegistryClient) async throws -> T
    ) async throws -> T {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: connectTimeout))
        // A refused or unanswered connect fails the request now, instead of being retried until its deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        configuration.tlsConfiguration = tls
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let client = RegistryClient(baseURL: baseURL, token: token, http: http)
        do {
            let result = try await body(client)
            try? await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// A client on `http` (which the caller shuts down).
    public init(baseURL: String, token: String, http: HTTPClient) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.http = http
    }

    // MARK: Calls

    /// `GET /v1/models[?scope=S]`.
    public func models(scope: String? = nil) async throws(RegistryClientError) -> RegistryListing {
        try await call(.GET, API.models(scope: scope), as: RegistryListing.self)
    }

    /// `GET /v1/gateways`.
    public func gateways() async throws(RegistryClientError) -> GatewayListing {
        try await call(.GET, API.gateways, as: GatewayListing.self)
    }

    /// `GET /v1/stats`.
    public func stats() async throws(RegistryClientError) -> ServerStats {
        try await call(.GET, API.stats, as: ServerStats.self)
    }

    /// `GET /v1/alerts[?open=true]`.
    public func alerts(open: Bool = false) async throws(RegistryClientError) -> AlertListing {
        try await call(.GET, API.alerts(open: open), as: AlertListing.self)
    }

    /// `GET /v1/gateways/{id}/monitor[?since=T]`.
    public func monitor(gateway: String, since: String? = nil) async throws(RegistryClientError) -> MonitorListing {
        try await call(.GET, API.gatewayMonitor(gateway, since: since), as: MonitorListing.self)
    }

    /// `GET /v1/scopes/{scope}/shadow`.
    public func shadow(scope: String) async throws(RegistryClientError) -> ShadowListing {
        try await call(.GET, API.scopeShadow(scope), as: ShadowListing.self)
    }

    /// `GET /v1/scopes/{scope}/rooms`: each room's labels, model, and last fleet-vs-room decision.
    public func rooms(scope: String) async throws(RegistryClientError) -> RoomsDocument {
        try await call(.GET, "/v1/scopes/\(API.pathSegment(scope))/rooms", as: RoomsDocument.self)
    }

    /// `PUT /v1/scopes/{scope}/shadow`: `version` in shadow on the scope or one gateway (nil clears).
    public func assignShadow(scope: String, version: Int?, gateway: String?) async throws(RegistryClientError)
        -> ShadowListing
    {
        let body: [UInt8]
        do {
            body = try FleetJSON.bytes(ShadowAssignment(version: version, gateway: gateway))
        } catch {
            throw RegistryClientError(
                .badAnswer, url: API.url(baseURL, API.scopeShadow(scope)), "cannot encode the assignment: \(error)")
        }
        return try await call(
            .PUT, API.scopeShadow(scope), body: body, contentType: "application/json", as: ShadowListing.self)
    }

    /// `POST /v1/alerts/{id}/ack`.
    public func acknowledgeAlert(_ id: Int, by: String) async throws(RegistryClientError) -> AlertDocument {
        let body: [UInt8]
        do {
            body = try FleetJSON.bytes(AlertAcknowledgement(by: by))
        } catch {
            throw RegistryClientError(
                .badAnswer, url: API.url(baseURL, API.alertAck(id)), "cannot encode the acknowledgement: \(error)")
        }
        return try await call(
            .POST, API.alertAck(id), body: body, contentType: "application/json", as: AlertDocument.self)
    }

    /// `POST /v1/scopes/{scope}/promote`.
    public func promote(scope: String, version: Int, by: String) async throws(RegistryClientError) -> RolloutDocument {
        let body: [UInt8]
        do {
            body = try FleetJSON.bytes(PromoteRequest(version: version, by: by))
        } catch {
            throw RegistryClientError(
                .badAnswer, url: API.url(baseURL, API.promote(scope: scope)), "cannot encode: \(error)")
        }
        return try await call(
            .POST, API.promote(scope: scope), body: body, contentType: "application/json", as: RolloutDocument.self)
    }

    /// `GET /v1/scopes/{scope}/rollout`.
    public func rollout(scope: String) async throws(RegistryClientError) -> RolloutDocument {
        try await call(.GET, API.rollout(scope: scope), as: RolloutDocument.self)
    }

    /// `POST /v1/scopes/{scope}/rollout/{action}`.
    public func rollout(scope: String, _ action: RolloutDocument.Action, by: String) async throws(RegistryClientError)
        -> RolloutDocument
    {
        let body: [UInt8]
        do {
            body = try FleetJSON.bytes(AlertAcknowledgement(by: by))
        } catch {
            throw RegistryClientError(
                .badAnswer, url: API.url(baseURL, API.rollout(scope: scope, action: action)), "cannot encode: \(error)")
        }
        return try await call(
            .POST, API.rollout(scope: scope, action: action), body: body, contentType: "application/json",
            as: RolloutDocument.self)
    }

    /// `POST /v1/scopes/{scope}/retrain`: waits for the job (up to `timeout`).
    public func retrain(scope: String, timeout: TimeAmount = .hours(1)) async throws(RegistryClientError)
        -> RetrainOutcome
    {
        try await call(.POST, API.retrain(scope: scope), timeout: timeout, as: RetrainOutcome.self)
    }

    /// `POST /v1/labels`: CSV (`text/csv`) or `LabelDocument`s (`application/json`).
    public func importLabels(_ body: [UInt8], contentType: String) async throws(RegistryClientError) -> LabelsReceipt {
        try await call(.POST, API.labels, body: body, contentType: contentType, as: LabelsReceipt.self)
    }

    /// `POST /v1/labels` with documents.
    public func importLabels(_ labels: [LabelDocument]) async throws(RegistryClientError) -> LabelsReceipt {
        let body: [UInt8]
        do {
            body = try FleetJSON.bytes(labels)
        } catch {
            throw RegistryClientError(
                .badAnswer, url: API.url(baseURL, API.labels), "cannot encode the labels: \(error)")
        }
        return try await importLabels(body, contentType: "application/json")
    }

    // MARK: Transport

    func call<Document: Decodable>(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String? = nil,
        timeout: TimeAmount? = nil,
        as type: Document.Type
    ) async throws(RegistryClientError) -> Document {
        let url = API.url(baseURL, path)
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "User-Agent", value: "occupant/\(occupantVersion)")
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: contentType ?? "application/octet-stream")
        }
        let status: Int
        let bytes: [UInt8]
        do {
            let response = try await http.execute(request, timeout: timeout ?? requestTimeout)
            status = Int(response.status.code)
            bytes = Array(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        } catch {
            throw RegistryClientError(.unreachable, url: url, Self.describe(error))
        }
        guard (200..<300).contains(status) else {
            let reason =
                (try? FleetJSON.decode(ErrorDocument.self, from: bytes))?.error
                ?? String(decoding: bytes.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw RegistryClientError(.refused(status: status), url: url, reason.isEmpty ? "no reason given" : reason)
        }
        do {
            return try FleetJSON.decode(type, from: bytes)
        } catch {
            throw RegistryClientError(.badAnswer, url: url, "the answer is not a \(type) document: \(error)")
        }
    }

    /// A connection error in a few words (`connection refused`, `no answer within 3 s`).
    static func describe(_ error: any Error) -> String {
        switch error {
        case let e as HTTPClientError where e == .connectTimeout: return "no connection within the connect timeout"
        case let e as HTTPClientError where e == .deadlineExceeded: return "no answer within the request timeout"
        case let e as NIOConnectionError:
            if let first = e.connectionErrors.first { return describe(first.error) }
            if let dns = e.dnsAError ?? e.dnsAAAAError { return "cannot resolve \(e.host): \(describe(dns))" }
            return "cannot connect to \(e.host):\(e.port)"
        case let e as IOError:
            return String(cString: strerror(e.errnoCode)).lowercased()
        default:
            return String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        }
    }
}
