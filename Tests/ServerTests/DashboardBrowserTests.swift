import AsyncHTTPClient
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

/// Debian's chromium, headless, as a child process: loads one URL and prints its DOM or saves a screenshot. Each run
/// has a profile of its own (no cookies carried over): logged-in pages are opened through a one-time login link.
struct Chromium {
    static let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    let executable: URL

    init() throws {
        guard let path = Self.path else {
            throw HarnessError("no chromium: install Debian's chromium (tools/test does: ensure_browser)")
        }
        executable = URL(fileURLWithPath: path)
    }

    func run(_ arguments: [String]) async throws -> ChildProcess {
        let profile = try temporaryDirectory("chromium-profile")
        let child = try ChildProcess(
            [
                "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--user-data-dir=\(profile.path)",
            ] + arguments, executable: executable)
        let status = try await child.wait(timeout: 90)
        try? FileManager.default.removeItem(at: profile)
        guard status == 0 else { throw HarnessError("chromium exited \(status): \(child.stderr.suffix(2000))") }
        return child
    }

    /// The DOM after load.
    func dom(_ url: String) async throws -> String { try await run(["--dump-dom", url]).stdout }

    func screenshot(_ url: String, to file: URL, width: Int = 1200, height: Int = 900) async throws {
        try? FileManager.default.removeItem(at: file)
        _ = try await run(["--screenshot=\(file.path)", "--window-size=\(width),\(height)", url])
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw HarnessError("chromium wrote no screenshot to \(file.path)")
        }
    }
}

/// The dashboard in a real browser against the routes on a loopback port over a seeded store.
@Suite(.serialized) struct DashboardBrowserTests {
    static let screenshots = packageRoot().appendingPathComponent(".build/dashboard-screenshots")

    /// A one-time login link to `next` (what `tools/demo` prints), as a full URL.
    static func link(_ base: String, _ next: String, role: String = "admin") async throws -> String {
        var request = HTTPClientRequest(
            url: base + API.Route.dashboardLoginLink + "?role=\(role)&next=" + API.pathSegment(next))
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer admin-token")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        #expect(response.status == .ok)
        let body = try await response.body.collect(upTo: 1 << 16)
        return base + (try FleetJSON.decode(DashboardLoginLink.self, from: Array(body.readableBytesView))).path
    }

    static func status(_ url: String, cookie: String? = nil) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return Int(response.status.code)
    }

    /// The `<tbody>` rows' first cells of the table with this id, in order.
    static func rowHeaders(_ dom: String, table: String) throws -> [String] {
        let start = try #require(dom.range(of: #"<table id="\#(table)">"#)).upperBound
        let end = try #require(dom[start...].range(of: "</table>")).lowerBound
        let body = dom[start..<end]
        var out: [String] = []
        var rest = body[...]
        while let r = rest.range(of: #"<th scope="row">"#) {
            let after = rest[r.upperBound...]
            let close = try #require(after.range(of: "</th>"))
            out.append(text(after[..<close.lowerBound]))
            rest = after[close.upperBound...]
        }
        return out
    }

    static func count(_ needle: String, in text: some StringProtocol) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    /// Text without its tags.
    static func text(_ html: some StringProtocol) -> String {
        var out = ""
        var inTag = false
        for c in html {
            if c == "<" { inTag = true } else if c == ">" { inTag = false } else if !inTag { out.append(c) }
        }
        return out
    }

    /// The `<svg id="…">` element's text.
    static func svg(_ dom: String, _ id: String) throws -> Substring {
        let start = try #require(dom.range(of: #"<svg id="\#(id)""#)).lowerBound
        return dom[start..<(try #require(dom[start...].range(of: "</svg>")).upperBound)]
    }

    @Test func eachScreenLoadsInChromiumWithItsRowsAndPlots() async throws {
        let chromium = try Chromium()
        let d = try await DashboardRig("dash-browser")
        try await DashboardGatewaySeed.seed(d)
        try FileManager.default.createDirectory(at: Self.screenshots, withIntermediateDirectories: true)
        try await d.rig.live { base in
            // Status 200 for each screen (with a session), and the login page without one.
            let link = try await Self.link(base, "/dashboard/fleet")
            // Not following the redirect, to keep the cookie it sets.
            let direct = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
            defer { _ = direct.shutdown() }
            let login = try await direct.execute(HTTPClientRequest(url: link), timeout: .seconds(30))
            #expect(login.status == .seeOther)
            let cookie = String(try #require(login.headers.first(name: "Set-Cookie")?.split(separator: ";").first))
            for path in [
                "/dashboard/fleet", "/dashboard/alerts", "/dashboard/rollout", "/dashboard/rollout/office",
                "/dashboard/gateways/gw-a", "/dashboard/models/office",
            ] {
                #expect(try await Self.status(base + path, cookie: cookie) == 200, "\(path)")
            }
            #expect(try await Self.status(base + "/dashboard/login") == 200)

            // Fleet: counts, every gateway, the markup id as text.
            let fleet = try await chromium.dom(try await Self.link(base, "/dashboard/fleet"))
            #expect(fleet.contains("<h1>Fleet</h1>"))
            #expect(
                try Self.rowHeaders(fleet, table: "gateways") == ["&lt;script&gt;alert(1)", "gw-a", "gw-b", "lab-1"])
            #expect(!fleet.contains("<script"))
            #expect(try Self.rowHeaders(fleet, table: "by-model") == ["none", "occupancy-office@2"])
            // A filter and a sort, as the links and the form produce them.
            let lab = try await chromium.dom(try await Self.link(base, "/dashboard/fleet?scope=lab&state=never"))
            #expect(try Self.rowHeaders(lab, table: "gateways") == ["lab-1"])
            #expect(lab.contains(#"<option value="lab" selected="">lab</option>"#))
            let sorted = try await chromium.dom(try await Self.link(base, "/dashboard/fleet?sort=id&order=desc"))
            #expect(
                try Self.rowHeaders(sorted, table: "gateways") == ["lab-1", "gw-b", "gw-a", "&lt;script&gt;alert(1)"])
            #expect(sorted.contains(#"aria-sort="descending""#))

            // Alerts: the open one with its numbers and an Acknowledge button, the cleared one.
            let alerts = try await chromium.dom(try await Self.link(base, "/dashboard/alerts"))
            #expect(alerts.contains("<h1>Alerts</h1>") && alerts.contains("Open (1)") && alerts.contains("Cleared (1)"))
            #expect(alerts.contains("silentSeconds = 900") && alerts.contains("gw-b sent nothing for 15 min"))
            #expect(Self.count(">Acknowledge</button>", in: alerts) == 1)

            // Rollout: wave 1 has a passed gateway and one with an open alert (2 marks), wave 2 one pending (1 mark).
            let rollout = try await chromium.dom(try await Self.link(base, "/dashboard/rollout/office"))
            #expect(rollout.contains("<h1>Rollout of office</h1>") && rollout.contains(">Abort</button>"))
            #expect(Self.count("<svg", in: rollout) == 2)
            #expect(Self.count(#"<rect class="mark""#, in: rollout) == 3)
            #expect(rollout.contains("Wave 1: 1 passed, 1 alerted") && rollout.contains("Wave 2: 1 pending"))
            #expect(rollout.contains("&lt;script&gt;alert(1)") && !rollout.contains("<script"))
            // The viewer sees the rollout without its buttons.
            let viewer = try await chromium.dom(try await Self.link(base, "/dashboard/rollout/office", role: "viewer"))
            #expect(viewer.contains("Read-only login") && !viewer.contains(">Abort</button>"))

            // Gateway: the accuracy line has a mark per window, the heat map a cell per feature and window.
            let gateway = try await chromium.dom(try await Self.link(base, "/dashboard/gateways/gw-a"))
            #expect(gateway.contains("<h1>Gateway gw-a</h1>"))
            let accuracy = try Self.svg(gateway, "accuracy")
            #expect(Self.count(#"<circle class="mark""#, in: accuracy) == 3)
            #expect(
                accuracy.contains("accuracy (%)") && accuracy.contains("window end (UTC)")
                    && accuracy.contains("realised (labels)"))
            let drift = try Self.svg(gateway, "drift")
            #expect(Self.count(#"<rect class="mark""#, in: drift) == 6)
            #expect(Self.count(##"stroke="#000""##, in: drift) == 1)
            #expect(try Self.rowHeaders(gateway, table: "windows").count == 3)
            // The timeline: the windows' span not replayed (v2 has no artifact here), two labels and a correction;
            // a plot per channel, the markup channel's name as text.
            let timeline = try Self.svg(gateway, "timeline")
            #expect(Self.count(#"class="mark "#, in: timeline) == 4)
            #expect(Self.count(#"class="mark correction""#, in: timeline) == 1)
            #expect(Self.count(#"class="plot channel""#, in: gateway) == 3)
            #expect(gateway.contains("&lt;i&gt;co2") && !gateway.contains("<i>"))
            let odd = try await chromium.dom(
                try await Self.link(base, "/dashboard/gateways/" + API.pathSegment(DashboardRig.markup)))
            #expect(odd.contains("<h1>Gateway &lt;script&gt;alert(1)</h1>") && !odd.contains("<script"))

            // Models: the versions with their figures, the champion's reliability curve (a mark per bin with rows).
            let models = try await chromium.dom(try await Self.link(base, "/dashboard/models/office"))
            #expect(models.contains("<h1>Models of office</h1>"))
            #expect(try Self.rowHeaders(models, table: "versions") == ["2", "1"])
            #expect(models.contains("91.0 %") && models.contains("champion"))
            #expect(Self.count(#"<circle class="mark""#, in: try Self.svg(models, "reliability")) == 3)
            #expect(models.contains("accuracy 0.910 beats 0.880"))
            #expect(try Self.rowHeaders(models, table: "confusion") == ["occupied", "empty"])
            #expect(Self.text(models).contains("occupied506") && Self.text(models).contains("empty559"))

            // Without a session the browser lands on the login form.
            let anonymous = try await chromium.dom(base + "/dashboard/alerts")
            #expect(anonymous.contains("<h1>Log in</h1>") && anonymous.contains(#"type="password""#))

            for (name, path, width, height) in [
                ("fleet", "/dashboard/fleet", 1200, 800), ("alerts", "/dashboard/alerts", 1200, 700),
                ("rollout", "/dashboard/rollout/office", 1200, 800), ("fleet-phone", "/dashboard/fleet", 390, 844),
                ("gateway", "/dashboard/gateways/gw-a", 1200, 1500), ("models", "/dashboard/models/office", 1200, 900),
                ("login", "/dashboard/login", 800, 500),
            ] {
                let url = name == "login" ? base + path : try await Self.link(base, path)
                try await chromium.screenshot(
                    url, to: Self.screenshots.appendingPathComponent("\(name).png"), width: width, height: height)
            }
        }
    }
}
