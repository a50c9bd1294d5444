/// Lower-case hex of `bytes`, two digits a byte: `[0xbe, 0xef]` → `beef`, or `be ef` with `separator: " "`.
///
/// The one hex writer of the package: digests, key ids, register bytes and addresses in messages all use it.
public func hexString<Bytes: Sequence>(_ bytes: Bytes, separator: String = "") -> String where Bytes.Element == UInt8 {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * (2 + separator.utf8.count))
    for byte in bytes {
        if !out.isEmpty { out.append(contentsOf: separator.utf8) }
        out.append(hexDigits[Int(byte >> 4)])
        out.append(hexDigits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Two lower-case hex digits of one byte: `0x4a` → `4a`.
public func hexString(_ byte: UInt8) -> String {
    hexString(CollectionOfOne(byte))
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
