import Evaluator
import Features
import OccupantCore
import Sensors

/// Every check a bundle passes before it may become active, on the gateway and for `occupant model verify`:
/// signature by a trusted key, format, compatibility with the running firmware profile, newer than the active
/// version (unless rolling back), not expired, golden vectors reproduced within 1e-6.
public struct ModelVerifier: Sendable {
    public var trustedKeys: [TrustedKey]
    public var profile: FirmwareProfile?

    public init(trustedKeys: [TrustedKey], profile: FirmwareProfile?) {
        self.trustedKeys = trustedKeys
        self.profile = profile
    }

    /// Loads the public keys named in the configuration.
    public static func loadKeys(_ paths: [String]) throws(OccupantError) -> [TrustedKey] {
        var keys: [TrustedKey] = []
        for path in paths { keys.append(try SigningKeys.readPublicKey(path: path)) }
        return keys
    }

    /// Decodes and checks `bytes`; `activeVersion` is the running model's version for the same model id.
    public func verify(_ bytes: [UInt8], now: Instant, activeVersion: (id: String, version: Int)? = nil)
        throws(BundleError) -> ModelBundle
    {
        if trustedKeys.isEmpty {
            throw BundleError(
                .untrustedKey, "no trusted keys configured (trustedKeys in the gateway configuration, or --trusted-key)"
            )
        }
        let bundle = try ModelBundle.open(bytes, trustedKeys: trustedKeys, now: now)
        if let profile { try checkCompatible(bundle, with: profile) }
        if let active = activeVersion, active.id == bundle.manifest.modelID {
            try bundle.checkNewer(than: active.version)
        }
        return bundle
    }

    /// The profile must have every channel the features read (with the right kind), and be listed when the
    /// schema names profiles.
    public func checkCompatible(_ bundle: ModelBundle, with profile: FirmwareProfile) throws(BundleError) {
        let schema = bundle.manifest.features
        if !schema.profiles.isEmpty {
            let match = schema.profiles.first { p in
                p.name == profile.name
                    && (p.firmware.map {
                        VersionRange($0).map { range in range.bounds.isEmpty || rangeOverlaps(range, profile.firmware) }
                            ?? false
                    } ?? true)
            }
            if match == nil {
                throw BundleError(
                    .incompatible,
                    "model \(bundle.manifest.modelID)@\(bundle.manifest.version) is for profiles \(schema.profiles.map(\.name).joined(separator: ", ")), this gateway runs \(profile.name)"
                )
            }
        }
        for feature in schema.features {
            guard let channel = feature.channel else { continue }
            guard let profileChannel = profile.channel(named: channel) else {
                throw BundleError(
                    .incompatible,
                    "feature \(feature.name) reads channel '\(channel)', which profile \(profile.name) does not have")
            }
            let wantsCategory = feature.transform == .oneHot || feature.transform == .sinceChange
            if wantsCategory != profileChannel.isCategorical && feature.transform != .raw {
                throw BundleError(
                    .incompatible,
                    "feature \(feature.name) needs a \(wantsCategory ? "categorical" : "numeric") channel '\(channel)'")
            }
        }
    }
}

/// Loose check: a model's firmware range and the profile's overlap (both are sets of versions; compare bounds).
func rangeOverlaps(_ a: VersionRange, _ b: VersionRange) -> Bool {
    if a.bounds.isEmpty || b.bounds.isEmpty { return true }
    // Probe the lower bounds of each: if any bound version of one lies in the other, they overlap.
    for bound in a.bounds + b.bounds {
        let text = bound.version.map(String.init).joined(separator: ".")
        if a.contains(text) && b.contains(text) { return true }
    }
    return false
}
