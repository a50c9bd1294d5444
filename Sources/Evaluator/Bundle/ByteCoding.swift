/// Appends little-endian values to a byte array.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { append(v) }
    mutating func u32(_ v: UInt32) { append(v) }
    mutating func f32(_ v: Float) { append(v.bitPattern) }
    mutating func f64(_ v: Double) { append(v.bitPattern) }
    mutating func raw(_ v: some Sequence<UInt8>) { bytes.append(contentsOf: v) }

    /// `count` as u32 then the bytes.
    mutating func section(_ v: [UInt8]) {
        u32(UInt32(v.count))
        raw(v)
    }

    private mutating func append<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads little-endian values from untrusted bytes; running out throws `reason` naming what was being read.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    private(set) var offset: Int
    let reason: BundleError.Reason
    let context: String

    init(_ bytes: ArraySlice<UInt8>, reason: BundleError.Reason, context: String) {
        self.bytes = bytes
        self.offset = bytes.startIndex
        self.reason = reason
        self.context = context
    }

    var remaining: Int { bytes.endIndex - offset }
    /// Bytes read so far.
    var position: Int { offset - bytes.startIndex }

    /// Throws unless `count` items of `width` bytes fit in what is left (checked before anything is allocated).
    func require(_ count: Int, width: Int, _ what: String) throws(BundleError) {
        guard count >= 0, count <= remaining / max(width, 1) else {
            throw BundleError(
                reason,
                "\(context): \(what) needs \(count) × \(width) bytes at offset \(position), only \(remaining) left")
        }
    }

    mutating func take(_ count: Int, _ what: String) throws(BundleError) -> ArraySlice<UInt8> {
        try require(count, width: 1, what)
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    mutating func u8(_ what: String) throws(BundleError) -> UInt8 { try take(1, what).first ?? 0 }
    mutating func u16(_ what: String) throws(BundleError) -> UInt16 { try integer(what) }
    mutating func u32(_ what: String) throws(BundleError) -> UInt32 { try integer(what) }
    mutating func f32(_ what: String) throws(BundleError) -> Float { Float(bitPattern: try integer(what)) }
    mutating func f64(_ what: String) throws(BundleError) -> Double { Double(bitPattern: try integer(what)) }

    private mutating func integer<T: FixedWidthInteger>(_ what: String) throws(BundleError) -> T {
        let slice = try take(MemoryLayout<T>.size, what)
        var v: T = 0
        for (i, b) in slice.enumerated() { v |= T(b) << (8 * i) }
        return v
    }
}
