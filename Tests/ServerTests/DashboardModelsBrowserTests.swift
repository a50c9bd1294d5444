import Foundation
import OccupantTesting
import Testing

@testable import Server

/// The Models screen and the logout in a real browser (chromium, headless, over the DevTools protocol: one browser,
/// its cookies kept from page to page).
@Suite(.serialized) struct DashboardModelsBrowserTests {
    @Test func theModelsScreenDrawsItsMetricHistoryInChromium() async throws {
        let chromium = try Chromium()
        let d = try await DashboardRig("dash-models-browser")
        try await d.seedModelHistory()
        try FileManager.default.createDirectory(
            at: DashboardBrowserTests.screenshots, withIntermediateDirectories: true)
        try await d.rig.live { base in
            let link = try await DashboardBrowserTests.link(base, "/dashboard/models/office?version=3")
            let dom = try await chromium.dom(link)
            #expect(dom.contains("<h1>Models of office</h1>"))
            // One mark per metric record: three holdout, one live, two shadow; each series named with its shape.
            let history = try DashboardBrowserTests.svg(dom, "history")
            #expect(DashboardBrowserTests.count(#"<path class="mark""#, in: history) == 6)
            #expect(DashboardBrowserTests.count(#"<g class="series">"#, in: history) == 3)
            #expect(history.contains("value (%)") && history.contains("measured at (UTC"))
            #expect(
                try DashboardBrowserTests.rowHeaders(dom, table: "comparison").contains(
                    "Realised accuracy in shadow (last decision)"))
            #expect(try DashboardBrowserTests.rowHeaders(dom, table: "ablation") == ["&lt;b&gt;co2&lt;/b&gt;"])
            #expect(!dom.contains("<b>co2") && !dom.contains("<img"))
            #expect(
                DashboardBrowserTests.count(
                    #"<circle class="mark""#, in: try DashboardBrowserTests.svg(dom, "reliability")) == 1)
            #expect(try DashboardBrowserTests.rowHeaders(dom, table: "events").contains("Onset latency p95"))
            try await chromium.screenshot(
                try await DashboardBrowserTests.link(base, "/dashboard/models/office?version=3"),
                to: DashboardBrowserTests.screenshots.appendingPathComponent("models-version.png"), width: 1200,
                height: 2400)
        }
    }

    @Test func logoutIsClickedAndTheNextPageIsTheLoginForm() async throws {
        let d = try await DashboardRig("dash-logout-browser")
        try await d.rig.live { base in
            let browser = try DevToolsBrowser()
            try await browser.openPage()
            try await browser.navigate(try await DashboardBrowserTests.link(base, "/dashboard/alerts"))
            let alerts = try await browser.waitForPage("/dashboard/alerts")
            #expect(alerts.contains("<h1>Alerts</h1>"))
            // The session cookie is the browser's now: another screen loads without a link.
            try await browser.navigate(base + "/dashboard/models/office")
            #expect(try await browser.waitForPage("/dashboard/models/office").contains("<h1>Models of office</h1>"))
            #expect(try await browser.cookies(base + "/dashboard/fleet").contains(Dashboard.cookie))

            try await browser.click("header form button[type=submit]")
            let login = try await browser.waitForPage("/dashboard/login")
            #expect(login.contains("<h1>Log in</h1>") && login.contains(#"type="password""#))
            #expect(try await browser.cookies(base + "/dashboard/fleet").contains(Dashboard.cookie) == false)
            // The next page load goes to the login form (and would come back to the page after logging in).
            try await browser.navigate(base + "/dashboard/fleet")
            let next = try await browser.waitForPage("/dashboard/login")
            #expect(next.contains("<h1>Log in</h1>") && next.contains(#"value="/dashboard/fleet""#))
        }
    }
}
