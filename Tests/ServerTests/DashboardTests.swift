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

/// The dashboard's security and data over its routes (no browser): login → cookie, CSRF, the viewer's read-only
/// login, logout, the JSON twin of the Fleet screen.
@Suite struct DashboardTests {
    @Test func screensNeedALoginAndAGatewayTokenCannotLogIn() async throws {
        let d = try await DashboardRig("dash-login")
        try await d.rig.test { client in
            let anonymous = try await client.execute(uri: "/dashboard/fleet?state=online", method: .get)
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/dashboard/login?next=%2Fdashboard%2Ffleet%3Fstate%3Donline")
            // The login form carries the screen to go back to, and goes there.
            let back = try await client.execute(
                uri: "/dashboard/login?next=%2Fdashboard%2Ffleet%3Fstate%3Donline", method: .get)
            #expect(
                String(buffer: back.body).contains(#"name="next" value="/dashboard/fleet?state&#61;online""#)
                    || String(buffer: back.body).contains(#"name="next" value="/dashboard/fleet?state=online""#))
            let loggedIn = try await client.execute(
                uri: "/dashboard/login", method: .post, headers: formHeaders,
                body: form([("token", "admin-token"), ("next", "/dashboard/fleet?state=online")]))
            #expect(loggedIn.headers[.location] == "/dashboard/fleet?state=online")
            let form = try await client.execute(uri: "/dashboard/login", method: .get)
            #expect(form.status == .ok && String(buffer: form.body).contains(#"type="password""#))
            for (token, status) in [("token-a", HTTPResponse.Status.forbidden), ("wrong", .unauthorized)] {
                let refused = try await client.execute(
                    uri: "/dashboard/login", method: .post, headers: formHeaders, body: tokenForm(token))
                #expect(refused.status == status)
                #expect(refused.headers[.setCookie] == nil)
            }
            // A forged cookie is no session.
            let forged = try await client.execute(
                uri: "/dashboard/fleet", method: .get, headers: [.cookie: "occupant_session=0123"])
            #expect(forged.status == .seeOther)
        }
    }

    @Test func theAdminLoginSetsAStrictHttpOnlyExpiringCookie() async throws {
        let d = try await DashboardRig("dash-cookie")
        try await d.rig.test { client in
            let response = try await client.execute(
                uri: "/dashboard/login", method: .post, headers: formHeaders,
                body: form([("token", "admin-token"), ("next", "/dashboard/alerts")]))
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/dashboard/alerts")
            let cookie = try #require(response.headers[.setCookie])
            #expect(
                cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Max-Age=28800"))
            #expect(!cookie.contains("Secure"))
            // Never a redirect to another site.
            let offsite = try await client.execute(
                uri: "/dashboard/login", method: .post, headers: formHeaders,
                body: form([("token", "admin-token"), ("next", "//evil.example/dashboard/")]))
            #expect(offsite.headers[.location] == "/dashboard/fleet")
        }
        let tls = try await DashboardRig("dash-cookie-tls", tls: true)
        try await tls.rig.test { client in
            let response = try await client.execute(
                uri: "/dashboard/login", method: .post, headers: formHeaders, body: form([("token", "admin-token")]))
            #expect(response.headers[.setCookie]?.contains("; Secure") == true)
        }
    }

    @Test func aPostWithoutTheCSRFTokenIsRefused() async throws {
        let d = try await DashboardRig("dash-csrf")
        let id = try #require(try await d.store.alertDocuments(open: true).first?.id)
        try await d.rig.test { client in
            let (cookie, csrf) = try await dashboardLogin(client, token: "admin-token")
            var headers = formHeaders
            headers[.cookie] = cookie
            for body in [form([]), form([("csrf", "forged")])] {
                let refused = try await client.execute(
                    uri: "/dashboard/alerts/\(id)/ack", method: .post, headers: headers, body: body)
                #expect(refused.status == .forbidden)
            }
            #expect(try await d.store.alertDocuments(open: true).first?.acknowledgedAt == nil)
            let done = try await client.execute(
                uri: "/dashboard/alerts/\(id)/ack", method: .post, headers: headers, body: form([("csrf", csrf)]))
            #expect(done.status == .seeOther)
            #expect(try await d.store.alertDocuments(open: true).first?.acknowledgedBy == "dashboard")
            // Without a session at all.
            let anonymous = try await client.execute(
                uri: "/dashboard/alerts/\(id)/ack", method: .post, headers: formHeaders, body: form([("csrf", csrf)]))
            #expect(anonymous.status == .unauthorized)
        }
    }

    @Test func theViewerSeesEverythingAndCannotAbort() async throws {
        let d = try await DashboardRig("dash-viewer")
        try await d.rig.test { client in
            let (cookie, csrf) = try await dashboardLogin(client, token: "viewer-token")
            for path in ["/dashboard/fleet", "/dashboard/alerts", "/dashboard/rollout", "/dashboard/rollout/office"] {
                let page = try await client.execute(uri: path, method: .get, headers: [.cookie: cookie])
                #expect(page.status == .ok, "\(path)")
                #expect(!String(buffer: page.body).contains(">Abort<"))
            }
            var headers = formHeaders
            headers[.cookie] = cookie
            let abort = try await client.execute(
                uri: "/dashboard/rollout/office/abort", method: .post, headers: headers, body: form([("csrf", csrf)]))
            #expect(abort.status == .forbidden)
            #expect(try await d.store.rollout(scope: "office")?.state == .running)

            let admin = try await dashboardLogin(client, token: "admin-token")
            headers[.cookie] = admin.cookie
            let page = try await client.execute(
                uri: "/dashboard/rollout/office", method: .get, headers: [.cookie: admin.cookie])
            #expect(String(buffer: page.body).contains(">Abort<"))
            let done = try await client.execute(
                uri: "/dashboard/rollout/office/abort", method: .post, headers: headers,
                body: form([("csrf", admin.csrf)]))
            #expect(done.status == .seeOther)
            #expect(try await d.store.rollout(scope: "office")?.state == .aborted)
        }
    }

    @Test func logoutEndsTheSession() async throws {
        let d = try await DashboardRig("dash-logout")
        try await d.rig.test { client in
            let (cookie, csrf) = try await dashboardLogin(client, token: "admin-token")
            var headers = formHeaders
            headers[.cookie] = cookie
            let stale = try await client.execute(
                uri: "/dashboard/logout", method: .post, headers: headers, body: form([]))
            #expect(stale.status == .forbidden)
            let out = try await client.execute(
                uri: "/dashboard/logout", method: .post, headers: headers, body: form([("csrf", csrf)]))
            #expect(out.status == .seeOther && out.headers[.location] == "/dashboard/login")
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            let after = try await client.execute(uri: "/dashboard/fleet", method: .get, headers: [.cookie: cookie])
            #expect(after.status == .seeOther)
        }
    }

    @Test func aOneTimeLinkLogsInOnce() async throws {
        let d = try await DashboardRig("dash-once")
        try await d.rig.test { client in
            let bearer: HTTPFields = [.authorization: "Bearer token-a"]
            let refused = try await client.execute(uri: API.Route.dashboardLoginLink, method: .post, headers: bearer)
            #expect(refused.status == .forbidden)
            let link = try FleetJSON.decode(
                DashboardLoginLink.self,
                from: Array(
                    try await client.execute(
                        uri: API.Route.dashboardLoginLink + "?next=%2Fdashboard%2Frollout", method: .post,
                        headers: [.authorization: "Bearer admin-token"]
                    ).body.readableBytesView))
            #expect(link.url.hasSuffix(link.path))
            let first = try await client.execute(uri: link.path, method: .get)
            #expect(first.status == .seeOther && first.headers[.location] == "/dashboard/rollout")
            #expect(first.headers[.setCookie] != nil)
            let second = try await client.execute(uri: link.path, method: .get)
            #expect(second.status == .unauthorized && second.headers[.setCookie] == nil)
        }
    }

    @Test func fleetFiltersSortsAndPagesInTheStore() async throws {
        let d = try await DashboardRig("dash-fleet")
        func fleet(_ query: FleetQuery) async throws -> FleetDocument {
            try await d.store.fleet(
                query, configured: FleetRoster(d.rig.config.gateways), now: d.clock.now().seconds, onlineWithin: 300,
                probation: 3600)
        }
        var all = try await fleet(FleetQuery())
        #expect(all.states == ["online": 2, "never": 2])
        #expect(all.models == ["occupancy-office@2": 2, "none": 2])
        // gw-b: in probation (gw-a passed) and silent.
        #expect(all.conditions == ["silent": 1, "inProbation": 1, "rolledBack": 0])
        #expect(all.gateways.map(\.id) == [DashboardRig.markup, "gw-a", "gw-b", "lab-1"])
        #expect(all.gateways.first { $0.id == "gw-b" }?.openAlerts == 1)
        #expect(all.gateways.first { $0.id == "gw-a" }?.wave == 1)
        // The newest monitor window's estimate, and the open drift alerts.
        #expect(all.gateways.first { $0.id == "gw-a" }?.estimatedAccuracy == 0.84)
        #expect(all.gateways.first { $0.id == "gw-b" }?.estimatedAccuracy == nil)
        _ = try await d.store.raiseAlert(
            kind: "drift", subject: "gw-a/co2", scope: "office", gateway: "gw-a", numbers: [:], message: "co2 drifted",
            at: d.clock.now().seconds)
        #expect(try await fleet(FleetQuery()).gateways.map(\.drifting) == [0, 1, 0, 0])
        #expect(try await fleet(FleetQuery(scope: "lab")).gateways.map(\.id) == ["lab-1"])
        #expect(try await fleet(FleetQuery(state: "online")).gateways.map(\.id) == ["gw-a", "gw-b"])
        #expect(try await fleet(FleetQuery(sort: .id, descending: true)).gateways.first?.id == "lab-1")
        let page2 = try await fleet(FleetQuery(page: 2, pageSize: 3))
        #expect(page2.matching == 4 && page2.gateways.map(\.id) == ["lab-1"])
        d.clock.advance(301)
        all = try await fleet(FleetQuery())
        #expect(all.states == ["offline": 2, "never": 2])

        try await d.rig.test { client in
            let admin: HTTPFields = [.authorization: "Bearer admin-token"]
            let json = try await client.execute(uri: "/v1/fleet?scope=office&sort=seen", method: .get, headers: admin)
            #expect(json.status == .ok)
            let doc = try FleetJSON.decode(FleetDocument.self, from: Array(json.body.readableBytesView))
            #expect(doc.matching == 3)
            let bad = try await client.execute(uri: "/v1/fleet?state=asleep", method: .get, headers: admin)
            #expect(bad.status == .badRequest && String(buffer: bad.body).contains("state=asleep"))
            let gateway = try await client.execute(
                uri: "/v1/fleet", method: .get, headers: [.authorization: "Bearer token-a"])
            #expect(gateway.status == .forbidden)
        }
    }

    @Test func theGatewayScreenShowsTheDayUpToItsNewestWindow() async throws {
        let d = try await DashboardRig("dash-gateway-span")
        // gw-b's clock is 300 days behind the server's (a simulation, or a gateway that was off).
        let to = d.clock.now().seconds - 300 * 86_400
        try await d.store.insertMonitor(
            MonitorDocument(
                gateway: "gw-b",
                window: .init(from: TimeValue(seconds: to - 3600), to: TimeValue(seconds: to), samples: 9),
                inputs: [:],
                predictions: .init(meanProbability: nil, positiveRate: nil, transitions: 0, histogram: [], stale: 0),
                drift: nil, expectedAccuracy: 0.8, bundleAccuracy: nil, decidedBy: "rule:sound>10",
                process: .init(cpuSeconds: nil, rssBytes: nil, uptimeSeconds: nil)))
        try await d.rig.test { client in
            let (cookie, _) = try await dashboardLogin(client, token: "admin-token")
            let page = String(
                buffer: try await client.execute(
                    uri: "/dashboard/gateways/gw-b", method: .get, headers: [.cookie: cookie]
                )
                .body)
            #expect(page.contains("1 monitor windows") && page.contains(Instant(seconds: to).iso8601))
            #expect(page.contains(#"<circle class="mark""#))
            let unknown = try await client.execute(
                uri: "/dashboard/gateways/nobody", method: .get, headers: [.cookie: cookie])
            #expect(unknown.status == .notFound)
        }
    }

    @Test func theViewerTokenMustBeItsOwn() throws {
        for (yaml, message) in [
            ("adminToken: t\ndashboard: { viewerToken: t }", "viewerToken is the admin token"),
            ("gateways: [{ id: g, token: t }]\ndashboard: { viewerToken: t }", "token of gateway 'g'"),
            ("dashboard: { viewerTokenSha256: abc }", "must be 64 hex digits"),
        ] {
            #expect(throws: DocumentErrors.self) { try ServerConfig.parse(yaml: yaml) }
            do {
                _ = try ServerConfig.parse(yaml: yaml)
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
        let config = try ServerConfig.parse(
            yaml: "dashboard: { viewerToken: v, sessionTimeout: 1h, onlineWithin: 10m }")
        #expect(config.dashboard.viewerTokenHash == tokenHash("v"))
        #expect(config.dashboard.sessionTimeout == 3600 && config.dashboard.onlineWithin == 600)
    }
}

private func tokenForm(_ token: String) -> ByteBuffer { form([("token", token)]) }
