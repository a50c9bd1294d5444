import Evaluator
import OccupantCore

/// One `apply` per section of the configuration file: each reads its mapping over the defaults and reports what it
/// refuses on the field, with the messages `ServerConfig.parse` has always given.
extension ServerConfig {
    mutating func apply(http: FieldMap) {
        if let v = http.optional("host")?.string() { self.http.host = v }
        if let v = http.optional("port")?.int(in: 0...65535) { self.http.port = v }
        if let field = http.optional("publicUrl"), let v = field.string() {
            if v.hasPrefix("http://") || v.hasPrefix("https://") {
                self.http.publicURL = v.hasSuffix("/") ? String(v.dropLast()) : v
            } else {
                field.report("'\(v)' is not an http:// or https:// URL")
            }
        }
        if let tls = http.optional("tls")?.mapping(allowed: Self.httpTLSKeys) {
            self.http.certFile = tls.required("certFile")?.string()
            self.http.keyFile = tls.required("keyFile")?.string()
        }
        if let field = http.optional("idleTimeout"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { self.http.idleTimeout = v }
        }
        if let field = http.optional("bodyTimeout"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { self.http.bodyTimeout = v }
        }
        if let v = http.optional("maxConnections")?.int(in: 8...1_000_000) { self.http.maxConnections = v }
        if let v = http.optional("uploadsPerToken")?.int(in: 1...1000) { self.http.uploadsPerToken = v }
    }

    mutating func apply(broker: FieldMap) {
        var b = Broker()
        if let v = broker.optional("host")?.string() { b.host = v }
        if let v = broker.optional("port")?.int(in: 1...65535) { b.port = v }
        if let v = broker.optional("clientId")?.string() { b.clientID = v }
        if let v = broker.optional("username")?.string() { b.username = v }
        if let v = broker.optional("password")?.string() { b.password = v }
        if let v = broker.optional("caFile")?.string() { b.caFile = v }
        if let field = broker.optional("shareGroup"), let v = field.string() {
            if v.isEmpty || v.contains(where: { "/+#".contains($0) }) {
                field.report("'\(v)' cannot be a shared-subscription group (no '/', '+' or '#')")
            } else {
                b.shareGroup = v
            }
        }
        self.broker = broker.optional("enabled")?.bool() == false ? nil : b
    }

    /// The top-level keys: topic prefix, signing key and admin token.
    mutating func apply(access map: FieldMap) {
        if let v = map.optional("topicPrefix")?.string() { self.topicPrefix = v }
        if let v = map.optional("signingKey")?.string() { self.signingKey = v }
        if let v = map.optional("adminToken")?.string() { self.adminTokenHash = tokenHash(v) }
        if let field = map.optional("adminTokenSha256"), let v = field.string() {
            if isSHA256Hex(v.lowercased()) {
                self.adminTokenHash = v.lowercased()
            } else {
                field.report("must be 64 hex digits")
            }
        }
    }

    mutating func apply(gateways list: [Field]) {
        var seen = Set<String>()
        var tokens: [String: String] = [:]
        for item in list {
            guard let g = item.mapping(allowed: Self.gatewayKeys), let id = g.required("id")?.string() else { continue }
            if id.isEmpty || id.contains(where: { "/+#".contains($0) }) {
                g["id"]?.report("'\(id)' cannot be a gateway id (it is a topic level: no '/', '+' or '#')")
                continue
            }
            if !seen.insert(id).inserted { g["id"]?.report("gateway '\(id)' is listed twice") }
            let scope = g.optional("scope")?.string() ?? "default"
            var hash: String?
            let token = g.optional("token")?.string()
            if let t = token { hash = tokenHash(t) }
            if let field = g.optional("tokenSha256"), let v = field.string() {
                if isSHA256Hex(v.lowercased()) { hash = v.lowercased() } else { field.report("must be 64 hex digits") }
            }
            guard let hash else {
                g.owner.report("gateway '\(id)' needs 'token' or 'tokenSha256'")
                continue
            }
            if let other = tokens[hash] {
                g.owner.report("gateway '\(id)' has the same token as gateway '\(other)'; tokens must be unique")
            } else {
                tokens[hash] = id
            }
            self.gateways.append(
                Gateway(id: id, scope: scope, tokenHash: hash, token: hash == token.map(tokenHash) ? token : nil))
        }
    }

    mutating func apply(intake: FieldMap) {
        if let v = intake.optional("maxBodyBytes")?.int(in: 1024...(1 << 30)) { self.intake.maxBodyBytes = v }
        if let v = intake.optional("maxFutureSkew")?.duration() { self.intake.maxFutureSkew = v }
        if let v = intake.optional("maxChannels")?.int(in: 1...100_000) { self.intake.maxChannels = v }
        if let v = intake.optional("maxChannelNameBytes")?.int(in: 1...4096) { self.intake.maxChannelNameBytes = v }
        if let v = intake.optional("maxLabelBytes")?.int(in: 1024...(1 << 30)) { self.intake.maxLabelBytes = v }
        if let v = intake.optional("maxLabelsPerMessage")?.int(in: 1...10_000_000) {
            self.intake.maxLabelsPerMessage = v
        }
    }

    mutating func apply(retrain r: FieldMap) {
        if let v = r.optional("newLabelledRows")?.int(in: 0...100_000_000) { self.retrain.newLabelledRows = v }
        if let field = r.optional("every"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { self.retrain.every = v }
        }
        if let v = r.optional("trials")?.int(in: 1...10_000) { self.retrain.trials = v }
        if let v = r.optional("seed")?.int(in: 0...Int(Int32.max)) { self.retrain.seed = UInt64(v) }
        if let v = r.optional("holdout")?.double(in: 0.05...0.5) { self.retrain.holdout = v }
        if let field = r.optional("window"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { self.retrain.window = v }
        }
        if let field = r.optional("checkInterval"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { self.retrain.checkInterval = v }
        }
        if let rooms = r.optional("rooms")?.mapping(allowed: Self.roomKeys) { apply(rooms: rooms) }
    }

    mutating func apply(promotion p: FieldMap) {
        if let v = p.optional("metric")?.choice(Promotion.Metric.allCases.map(\.rawValue)) {
            self.promotion.metric = Promotion.Metric(rawValue: v)!
        }
        if let v = p.optional("margin")?.double(in: -1...1) { self.promotion.margin = v }
        if let wave = p.optional("firstWave")?.mapping(allowed: Self.waveKeys) {
            if let list = wave.optional("gateways")?.list() {
                self.promotion.firstWave = list.compactMap { $0.string() }
            }
            if let v = wave.optional("percent")?.double(in: 0...100) { self.promotion.firstWavePercent = v }
        }
        if let list = p.optional("waves")?.list() {
            self.promotion.waves = list.compactMap { field in
                guard let wave = field.mapping(allowed: Self.waveKeys) else { return nil }
                return Promotion.Wave(
                    gateways: wave.optional("gateways")?.list()?.compactMap { $0.string() } ?? [],
                    percent: wave.optional("percent")?.double(in: 0...100))
            }
        }
        if let field = p.optional("probation"), let v = field.duration() {
            if v < 0 { field.report("must not be negative") } else { self.promotion.probation = v }
        }
        if let v = p.optional("abortShare")?.double(in: 0...1) { self.promotion.abortShare = v }
        if let shadow = p.optional("shadow")?.mapping(allowed: Self.shadowEvidenceKeys) {
            var rule = ShadowEvidenceRule()
            if let v = shadow.optional("rows")?.int(in: 1...100_000_000) { rule.rows = v }
            if let v = shadow.optional("margin")?.double(in: -1...1) { rule.margin = v }
            self.promotion.shadow = rule
        }
    }

    mutating func apply(alerts a: FieldMap) {
        if let v = a.optional("margin")?.double(in: 0...1) { self.alerts.margin = v }
        if let v = a.optional("minimumRows")?.int(in: 1...100_000_000) { self.alerts.minimumRows = v }
        if let field = a.optional("webhook"), let v = field.string() {
            if v.hasPrefix("http://") || v.hasPrefix("https://") {
                self.alerts.webhook = v
            } else {
                field.report("'\(v)' is not an http:// or https:// URL")
            }
        }
        if let field = a.optional("silentAfter"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { self.alerts.silentAfter = v }
        }
        if let v = a.optional("driftWindows")?.int(in: 1...1000) { self.alerts.driftWindows = v }
        if let v = a.optional("inputShare")?.double(in: 0...1) { self.alerts.inputShare = v }
    }

    mutating func apply(metrics m: FieldMap) {
        if let v = m.optional("token")?.string() { self.metrics.tokenHash = tokenHash(v) }
        if let field = m.optional("tokenSha256"), let v = field.string() {
            if isSHA256Hex(v.lowercased()) {
                self.metrics.tokenHash = v.lowercased()
            } else {
                field.report("must be 64 hex digits")
            }
        }
        if let v = m.optional("open")?.bool() { self.metrics.open = v }
        if let v = m.optional("monitorGateways")?.int(in: 0...100_000) { self.metrics.monitorGateways = v }
        if let field = m.optional("monitorMaxAge"), let v = field.duration() {
            if v <= 0 { field.report("must be positive") } else { self.metrics.monitorMaxAge = v }
        }
    }
}
