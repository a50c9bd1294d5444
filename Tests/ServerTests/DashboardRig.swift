import Evaluator
import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OccupantCore
import OccupantTesting
import Testing

@testable import Server

/// A server's routes over a seeded store for the dashboard: scopes `office` (gw-a, gw-b and a gateway whose id is
/// markup) and `lab` (lab-1); office's v2 rolling out in two waves (gw-a passed, gw-b in probation, the rest pending);
/// an open `silent` alert about gw-b and a cleared one about lab-1. Tokens: admin `admin-token`, viewer
/// `viewer-token`, gateways `token-a` …
struct DashboardRig {
    static let markup = "<script>alert(1)"
    /// v2's report: holdout figures and calibration bins, three of them with rows.
    static let report = """
        {"holdout":{"rows":120,"challenger":{"accuracy":0.91,"f1":0.88,"auc":0.95,
           "truePositive":50,"falseNegative":6,"falsePositive":5,"trueNegative":59}},
         "training":{"calibration":{"ece":0.04,"brier":0.07,"bins":[
           {"from":0,"to":0.1,"count":40,"meanProbability":0.05,"observedRate":0.03},
           {"from":0.1,"to":0.2,"count":0},
           {"from":0.5,"to":0.6,"count":20,"meanProbability":0.55,"observedRate":0.5},
           {"from":0.9,"to":1,"count":60,"meanProbability":0.95,"observedRate":0.97}]}}}
        """
    let rig: RouteRig
    let clock: ManualClock

    init(_ name: String, tls: Bool = false) async throws {
        let clock = ManualClock()
        self.clock = clock
        let dir = try temporaryDirectory(name)
        let key = dir.appendingPathComponent("signer").path
        _ = try SigningKeys.save(SigningKeys.generate(), prefix: key)
        var config = try ServerConfig.parse(
            yaml: """
                adminToken: admin-token
                dashboard: { viewerToken: viewer-token }
                gateways:
                  - { id: gw-a, scope: office, token: token-a }
                  - { id: gw-b, scope: office, token: token-b }
                  - { id: "\(Self.markup)", scope: office, token: token-x }
                  - { id: lab-1, scope: lab, token: token-l }
                promotion: { waves: [{ gateways: [gw-a, gw-b] }], probation: 1h }
                """)
        config.stateDirectory = dir.path
        if tls { config.http.certFile = "cert.pem" }
        let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path, clock: clock)
        let registry = ModelRegistry(
            config: config, store: store, artifacts: try ArtifactStore(root: dir.appendingPathComponent("a").path),
            signing: try SigningKeys.readPrivateKey(path: key + ".key"), announcer: RecordingAnnouncer(),
            logger: Logger(label: "test"), clock: clock)
        rig = RouteRig(
            config: config, store: store, registry: registry,
            routes: Routes(config: config, store: store, registry: registry, clock: clock))
        for version in 1...2 {
            try await store.addModel(
                ModelRecord(
                    scope: "office", version: version, modelID: "occupancy-office", sha256: "sha-v\(version)",
                    size: 10, created: clock.now().seconds, dataFrom: 0, dataTo: 1, labelledRowsSeen: 0,
                    report: version == 2 ? Self.report : "{}"))
        }
        try await store.addPromotion(
            PromotionRecord(
                scope: "office", at: clock.now().seconds, challenger: 2, champion: 1, promoted: true,
                reason: "accuracy 0.910 beats 0.880 by more than 0.005"))
        try await store.setAlias(scope: "office", alias: "champion", version: 1)
        try await registry.promote(
            scope: "office", record: try #require(try await store.model(scope: "office", version: 2)), previous: 1)
        for (gateway, passed) in [("gw-a", true), ("gw-b", false)] {
            try await registry.gatewayReported(
                GatewayStatus(
                    gateway: gateway, active: "occupancy-office@2", sha256: "sha-v2", refused: nil,
                    at: clock.now().seconds),
                rolledBack: nil, passedProbation: passed)
        }
        _ = try await store.raiseAlert(
            kind: "silent", subject: "gw-b", scope: "office", gateway: "gw-b", numbers: ["silentSeconds": 900],
            message: "gw-b sent nothing for 15 min", at: clock.now().seconds)
        _ = try await store.raiseAlert(
            kind: "silent", subject: "lab-1", scope: "lab", gateway: "lab-1", numbers: ["silentSeconds": 1200],
            message: "lab-1 sent nothing for 20 min", at: clock.now().seconds - 60)
        _ = try await store.clearAlert(kind: "silent", subject: "lab-1", at: clock.now().seconds)
        // gw-a's monitor: three hourly windows with an accuracy estimate and two features, `co2` drifting in the last.
        let now = clock.now().seconds
        for (i, (accuracy, co2)) in [(0.93, 0.02), (0.91, 0.05), (0.84, 0.4)].enumerated() {
            let to = now - Double(2 - i) * 3600
            try await store.insertMonitor(
                MonitorDocument(
                    gateway: "gw-a",
                    window: .init(from: TimeValue(seconds: to - 3600), to: TimeValue(seconds: to), samples: 360),
                    inputs: [:],
                    predictions: .init(
                        meanProbability: 0.4, positiveRate: 0.4, transitions: 2, histogram: [], stale: 0),
                    drift: [
                        "co2": .init(score: co2, threshold: 0.2, drifted: co2 > 0.2),
                        "temperature": .init(score: 0.01, threshold: 0.2, drifted: false),
                    ], expectedAccuracy: accuracy, bundleAccuracy: 0.92, decidedBy: "model:occupancy-office@2",
                    process: .init(cpuSeconds: 1.5 * Double(i + 1), rssBytes: 20 << 20, uptimeSeconds: 3600)))
        }
    }

    // The dashboard rig is SQLite's (`RouteRig.init`).
    var store: SQLiteStore { rig.store as! SQLiteStore }
}

extension RouteRig {
    init(config: ServerConfig, store: SQLiteStore, registry: ModelRegistry, routes: Routes) {
        self.config = config
        self.store = store
        self.registry = registry
        self.routes = routes
    }
}

/// A form body.
func form(_ fields: [(String, String)]) -> ByteBuffer {
    ByteBuffer(string: fields.map { "\(API.pathSegment($0.0))=\(API.pathSegment($0.1))" }.joined(separator: "&"))
}

let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

/// Logs in with `token` through the form: the `Cookie` header value and the session's CSRF token (read from a page).
func dashboardLogin(_ client: any TestClientProtocol, token: String) async throws -> (cookie: String, csrf: String) {
    let response = try await client.execute(
        uri: "/dashboard/login", method: .post, headers: formHeaders, body: form([("token", token)]))
    #expect(response.status == .seeOther)
    let setCookie = try #require(response.headers[.setCookie])
    let cookie = String(try #require(setCookie.split(separator: ";").first))
    let page = try await client.execute(uri: "/dashboard/alerts", method: .get, headers: [.cookie: cookie])
    #expect(page.status == .ok)
    let html = String(buffer: page.body)
    let marker = #"name="csrf" value=""#
    let start = try #require(html.range(of: marker)).upperBound
    let csrf = String(html[start...].prefix { $0 != "\"" })
    return (cookie, csrf)
}
