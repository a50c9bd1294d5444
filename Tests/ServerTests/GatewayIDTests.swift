import Foundation
import OccupantTesting
import Server
import Testing

/// Issue 11, medium 7: gateway ids that are valid topic levels but not plain path segments (`küche`, `room 1`,
/// `lab:2`) upload through the real gateway client to a real server (they used to get 403 on every request).
@Suite(.serialized) struct GatewayIDTests {
    @Test func gatewaysWithUnicodeSpacesAndColonsUploadOverHTTP() async throws {
        let ids = [("küche", "token-k"), ("room 1", "token-r"), ("lab:2", "token-l")]
        let h = try await ServerHarness(
            name: "gateway-ids",
            gateways: ids.map { "  - { id: \"\($0.0)\", scope: office, token: \($0.1) }" }.joined(separator: "\n"))
        try await h.start()
        var gateways: [ChildProcess] = []
        defer { for g in gateways { g.signal(SIGKILL) } }
        for (n, (id, token)) in ids.enumerated() {
            let config = h.dir.appendingPathComponent("gw-\(n).yaml").path
            try """
            gatewayId: "\(id)"
            simulate: { scenario: day, speed: 600 }
            broker: { port: \(h.broker.port) }
            stateDirectory: \(h.dir.path)/gw-\(n)
            server: { url: "\(h.base)", token: \(token), uploadInterval: 1s, pollInterval: 1s, telemetry: http }
            """.write(toFile: config, atomically: true, encoding: .utf8)
            gateways.append(try ChildProcess(["gateway", "run", "--config", config]))
        }
        let store = try SQLiteStore(path: h.dir.path + "/state/server.sqlite")
        for ((id, _), gateway) in zip(ids, gateways) {
            try await waitUntil(timeout: 60, "telemetry from '\(id)' over HTTP (\(gateway.stderr.suffix(500)))") {
                try await store.telemetry(gateways: [id], from: nil).isEmpty ? nil : true
            }
            // "HTTP 403", as the gateway words a refused token: a bare "403" matches a broker port such as 40333.
            #expect(!gateway.stderr.contains("HTTP 403"), "\(gateway.stderr.suffix(1000))")
        }
    }
}
