import Evaluator
import FleetProtocol
import OccupantCore

/// The shadow bundle: asked for at every poll (and when an announcement names another one) on `…/shadow`, checked
/// and installed exactly like an active bundle but into its own slot (`<models>/shadow`), and handed to the loop to
/// score beside the active model. A refused shadow is remembered and reported like any refused bundle; the active
/// model is never touched. `204` from the server stops shadow scoring.
extension ModelUpdater {
    var shadowURL: String { API.url(client.baseURL, API.gatewayShadow(client.gatewayID)) }

    /// Whether an announcement's shadow differs from the one held (a new one, or none any more).
    func shadowAnnounced(_ announcement: ModelAnnouncement) -> Bool {
        let held = board.current.shadow?.sha256
        guard let shadow = announcement.shadow else { return held != nil }
        let sha = shadow.sha256.lowercased()
        return sha != held && !refusedHashes.contains(sha)
    }

    /// Asks the server for this gateway's shadow bundle and acts on the answer.
    func updateShadow() async {
        switch await fetchShadow() {
        case .unchanged:
            break
        case .cleared:
            guard let held = board.current.shadow else { return }
            ShadowSlot.clear(activator.store.shadowStore)
            activator.loop.replaceShadow(nil)
            board.update { $0.shadow = nil }
            logger.info("shadow \(held.name) unassigned by the server; scoring stopped")
            publishStatus()
        case .installed(let shadow):
            activator.loop.replaceShadow(shadow)
            let manifest = shadow.bundle.manifest
            board.update {
                $0.shadow = .init(modelID: manifest.modelID, version: manifest.version, sha256: shadow.sha256)
                if $0.refused?.sha256 == shadow.sha256 { $0.refused = nil }
            }
            logger.info(
                "shadow \(shadow.name) installed; scoring it beside the active model",
                metadata: ["model.sha256": "\(shadow.sha256)"])
            publishStatus()
        case .refused(let refusal):
            recordRefusal(refusal, what: "shadow model from the server refused, the active one is untouched")
        case .failed(let reason):
            logger.debug("shadow fetch failed: \(reason); will retry at the next poll")
        }
    }

    enum ShadowOutcome {
        case unchanged
        case cleared
        case installed(ShadowModel)
        case refused(ModelStatus.Refusal)
        case failed(String)
    }

    func fetchShadow() async -> ShadowOutcome {
        let url = shadowURL
        let held = board.current.shadow?.sha256
        let known = ([held].compactMap { $0 } + refusedHashes.sorted()).map { "\"\($0)\"" }
        let limits = downloadLimits
        let transfer = TransferLimits(head: limits.head, idle: limits.idle) { announced in
            limits.overall(bytes: min(announced ?? ModelBundle.maximumSize, ModelBundle.maximumSize))
        }
        let request = client.request(
            url, headers: known.isEmpty ? [] : [("If-None-Match", known.joined(separator: ", "))])
        let refused = refusedHashes
        let answer: HTTPAnswer
        do {
            // Only a 200 with a new bundle's ETag has a body worth reading.
            answer = try await client.uplink.perform(request, limits: transfer) { head in
                let etag = head.first("ETag").map(unquotedETag)?.lowercased()
                guard head.status == 200, let etag, isSHA256Hex(etag), etag != held, !refused.contains(etag) else {
                    return .skip
                }
                return .collect(upTo: ModelBundle.maximumSize)
            }
        } catch {
            return .failed("GET \(url): \(describeHTTPError(error))")
        }
        let status = answer.status
        switch status {
        case 304: return .unchanged
        case 204: return .cleared
        case 200: break
        default: return .failed("GET \(url): HTTP \(status)")
        }
        guard let etag = answer.head.first("ETag").map(unquotedETag)?.lowercased(), isSHA256Hex(etag)
        else {
            return .failed("GET \(url): no SHA-256 ETag on the answer")
        }
        if etag == held || refused.contains(etag) { return .unchanged }
        guard !answer.truncated else {
            return .failed("GET \(url): more than \(ModelBundle.maximumSize) bytes, not a model bundle")
        }
        let bytes = answer.body
        let actual = sha256Hex(bytes)
        guard actual == etag else { return .failed("the shadow download's SHA-256 is \(actual), expected \(etag)") }
        // Every check an active bundle gets, except "newer than the slot's": an older version may be compared in
        // shadow (it is never published).
        let bundle: ModelBundle
        do {
            bundle = try activator.verifier.verify(bytes, now: activator.clock.now())
        } catch {
            return .refused(
                .init(
                    version: try? ModelBundle.decode(bytes).manifest.version, sha256: etag,
                    reason: "shadow: \(error.reason.rawValue): \(error.message)"))
        }
        let store = activator.store.shadowStore
        do {
            let file = try store.install(bytes, modelID: bundle.manifest.modelID, version: bundle.manifest.version)
            ShadowSlot.keepOnly(store, file)
        } catch {
            return .failed("installing shadow \(bundle.manifest.modelID)@\(bundle.manifest.version): \(error.message)")
        }
        do {
            return .installed(try ShadowModel(bundle: bundle, sha256: etag))
        } catch {
            return .refused(.init(version: bundle.manifest.version, sha256: etag, reason: "shadow: \(error.message)"))
        }
    }
}

/// The shadow slot on disk: what a restart loads, and how an unassignment empties it.
enum ShadowSlot {
    /// The slot's bundle if it still passes every check (nil when none, or refused now: then the slot is emptied).
    static func load(_ store: ModelStore, verifier: ModelVerifier, now: Instant) -> ShadowModel? {
        switch ModelActivator.load(store: store, verifier: verifier, now: now) {
        case .success(let scorer, let sha256):
            return try? ShadowModel(bundle: scorer.bundle, sha256: sha256)
        case .failure:
            clear(store)
            return nil
        case .none:
            return nil
        }
    }

    /// Removes every bundle of the slot but `file` (the slot holds one shadow), and the `previous` pointer.
    static func keepOnly(_ store: ModelStore, _ file: String) {
        for name in (try? store.files.list(store.directory)) ?? [] where name != file && name != "active" {
            try? store.files.remove(store.path(of: name))
        }
    }

    /// Removes the slot's bundles and pointers.
    static func clear(_ store: ModelStore) {
        for name in (try? store.files.list(store.directory)) ?? [] {
            try? store.files.remove(store.path(of: name))
        }
    }
}
