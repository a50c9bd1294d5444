import Crypto
import OccupantCore

/// Lower-case hex SHA-256 of `bytes`: how bundles, artifacts and tokens are named and compared everywhere.
public func sha256Hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    var hasher = SHA256()
    hasher.update(data: Array(bytes))
    return hexString(hasher.finalize())
}

/// 64 lower-case hex digits (safe to use in a file name).
public func isSHA256Hex(_ text: String) -> Bool {
    text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
}
