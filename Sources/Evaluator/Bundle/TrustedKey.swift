import Crypto
import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A public key a gateway accepts bundle signatures from, with its key id.
public struct TrustedKey: Sendable {
    public var keyID: String
    public var publicKey: Curve25519.Signing.PublicKey

    /// The key id is derived from the key (first 16 hex digits of SHA-256 of the raw public key).
    public init(publicKey: Curve25519.Signing.PublicKey) {
        self.publicKey = publicKey
        self.keyID = SigningKeys.keyID(for: publicKey)
    }

    /// Parses a `.pub` line: `occupant-ed25519-public <keyid> <base64>`; the key id must match the key.
    public init(parsing line: String, source: String = "public key") throws(OccupantError) {
        let raw = try SigningKeys.parseLine(line, kind: "occupant-ed25519-public", source: source)
        do {
            publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: raw.key)
        } catch {
            throw OccupantError(.model, "\(source): not an Ed25519 public key", cause: "\(error)")
        }
        keyID = SigningKeys.keyID(for: publicKey)
        guard keyID == raw.keyID else {
            throw OccupantError(.model, "\(source): key id \(raw.keyID) does not match the key (\(keyID))")
        }
    }

    /// The `.pub` line for this key.
    public var line: String {
        "occupant-ed25519-public \(keyID) \(publicKey.rawRepresentation.base64EncodedString())"
    }
}
