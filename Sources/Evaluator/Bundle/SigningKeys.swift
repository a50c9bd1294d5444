import Crypto
import OccupantCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Ed25519 key pairs for signing bundles: generation, key ids and the `PREFIX.key` / `PREFIX.pub` files.
///
/// Files hold one line each: `occupant-ed25519-private <keyid> <base64 raw key>` (mode 0600) and
/// `occupant-ed25519-public <keyid> <base64 raw key>`.
public enum SigningKeys {
    /// A new random private key.
    public static func generate() -> Curve25519.Signing.PrivateKey { Curve25519.Signing.PrivateKey() }

    /// First 16 hex digits of SHA-256 of the raw 32-byte public key.
    public static func keyID(for publicKey: Curve25519.Signing.PublicKey) -> String {
        hexString(SHA256.hash(data: publicKey.rawRepresentation).prefix(8))
    }

    /// Writes `PREFIX.key` (mode 0600, refused if it exists) and `PREFIX.pub`; returns the key id.
    @discardableResult
    public static func save(_ key: Curve25519.Signing.PrivateKey, prefix: String) throws(OccupantError) -> String {
        let id = keyID(for: key.publicKey)
        let privateLine = "occupant-ed25519-private \(id) \(key.rawRepresentation.base64EncodedString())\n"
        try writeNew(prefix + ".key", privateLine, mode: 0o600)
        let publicLine = TrustedKey(publicKey: key.publicKey).line + "\n"
        do throws(OccupantError) {
            try LocalFileSystem().writeAtomically(Array(publicLine.utf8), to: prefix + ".pub")
        } catch {
            throw OccupantError(.io, "\(prefix).pub: cannot write", cause: error.fileReason, errno: error.errno)
        }
        return id
    }

    /// Reads a `PREFIX.key` file; returns the key and its id.
    public static func readPrivateKey(path: String) throws(OccupantError) -> (
        key: Curve25519.Signing.PrivateKey, keyID: String
    ) {
        let raw = try parseLine(readText(path), kind: "occupant-ed25519-private", source: path)
        let key: Curve25519.Signing.PrivateKey
        do {
            key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw.key)
        } catch {
            throw OccupantError(.model, "\(path): not an Ed25519 private key", cause: "\(error)")
        }
        let id = keyID(for: key.publicKey)
        guard id == raw.keyID else {
            throw OccupantError(.model, "\(path): key id \(raw.keyID) does not match the key (\(id))")
        }
        return (key, id)
    }

    /// Reads a `PREFIX.pub` file.
    public static func readPublicKey(path: String) throws(OccupantError) -> TrustedKey {
        try TrustedKey(parsing: readText(path), source: path)
    }

    static func parseLine(_ text: String, kind: String, source: String) throws(OccupantError) -> (
        keyID: String, key: Data
    ) {
        let fields = text.trimmingWhitespaceAndNewlines().split(separator: " ")
        guard fields.count == 3, fields[0] == kind else {
            throw OccupantError(.model, "\(source): expected one line \"\(kind) <keyid> <base64>\"")
        }
        guard let key = Data(base64Encoded: String(fields[2])), key.count == 32 else {
            throw OccupantError(.model, "\(source): the key is not 32 bytes of base64")
        }
        return (String(fields[1]), key)
    }

    private static func readText(_ path: String) throws(OccupantError) -> String {
        do throws(OccupantError) {
            return try LocalFileSystem().readText(path)
        } catch {
            throw OccupantError(.io, "\(path): cannot read", cause: error.fileReason, errno: error.errno)
        }
    }

    /// The private key: created whole with mode 0600 or not at all, never over an existing file.
    private static func writeNew(_ path: String, _ text: String, mode: UInt32) throws(OccupantError) {
        do throws(OccupantError) {
            try LocalFileSystem().createNew(Array(text.utf8), at: path, mode: mode)
        } catch {
            let reason = error.errno == EEXIST ? "exists; refusing to overwrite a private key" : error.fileReason
            throw OccupantError(.io, "\(path): \(reason)", errno: error.errno)
        }
    }
}
