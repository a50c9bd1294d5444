import Evaluator
import OccupantCore

extension ServerConfig {
    /// The operator's web dashboard under `/dashboard`: the admin token logs in with every right; `viewerToken`
    /// (optional) logs in read-only.
    public struct Dashboard: Sendable, Equatable {
        /// SHA-256 (hex) of the read-only viewer token, or nil for no viewer login.
        public var viewerTokenHash: String?
        /// How long a login lasts (seconds).
        public var sessionTimeout = 8 * 3600.0
        /// A gateway heard from within this long counts as online (seconds).
        public var onlineWithin = 300.0
        /// Memory for the Gateway screen's replayed hours (bytes, per server process); 0 replays every hour on every
        /// view.
        public var replayCacheBytes = 64 << 20
    }

    static let dashboardKeys = [
        "viewerToken", "viewerTokenSha256", "sessionTimeout", "onlineWithin", "replayCacheBytes",
    ]

    mutating func apply(dashboard d: FieldMap) {
        if let v = d.optional("viewerToken")?.string() { self.dashboard.viewerTokenHash = tokenHash(v) }
        if let field = d.optional("viewerTokenSha256"), let v = field.string() {
            if isSHA256Hex(v.lowercased()) {
                self.dashboard.viewerTokenHash = v.lowercased()
            } else {
                field.report("must be 64 hex digits")
            }
        }
        if let field = d.optional("sessionTimeout"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { self.dashboard.sessionTimeout = v }
        }
        if let field = d.optional("onlineWithin"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { self.dashboard.onlineWithin = v }
        }
        if let v = d.optional("replayCacheBytes")?.int(in: 0...(1 << 40)) { self.dashboard.replayCacheBytes = v }
    }

    /// The viewer token must be a token of its own: not the admin's, not a gateway's.
    func checkDashboardToken(_ map: FieldMap) {
        guard let viewer = dashboard.viewerTokenHash else { return }
        if viewer == adminTokenHash {
            map["dashboard"]?.report("viewerToken is the admin token; give the viewer a token of its own")
        }
        if let g = gateways.first(where: { $0.tokenHash == viewer }) {
            map["dashboard"]?.report(
                "viewerToken is the token of gateway '\(g.id)'; give the viewer a token of its own")
        }
    }
}
