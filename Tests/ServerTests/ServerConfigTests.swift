import Foundation
import OccupantCore
import OccupantTesting
import Server
import Testing

@Suite struct ServerConfigTests {
    @Test func readsEverySection() throws {
        let config = try ServerConfig.parse(
            yaml: """
                stateDirectory: /tmp/s
                http: { host: 0.0.0.0, port: 9000, publicUrl: "http://trainer.local:9000/" }
                broker: { host: broker.local, port: 8883, shareGroup: trainers }
                signingKey: /etc/occupant/server.key
                adminToken: secret
                gateways:
                  - { id: gw-a, scope: office, token: a }
                  - { id: gw-b, scope: office, tokenSha256: "\(tokenHash("b"))" }
                retrain: { newLabelledRows: 100, every: 1h, trials: 8, holdout: 0.3 }
                promotion: { metric: f1, margin: 0.01, firstWave: { gateways: [gw-a] } }
                alerts: { margin: 0.1, webhook: "http://hooks.local/x", silentAfter: 30m }
                metrics: { token: scrape }
                """)
        #expect(config.http.port == 9000)
        #expect(config.baseURL == "http://trainer.local:9000")
        #expect(config.broker?.shareGroup == "trainers")
        #expect(config.adminTokenHash == tokenHash("secret"))
        #expect(config.gateways.map(\.id) == ["gw-a", "gw-b"])
        #expect(config.gateway("gw-b")?.tokenHash == tokenHash("b"))
        #expect(config.scopes == ["office"])
        #expect(config.retrain.every == 3600)
        #expect(config.promotion.metric == .f1)
        #expect(config.promotion.firstWave == ["gw-a"])
        #expect(config.alerts.silentAfter == 1800)
        #expect(config.metrics.tokenHash == tokenHash("scrape") && !config.metrics.open)
    }

    @Test func badAlertAndMetricsSettingsAreNamed() {
        do {
            _ = try ServerConfig.parse(
                yaml: """
                    alerts: { silentAfter: 0s }
                    metrics: { tokenSha256: nothex, open: perhaps }
                    """, source: "server.yaml")
            Issue.record("expected errors")
        } catch {
            let lines = error.description.split(separator: "\n")
            #expect(lines.count == 3, "\(error.description)")
            #expect(error.description.contains("alerts.silentAfter") && error.description.contains("must be positive"))
            #expect(error.description.contains("metrics.tokenSha256") && error.description.contains("64 hex digits"))
            #expect(error.description.contains("metrics.open"))
        }
    }

    @Test func badKeysAreNamedOnePerLine() {
        do {
            _ = try ServerConfig.parse(
                yaml: """
                    http: { port: 99999 }
                    gateways:
                      - { id: "a/b", token: x }
                      - { id: c }
                    promotion: { metric: precision, firstWave: { gateways: [nobody] } }
                    colour: blue
                    """, source: "server.yaml")
            Issue.record("expected errors")
        } catch {
            let lines = error.description.split(separator: "\n")
            #expect(lines.count == 6, "\(error.description)")
            #expect(error.description.contains("http.port"))
            #expect(error.description.contains("cannot be a gateway id"))
            #expect(error.description.contains("needs 'token' or 'tokenSha256'"))
            #expect(error.description.contains("promotion.metric"))
            #expect(error.description.contains("firstWave names 'nobody'"))
            #expect(error.description.contains("colour"))
            #expect(lines.allSatisfy { $0.hasPrefix("server.yaml") })
        }
    }

    @Test func rolloutWavesProbationAndAbortShare() throws {
        let config = try ServerConfig.parse(
            yaml: """
                gateways: [{ id: gw-a, token: a }, { id: gw-b, token: b }]
                promotion: { waves: [{ gateways: [gw-a] }, { percent: 10 }, { percent: 50 }], probation: 2h, abortShare: 0.2 }
                """)
        #expect(config.promotion.plannedWaves.map(\.gateways) == [["gw-a"], [], []])
        #expect(config.promotion.plannedWaves.map(\.percent) == [nil, 10, 50])
        #expect(config.promotion.probation == 7_200 && config.promotion.abortShare == 0.2)
        // The older firstWave is the two-wave shorthand; nothing configured: everyone at once.
        let first = try ServerConfig.parse(
            yaml: "gateways: [{ id: gw-a, token: a }]\npromotion: { firstWave: { percent: 5 } }")
        #expect(first.promotion.plannedWaves == [.init(percent: 5)])
        #expect(try ServerConfig.parse(yaml: "gateways: [{ id: gw-a, token: a }]").promotion.plannedWaves.isEmpty)
        do {
            _ = try ServerConfig.parse(
                yaml: """
                    gateways: [{ id: gw-a, token: a }]
                    promotion: { waves: [{ gateways: [nobody] }, { percent: 150 }], firstWave: { gateways: [gw-a] }, probation: -1h, abortShare: 2 }
                    """, source: "server.yaml")
            Issue.record("expected errors")
        } catch {
            #expect(error.description.contains("waves[0] names 'nobody'"), "\(error.description)")
            #expect(error.description.contains("percent"), "\(error.description)")
            #expect(error.description.contains("give either firstWave or waves, not both"), "\(error.description)")
            #expect(error.description.contains("probation"), "\(error.description)")
            #expect(error.description.contains("abortShare"), "\(error.description)")
        }
    }

    @Test func sharedAndAdminTokensAreRefused() {
        do {
            _ = try ServerConfig.parse(
                yaml: """
                    adminToken: secret
                    gateways:
                      - { id: gw-a, token: a }
                      - { id: gw-b, tokenSha256: "\(tokenHash("a"))" }
                      - { id: gw-c, token: secret }
                    """, source: "server.yaml")
            Issue.record("expected errors")
        } catch {
            let lines = error.description.split(separator: "\n")
            #expect(lines.count == 2, "\(error.description)")
            #expect(
                error.description.contains(
                    "gateway 'gw-b' has the same token as gateway 'gw-a'; tokens must be unique"),
                "\(error.description)")
            #expect(
                error.description.contains("gateway 'gw-c' has the admin token; give every gateway a token of its own"),
                "\(error.description)")
        }
    }

    @Test func httpLimitsAreRead() throws {
        let config = try ServerConfig.parse(
            yaml: "http: { idleTimeout: 45s, maxConnections: 500, uploadsPerToken: 2 }")
        #expect(config.http.idleTimeout == 45)
        #expect(config.http.maxConnections == 500)
        #expect(config.http.uploadsPerToken == 2)
        #expect(ServerConfig().http.maxConnections == nil)
        #expect(throws: DocumentErrors.self) { try ServerConfig.parse(yaml: "http: { uploadsPerToken: 0 }") }
    }

    @Test func theShippedExampleParses() throws {
        let path = packageRoot().appendingPathComponent("tools/config/server.example.yaml").path
        let config = try ServerConfig.parse(yaml: try String(contentsOfFile: path, encoding: .utf8), source: path)
        #expect(config.http.idleTimeout == 30 && config.http.bodyTimeout == 120 && config.http.uploadsPerToken == 4)
        #expect(config.retrain.rooms == .init(enabled: true, labels: 50, days: 7))
    }
}
