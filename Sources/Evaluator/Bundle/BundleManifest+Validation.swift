import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension BundleManifest {
    /// Most golden vectors a manifest may carry.
    public static let maximumGoldenVectors = 100_000
    /// Fewest golden vectors a bundle must carry to be activated.
    public static let minimumGoldenVectors = 32

    /// Decodes untrusted JSON; every failure is `.malformedManifest` naming the key.
    static func decode(_ bytes: ArraySlice<UInt8>) throws(BundleError) -> BundleManifest {
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = ManifestCoding.nonFinite
            return try decoder.decode(BundleManifest.self, from: Data(bytes))
        } catch {
            throw BundleError(.malformedManifest, "manifest: \(describe(error))")
        }
    }

    /// Checks the manifest on its own and against the model it travels with.
    func validate(for model: Model, container: Int) throws(BundleError) {
        func fail(_ message: String) -> BundleError { BundleError(.malformedManifest, "manifest: \(message)") }
        guard formatVersion == container else {
            throw fail("formatVersion \(formatVersion) differs from the container's \(container)")
        }
        if let calibration {
            guard formatVersion >= 2 else { throw fail("calibration needs format version 2, the bundle says 1") }
            do {
                try calibration.validate()
            } catch {
                throw fail(error.message)
            }
        }
        guard !modelID.isEmpty, modelID.count <= 200, !modelID.contains(where: \.isNewline) else {
            throw fail("modelID must be 1–200 characters on one line")
        }
        guard version >= 1 else { throw fail("version \(version) must be at least 1") }
        guard createdAt != nil else { throw fail("created \"\(created)\" is not an ISO-8601 time") }
        if let expires, expiresAt == nil { throw fail("expires \"\(expires)\" is not an ISO-8601 time") }
        guard features.features.count == model.featureCount else {
            throw fail("features lists \(features.features.count) features, the model reads \(model.featureCount)")
        }
        var seen = Set<String>()
        for f in features.features where !seen.insert(f.name).inserted {
            throw fail("feature \"\(f.name)\" is listed twice")
        }
        guard policy.threshold > 0, policy.threshold < 1 else {
            throw fail("policy.threshold \(policy.threshold) is not strictly between 0 and 1")
        }
        guard policy.occupiedAfter >= 0, policy.occupiedAfter.isFinite, policy.vacantAfter >= 0,
            policy.vacantAfter.isFinite
        else {
            throw fail("policy.occupiedAfter and policy.vacantAfter must be finite and non-negative")
        }
        guard golden.count <= Self.maximumGoldenVectors else {
            throw fail("\(golden.count) golden vectors, at most \(Self.maximumGoldenVectors)")
        }
        for (i, g) in golden.enumerated() {
            guard g.features.count == model.featureCount else {
                throw fail("golden[\(i)] has \(g.features.count) features, the model reads \(model.featureCount)")
            }
            guard g.features.allSatisfy({ !$0.isInfinite }) else { throw fail("golden[\(i)] has an infinite feature") }
            guard g.probability >= 0, g.probability <= 1 else {
                throw fail("golden[\(i)].probability \(g.probability) is not in [0, 1]")
            }
        }
    }
}
