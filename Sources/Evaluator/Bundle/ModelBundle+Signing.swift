import Crypto
import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension ModelBundle {
    /// The signed `.occmodel` bytes: the container up to the key id, then an Ed25519 signature over them.
    public func encode(signingKey: Curve25519.Signing.PrivateKey, keyID: String) -> [UInt8] {
        precondition(
            !keyID.isEmpty && keyID.utf8.count <= 64 && keyID.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f },
            "key id must be 1–64 printable ASCII characters")
        let prefix = signedPrefix(keyID: keyID)
        let signature: Data
        do {
            signature = try signingKey.signature(for: prefix)
        } catch {
            preconditionFailure("Ed25519 signing failed: \(error)")
        }
        return prefix + [UInt8(signature.count)] + Array(signature)
    }

    /// Throws unless the bundle is signed, by a key listed in `trustedKeys` (by key id), and the signature matches.
    public func verify(trustedKeys: [TrustedKey]) throws(BundleError) {
        guard let keyID, let signature, !signedBytes.isEmpty else {
            throw BundleError(.unsigned, "model \(manifest.modelID) v\(manifest.version) carries no signature")
        }
        guard let key = trustedKeys.first(where: { $0.keyID == keyID }) else {
            throw BundleError(
                .untrustedKey, "signed with key \(keyID), which is not among the \(trustedKeys.count) trusted keys")
        }
        guard key.publicKey.isValidSignature(signature, for: signedBytes) else {
            throw BundleError(
                .badSignature,
                "the signature does not match key \(keyID): the bundle was altered or signed with another key")
        }
    }

    /// Decode, verify the signature, check expiry and golden vectors: everything a gateway does before activation.
    public static func open(
        _ bytes: [UInt8], trustedKeys: [TrustedKey], now: Instant, tolerance: Double = 1e-6
    ) throws(BundleError) -> ModelBundle {
        let bundle = try decode(bytes)
        try bundle.verify(trustedKeys: trustedKeys)
        try bundle.checkExpiry(now: now)
        try bundle.checkGoldenVectors(tolerance: tolerance)
        return bundle
    }

    /// Reads a bundle file (refusing files over `maximumSize` before reading them) and decodes it.
    public static func read(path: String) throws(BundleError) -> [UInt8] {
        let files = LocalFileSystem()
        let found: Int?
        do {
            found = try files.size(path)
        } catch {
            throw BundleError(.unreadable, "\(path): \(error.fileReason)")
        }
        guard let size = found else { throw BundleError(.unreadable, "\(path): no such file") }
        guard size <= maximumSize else {
            throw BundleError(.tooLarge, "\(path): \(size) bytes, at most \(maximumSize) accepted")
        }
        do {
            return try files.read(path)
        } catch {
            throw BundleError(.unreadable, "\(path): \(error.fileReason)")
        }
    }
}
