import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

func decode<D: Decodable>(_ type: D.Type, _ response: TestResponse) throws -> D {
    try FleetJSON.decode(type, from: response.body.readableBytesView)
}

/// The HTTP API through the router, no socket: who may do what, conditional and partial downloads, path checks.
@Suite struct RoutesTests {
    @Test func accessControl() async throws {
        let rig = try RouteRig("routes-access")
        try await rig.test { client in
            // No token or an unknown one: 401 with a challenge.
            let none = try await client.execute(uri: API.gatewayModel("gw-a"), method: .get)
            #expect(none.status == .unauthorized)
            #expect(none.headers[.wwwAuthenticate] == "Bearer")
            #expect(try decode(ErrorDocument.self, none).error == "missing bearer token")
            #expect(
                try await client.execute(uri: API.gatewayModel("gw-a"), method: .get, headers: bearer("wrong")).status
                    == .unauthorized)
            #expect(try await client.execute(uri: API.models(scope: nil), method: .get).status == .unauthorized)

            // Another gateway's model or telemetry: 403.
            let other = try await client.execute(
                uri: API.gatewayModel("gw-a"), method: .get, headers: bearer("token-b"))
            #expect(other.status == .forbidden)
            #expect(try decode(ErrorDocument.self, other).error == "this token belongs to gateway 'gw-b', not 'gw-a'")
            let body = ByteBuffer(string: #"{"at":"2026-01-05T00:00:00Z","readings":{"sound":1}}"#)
            #expect(
                try await client.execute(
                    uri: API.gatewayTelemetry("gw-a"), method: .post, headers: bearer("token-b"), body: body
                ).status == .forbidden)
            // Its own: fine (no model yet: 204).
            #expect(
                try await client.execute(uri: API.gatewayModel("gw-a"), method: .get, headers: bearer("token-a")).status
                    == .noContent)
            #expect(
                try await client.execute(
                    uri: API.gatewayTelemetry("gw-a"), method: .post, headers: bearer("token-a"), body: body
                ).status == .ok)
            // The admin may read any gateway's model, but not an unknown gateway's.
            #expect(
                try await client.execute(uri: API.gatewayModel("gw-a"), method: .get, headers: bearer("admin-token"))
                    .status == .noContent)
            #expect(
                try await client.execute(uri: API.gatewayModel("nobody"), method: .get, headers: bearer("admin-token"))
                    .status == .notFound)

            // Admin-only routes refuse a gateway token and answer the admin.
            for (method, uri) in [
                (HTTPRequest.Method.get, API.models(scope: nil)), (.get, API.gateways), (.get, API.stats),
                (.post, API.retrain(scope: "office")),
            ] {
                let refused = try await client.execute(uri: uri, method: method, headers: bearer("token-a"))
                #expect(refused.status == .forbidden, "\(method) \(uri)")
                #expect(try decode(ErrorDocument.self, refused).error == "this needs the admin token")
            }
            #expect(
                try await client.execute(uri: API.models(scope: nil), method: .get, headers: bearer("admin-token"))
                    .status == .ok)
            #expect(
                try await client.execute(
                    uri: API.retrain(scope: "nowhere"), method: .post, headers: bearer("admin-token")
                ).status == .notFound)

            // Labels: a gateway only its own, and no CSV import.
            let foreign = ByteBuffer(string: #"[{"gateway":"gw-b","from":1767571200,"to":1767574800,"occupied":true}]"#)
            #expect(
                try await client.execute(uri: API.labels, method: .post, headers: bearer("token-a"), body: foreign)
                    .status == .forbidden)
            var csv = bearer("token-a")
            csv[.contentType] = "text/csv"
            let rows = ByteBuffer(string: "gateway,from,to,occupied\ngw-a,1767571200,1767574800,1\n")
            #expect(
                try await client.execute(uri: API.labels, method: .post, headers: csv, body: rows).status == .forbidden)
            csv[.authorization] = "Bearer admin-token"
            let imported = try await client.execute(uri: API.labels, method: .post, headers: csv, body: rows)
            #expect(imported.status == .ok)
            #expect(try decode(LabelsReceipt.self, imported) == LabelsReceipt(accepted: 1))
        }
    }

    @Test func conditionalAndPartialDownloads() async throws {
        let rig = try RouteRig("routes-etag")
        let bytes = (0..<1000).map { UInt8($0 % 251) }
        let sha = try await rig.champion(bytes)
        try await rig.test { client in
            let uri = API.gatewayModel("gw-a")
            let full = try await client.execute(uri: uri, method: .get, headers: bearer("token-a"))
            #expect(full.status == .ok)
            #expect(Array(full.body.readableBytesView) == bytes)
            #expect(full.headers[.eTag] == "\"\(sha)\"")
            #expect(full.headers[.acceptRanges] == "bytes")
            #expect(full.headers[HTTPField.Name(API.Header.occupantModel)!] == "occupancy-office@1")

            // If-None-Match: the ETag, one of a list, or `*` → 304 with no body; another → the bundle.
            for match in ["\"\(sha)\"", "\"other\", \"\(sha)\"", "*"] {
                var headers = bearer("token-a")
                headers[.ifNoneMatch] = match
                let answer = try await client.execute(uri: uri, method: .get, headers: headers)
                #expect(answer.status == .notModified, "\(match)")
                #expect(answer.body.readableBytes == 0)
                #expect(answer.headers[.eTag] == "\"\(sha)\"")
            }
            var stale = bearer("token-a")
            stale[.ifNoneMatch] = "\"other\""
            #expect(try await client.execute(uri: uri, method: .get, headers: stale).status == .ok)

            // Range: from an offset, a closed range, a suffix → 206 with the bytes and Content-Range.
            for (range, start, end) in [
                ("bytes=400-", 400, 999), ("bytes=10-19", 10, 19), ("bytes=-100", 900, 999),
                ("bytes=990-5000", 990, 999),
            ] {
                var headers = bearer("token-a")
                headers[.range] = range
                headers[.ifRange] = "\"\(sha)\""
                let part = try await client.execute(uri: uri, method: .get, headers: headers)
                #expect(part.status == .partialContent, "\(range)")
                #expect(part.headers[.contentRange] == "bytes \(start)-\(end)/1000", "\(range)")
                #expect(Array(part.body.readableBytesView) == Array(bytes[start...end]), "\(range)")
            }
            // If-Range names another bundle: the whole new one, 200.
            var moved = bearer("token-a")
            moved[.range] = "bytes=400-"
            moved[.ifRange] = "\"old\""
            let whole = try await client.execute(uri: uri, method: .get, headers: moved)
            #expect(whole.status == .ok && whole.body.readableBytes == 1000)
            // Past the end, several ranges, or nonsense: 416 naming the size.
            for range in ["bytes=1000-", "bytes=0-1,5-6", "bytes=20-10", "items=0-1", "bytes=-0"] {
                var headers = bearer("token-a")
                headers[.range] = range
                let refused = try await client.execute(uri: uri, method: .get, headers: headers)
                #expect(refused.status == .rangeNotSatisfiable, "\(range)")
                #expect(refused.headers[.contentRange] == "bytes */1000", "\(range)")
            }
        }
    }

    @Test func pathParametersArePercentDecoded() async throws {
        let rig = try RouteRig("routes-paths")
        try await rig.test { client in
            // Ids that are not plain ASCII reach their own gateway (they were refused with 403 before).
            for (id, token) in [("küche", "token-k"), ("room 1", "token-r")] {
                #expect(
                    try await client.execute(uri: API.gatewayModel(id), method: .get, headers: bearer(token)).status
                        == .noContent, "\(id)")
                var headers = bearer(token)
                headers[HTTPField.Name(API.Header.batchID)!] = "b-1"
                let body = ByteBuffer(string: #"{"at":"2026-01-05T00:00:00Z","readings":{"sound":1}}"# + "\n")
                let stored = try await client.execute(
                    uri: API.gatewayTelemetry(id), method: .post, headers: headers, body: body)
                #expect(stored.status == .ok, "\(id)")
                #expect(
                    try decode(TelemetryReceipt.self, stored)
                        == TelemetryReceipt(batch: "b-1", rows: 1, accepted: 1, duplicate: false))
                let again = try await client.execute(
                    uri: API.gatewayTelemetry(id), method: .post, headers: headers, body: body)
                #expect(
                    try decode(TelemetryReceipt.self, again)
                        == TelemetryReceipt(batch: "b-1", rows: 1, accepted: 0, duplicate: true))
            }
            #expect(try await rig.store.telemetry(gateways: ["küche", "room 1"], from: nil).count == 2)
            // Still only its own.
            #expect(
                try await client.execute(uri: API.gatewayModel("küche"), method: .get, headers: bearer("token-r"))
                    .status == .forbidden)
            // A malformed escape is a bad request, not some gateway's.
            #expect(
                try await client.execute(uri: "/v1/gateways/k%zzche/model", method: .get, headers: bearer("token-k"))
                    .status == .badRequest)
            // A scope name is a path parameter too.
            #expect(
                try await client.execute(
                    uri: API.retrain(scope: "no such"), method: .post, headers: bearer("admin-token")
                ).status == .notFound)

            // Body checks: too long a Batch-ID, an encoding other than gzip, a body over intake.maxBodyBytes.
            var long = bearer("token-a")
            long[HTTPField.Name(API.Header.batchID)!] = String(repeating: "x", count: API.maxBatchIDBytes + 1)
            let line = ByteBuffer(string: #"{"at":"2026-01-05T00:00:00Z","readings":{"sound":1}}"#)
            #expect(
                try await client.execute(uri: API.gatewayTelemetry("gw-a"), method: .post, headers: long, body: line)
                    .status == .badRequest)
            var brotli = bearer("token-a")
            brotli[.contentEncoding] = "br"
            #expect(
                try await client.execute(uri: API.gatewayTelemetry("gw-a"), method: .post, headers: brotli, body: line)
                    .status == .unsupportedMediaType)
            let big = ByteBuffer(string: String(repeating: "x", count: 100_001))
            #expect(
                try await client.execute(
                    uri: API.gatewayTelemetry("gw-a"), method: .post, headers: bearer("token-a"), body: big
                ).status == .contentTooLarge)
        }
    }

    /// Ids that try to climb out of their segment, or are not valid UTF-8, reach no gateway, no scope and no file.
    @Test func badIdsAndTraversalAreRefused() async throws {
        let rig = try RouteRig("routes-traversal")
        try await rig.champion(Array(repeating: 1, count: 32))
        try await rig.test { client in
            let line = ByteBuffer(string: #"{"at":"2026-01-05T00:00:00Z","readings":{"sound":1}}"#)
            for raw in ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", "gw-a%2F..%2Fgw-b", "gw-a%00"] {
                let uri = "/v1/gateways/\(raw)/model"
                // Decoded, these are ids no gateway has: unknown to the admin, another's to a gateway, nothing without a token.
                let admin = try await client.execute(uri: uri, method: .get, headers: bearer("admin-token"))
                #expect(admin.status == .notFound, "\(raw)")
                #expect(try decode(ErrorDocument.self, admin).error.hasPrefix("unknown gateway"), "\(raw)")
                #expect(
                    try await client.execute(uri: uri, method: .get, headers: bearer("token-a")).status == .forbidden,
                    "\(raw)")
                #expect(try await client.execute(uri: uri, method: .get).status == .unauthorized, "\(raw)")
                let posted = try await client.execute(
                    uri: "/v1/gateways/\(raw)/telemetry", method: .post, headers: bearer("admin-token"), body: line)
                #expect(posted.status == .notFound, "\(raw)")
            }
            // Escapes that are not UTF-8, or not escapes: a bad request.
            for raw in ["%ff%fe", "gw-a%2", "%zz"] {
                #expect(
                    try await client.execute(
                        uri: "/v1/gateways/\(raw)/model", method: .get, headers: bearer("admin-token")
                    ).status == .badRequest, "\(raw)")
            }
            // A scope that climbs: unknown.
            #expect(
                try await client.execute(
                    uri: "/v1/scopes/..%2Foffice/retrain", method: .post, headers: bearer("admin-token")
                ).status == .notFound)
            // Bare dot segments match no route.
            #expect(
                try await client.execute(uri: "/v1/gateways/../model", method: .get, headers: bearer("admin-token"))
                    .status == .notFound)
        }
        #expect(try await rig.store.telemetry(gateways: rig.config.gateways.map(\.id), from: nil).isEmpty)
    }

    /// "In the future" is judged by the server's clock: a manual one here, moved by the test.
    @Test func intakeJudgesTheFutureByTheServersClock() async throws {
        let clock = ManualClock(try #require(Instant(iso8601: "2026-01-05T00:00:00Z")))
        let rig = try RouteRig("routes-clock", clock: clock)
        try await rig.test { client in
            let soon = ByteBuffer(string: #"{"at":"2026-01-05T00:04:00Z","readings":{"sound":1}}"#)
            let later = ByteBuffer(string: #"{"at":"2026-01-05T00:10:00Z","readings":{"sound":1}}"#)
            #expect(
                try await client.execute(
                    uri: API.gatewayTelemetry("gw-a"), method: .post, headers: bearer("token-a"), body: soon
                ).status == .ok)
            let refused = try await client.execute(
                uri: API.gatewayTelemetry("gw-a"), method: .post, headers: bearer("token-a"), body: later)
            #expect(refused.status == .badRequest)
            #expect(try decode(ErrorDocument.self, refused).error.contains("server time 2026-01-05T00:00:00.000Z"))
            clock.advance(600)
            #expect(
                try await client.execute(
                    uri: API.gatewayTelemetry("gw-a"), method: .post, headers: bearer("token-a"), body: later
                ).status == .ok)
        }
        #expect(try await rig.store.telemetry(gateways: ["gw-a"], from: nil).count == 2)
    }

    @Test func listingsAreTheTypedDocuments() async throws {
        let rig = try RouteRig("routes-listings")
        let sha = try await rig.champion(Array(repeating: 7, count: 64))
        try await rig.test { client in
            let models = try decode(
                RegistryListing.self,
                try await client.execute(uri: API.models(scope: "office"), method: .get, headers: bearer("admin-token"))
            )
            #expect(models.models.map(\.aliases) == [["champion"]])
            #expect(models.models.first?.sha256 == sha)
            #expect(models.models.first?.holdout?.accuracy == 0.9 && models.models.first?.holdout?.rows == 12)
            #expect(models.models.first?.dataFrom == "2026-01-05T00:00:00.000Z")
            let gateways = try decode(
                GatewayListing.self,
                try await client.execute(uri: API.gateways, method: .get, headers: bearer("admin-token")))
            #expect(gateways.gateways.map(\.id) == ["gw-a", "gw-b", "küche", "room 1"])
            #expect(
                gateways.gateways.allSatisfy {
                    $0.assigned == "occupancy-office@1" && $0.assignedSha256 == sha && $0.active == nil
                })
            let stats = try decode(
                ServerStats.self, try await client.execute(uri: API.stats, method: .get, headers: bearer("admin-token"))
            )
            #expect(stats == ServerStats(telemetryRows: 0, labelRanges: 0, labelledRows: 0, models: 1))
            let health = try await client.execute(uri: API.health, method: .get)
            #expect(try decode(HealthDocument.self, health).status == "ok")
        }
    }
}
