import OccupantCore

extension FirmwareProfile.Channel {
    /// Decodes this channel from its device's read. Returns the value and the field's raw bytes, or why it is unusable.
    public func decode(_ deviceBytes: [UInt8], deviceLabel: String) -> (
        value: ChannelValue?, raw: [UInt8], problem: String?
    ) {
        var raw: [UInt8] = []
        let (value, problem) = decode(deviceBytes, raw: &raw, deviceLabel: deviceLabel)
        return (value, raw, problem)
    }

    /// Decodes this channel from its device's read, replacing the contents of `raw` with the field's bytes (CRC
    /// included; the whole read when it is short). Returns the value, or why it is unusable.
    ///
    /// The sampling path: it reads the field where it lies and reuses `raw`'s storage, so a valid reading allocates
    /// nothing; only a problem's message is built.
    public func decode(_ deviceBytes: [UInt8], raw: inout [UInt8], deviceLabel: String) -> (
        value: ChannelValue?, problem: String?
    ) {
        let end = field.at + field.span
        raw.removeAll(keepingCapacity: true)
        guard end <= deviceBytes.count else {
            raw.append(contentsOf: deviceBytes)
            return (nil, "\(deviceLabel): short read (\(deviceBytes.count) of \(end) bytes)")
        }
        raw.append(contentsOf: deviceBytes[field.at..<end])
        if let crc = field.crc {
            let expected = crc.checksum(deviceBytes, from: field.at, count: field.size)
            let got = deviceBytes[field.at + field.size]
            if expected != got {
                return (
                    nil,
                    "\(deviceLabel): CRC mismatch for \(name) (got 0x\(hexString(got)), expected 0x\(hexString(expected)))"
                )
            }
        }
        let integer = extract(deviceBytes)
        if let mappings {
            // (Index loops on this path: unoptimised builds allocate for closures and generic iterators.)
            for m in 0..<mappings.count where mappings[m].raw == integer.unsigned {
                return (.category(mappings[m].value), nil)
            }
            return (nil, "\(name): raw value \(integer.unsigned) has no mapping")
        }
        let value = Double(integer.value) * scale + offset
        if let minimum, value < minimum {
            return (nil, "\(name) \(formatNumber(value))\(unitSuffix) below minimum \(formatNumber(minimum))")
        }
        if let maximum, value > maximum {
            return (nil, "\(name) \(formatNumber(value))\(unitSuffix) above maximum \(formatNumber(maximum))")
        }
        return (.number(value), nil)
    }

    /// Assembles, masks, shifts and sign-extends the field's integer from the device's bytes.
    func extract(_ deviceBytes: [UInt8]) -> (unsigned: UInt64, value: Int64) {
        var u: UInt64 = 0
        for i in 0..<field.size {
            let b = deviceBytes[field.order == .big ? field.at + i : field.at + field.size - 1 - i]
            u = (u << 8) | UInt64(b)
        }
        if let mask { u &= mask }
        u >>= UInt64(shift)
        guard let bits = signedBits, bits < 64 else { return (u, Int64(bitPattern: u)) }
        let signBit: UInt64 = 1 << UInt64(bits - 1)
        let width: UInt64 = (1 << UInt64(bits)) - 1
        let v = u & width
        return (u, v & signBit != 0 ? Int64(bitPattern: v) - Int64(bitPattern: width) - 1 : Int64(v))
    }

    /// The inverse of `decode`: writes `value` into `deviceBytes` (with CRC). Used by the simulated bus.
    /// Returns false when the value cannot be represented (no mapping for a category).
    public func encode(_ value: ChannelValue, into deviceBytes: inout [UInt8]) -> Bool {
        var integer: UInt64
        switch value {
        case .category(let c):
            var found: UInt64?
            if let mappings {
                for m in 0..<mappings.count where mappings[m].value == c {
                    found = mappings[m].raw
                    break
                }
            }
            guard let found else { return false }
            integer = found
        case .number(let x):
            var n = ((x - offset) / scale).rounded()
            if let bits = signedBits {
                let limit = Double(Int64(1) << Int64(min(bits - 1, 62)))
                n = min(max(n, -limit), limit - 1)
                let width: UInt64 = bits >= 64 ? .max : (1 << UInt64(bits)) - 1
                integer = UInt64(bitPattern: Int64(n)) & width
            } else {
                n = max(0, n)
                let maxValue =
                    mask.map { Double($0 >> UInt64(shift)) }
                    ?? (field.size >= 8 ? 1.8e19 : Double((UInt64(1) << UInt64(field.size * 8 - shift)) - 1))
                integer = UInt64(min(n, maxValue))
            }
        }
        integer <<= UInt64(shift)
        // Bits outside the mask keep what the device bytes already hold.
        // (Indexed, not sliced: a slice held across the writes below would make them copy the array.)
        var existing: UInt64 = 0
        for i in 0..<field.size {
            let b = deviceBytes[field.order == .big ? field.at + i : field.at + field.size - 1 - i]
            existing = (existing << 8) | UInt64(b)
        }
        if let mask { integer = (existing & ~mask) | (integer & mask) }
        for i in 0..<field.size {
            let byte = UInt8(truncatingIfNeeded: integer >> UInt64(8 * i))
            switch field.order {
            case .big: deviceBytes[field.at + field.size - 1 - i] = byte
            case .little: deviceBytes[field.at + i] = byte
            }
        }
        if let crc = field.crc {
            let checksum = crc.checksum(deviceBytes, from: field.at, count: field.size)
            deviceBytes[field.at + field.size] = checksum
        }
        return true
    }

    private var unitSuffix: String { units.map { " \($0)" } ?? "" }
}
