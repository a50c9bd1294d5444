import FleetProtocol
import Hummingbird
import NIOCore
import OccupantCore

/// A refused request: the status and `{"error":"<one line>"}`.
public struct APIError: HTTPResponseError {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    init(_ error: IntakeError) {
        self.init(HTTPResponse.Status(code: error.status), error.message)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        let body = ((try? FleetJSON.text(ErrorDocument(error: message))) ?? #"{"error":"?"}"#) + "\n"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

extension Response {
    /// A fleet document as JSON with status 200 (or `status`).
    static func json(_ document: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws
        -> Response
    {
        var headers = headers
        headers[.contentType] = "application/json"
        var bytes = try FleetJSON.bytes(document)
        bytes.append(UInt8(ascii: "\n"))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
