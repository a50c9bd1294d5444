import CompressNIO
import FleetProtocol
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OccupantCore
import Testing

@testable import Server

/// `Content-Encoding: gzip` on uploads (issue 15 §4): stored exactly like the plain body, and a body that inflates past
/// `intake.maxBodyBytes` (100,000 in the rig), is corrupt or is cut short is refused with nothing stored.
@Suite struct GzipIntakeTests {
    func bearer(_ token: String, gzip: Bool = true) -> HTTPFields {
        var fields: HTTPFields = [.authorization: "Bearer \(token)"]
        if gzip { fields[.contentEncoding] = "gzip" }
        return fields
    }

    func gzipped(_ text: String) throws -> ByteBuffer {
        var plain = ByteBuffer(string: text)
        return try plain.compress(with: .gzip)
    }

    let rows = (0..<3).map { #"{"at":"2026-01-05T00:00:0\#($0)Z","readings":{"sound":\#($0)}}"# }
        .joined(separator: "\n")

    @Test func aGzipBatchIsStoredLikeThePlainOneAndItsResendIsADuplicate() async throws {
        let rig = try RouteRig("gzip-ok")
        try await rig.test { client in
            var headers = bearer("token-a")
            headers[HTTPField.Name(API.Header.batchID)!] = "batch-1"
            let first = try await client.execute(
                uri: API.gatewayTelemetry("gw-a"), method: .post, headers: headers, body: try gzipped(rows))
            #expect(first.status == .ok)
            #expect(String(buffer: first.body).contains(#""accepted":3"#))
            // The same batch sent plain is the same batch: stored once.
            var plain = bearer("token-a", gzip: false)
            plain[HTTPField.Name(API.Header.batchID)!] = "batch-1"
            let again = try await client.execute(
                uri: API.gatewayTelemetry("gw-a"), method: .post, headers: plain, body: ByteBuffer(string: rows))
            #expect(String(buffer: again.body).contains(#""duplicate":true"#))
        }
        #expect(try await rig.store.telemetryCount() == 3)
        let stored = try await rig.store.telemetry(gateways: ["gw-a"], from: nil)
        #expect(stored.map(\.at) == [0, 1, 2].map { Instant(iso8601: "2026-01-05T00:00:0\($0)Z")!.seconds })
    }

    @Test func aGzipBombIsRefusedWith413AndNothingIsStored() async throws {
        let rig = try RouteRig("gzip-bomb")
        // 10 MB of one repeated row inflates from about 10 KB: far past the rig's 100,000-byte limit.
        let line = #"{"at":"2026-01-05T00:00:00Z","readings":{"sound":1}}"# + "\n"
        let bomb = try gzipped(String(repeating: line, count: 10_000_000 / line.utf8.count))
        #expect(bomb.readableBytes < 100_000)
        try await rig.test { client in
            let response = try await client.execute(
                uri: API.gatewayTelemetry("gw-a"), method: .post, headers: bearer("token-a"), body: bomb)
            #expect(response.status == .contentTooLarge)
            #expect(String(buffer: response.body).contains("inflates to more than 100000 bytes"))
        }
        #expect(try await rig.store.telemetryCount() == 0)
    }

    @Test func corruptOrCutGzipIsA400AndNothingIsStored() async throws {
        let rig = try RouteRig("gzip-bad")
        let good = try gzipped(rows)
        var cut = good
        cut.moveWriterIndex(to: good.writerIndex - 6)
        var flipped = good
        flipped.setInteger(~good.getInteger(at: 14, as: UInt8.self)!, at: 14)
        let bodies = [
            ("not gzip", ByteBuffer(string: rows)), ("cut", cut), ("corrupt", flipped), ("empty", ByteBuffer()),
        ]
        try await rig.test { client in
            for (name, body) in bodies {
                let response = try await client.execute(
                    uri: API.gatewayTelemetry("gw-a"), method: .post, headers: bearer("token-a"), body: body)
                #expect(response.status == .badRequest, "\(name)")
                #expect(String(buffer: response.body).contains("gzip"), "\(name)")
            }
        }
        #expect(try await rig.store.telemetryCount() == 0)
    }

    @Test func gzipLabelsAreTakenToo() async throws {
        let rig = try RouteRig("gzip-labels")
        let labels = #"[{"gateway":"gw-a","from":"2026-01-05T00:00:00Z","to":"2026-01-05T01:00:00Z","occupied":true}]"#
        try await rig.test { client in
            var headers = bearer("admin-token")
            headers[.contentType] = "application/json"
            let response = try await client.execute(
                uri: API.labels, method: .post, headers: headers, body: try gzipped(labels))
            #expect(response.status == .ok, "\(String(buffer: response.body))")
        }
        #expect(try await rig.store.labelCount(gateways: ["gw-a"]) == 1)
    }
}
