import OccupantCore

/// One thermostat board / firmware version, described the way an EdgeX device profile describes a device type:
/// the chips on the bus, how each is read, and how their bytes become named channels in engineering units.
public struct FirmwareProfile: Sendable, Equatable {
    public var name: String
    public var description: String
    public var manufacturer: String
    public var model: String
    /// The firmware versions this profile applies to, e.g. `>=2.1, <3`.
    public var firmware: VersionRange
    public var devices: [Device]
    public var channels: [Channel]

    public init(
        name: String, description: String, manufacturer: String, model: String, firmware: VersionRange,
        devices: [Device], channels: [Channel]
    ) {
        self.name = name
        self.description = description
        self.manufacturer = manufacturer
        self.model = model
        self.firmware = firmware
        self.devices = devices
        self.channels = channels
    }

    public func device(named name: String) -> Device? { devices.first { $0.name == name } }
    public func channel(named name: String) -> Channel? { channels.first { $0.name == name } }

    /// One chip on the bus.
    public struct Device: Sendable, Equatable {
        public var name: String
        /// Informational: `SHT31`, `ADS1115`.
        public var chip: String?
        public var address: UInt8
        /// Writes sent once when the bus is opened (e.g. an ADC's configuration register).
        public var setup: [[UInt8]]
        public var read: ReadMethod

        public init(name: String, chip: String?, address: UInt8, setup: [[UInt8]], read: ReadMethod) {
            self.name = name
            self.chip = chip
            self.address = address
            self.setup = setup
            self.read = read
        }

        /// `SHT31 at 0x44`, or the device name when no chip is given.
        public var label: String { "\(chip ?? name) at 0x\(hexString(address))" }
    }

    /// How one device's bytes are fetched.
    public enum ReadMethod: Sendable, Equatable {
        /// Write the register pointer, then read `length` bytes with a repeated start.
        case register([UInt8], length: Int)
        /// Write a command, wait `delay` seconds for the measurement, then read `length` bytes.
        case command([UInt8], delay: Double, length: Int)
        /// Read `length` bytes with no preceding write (e.g. a PCF8574's input port).
        case plain(length: Int)

        public var length: Int {
            switch self {
            case .register(_, let length), .command(_, _, let length), .plain(let length): return length
            }
        }
    }

    /// A named channel: where its bits sit in a device's read, and how they convert to units.
    public struct Channel: Sendable, Equatable {
        public var name: String
        public var device: String
        public var field: FieldLayout
        /// Applied to the assembled unsigned integer, then `shift` to the right.
        public var mask: UInt64?
        public var shift: Int
        /// Two's complement over `bits` (after mask and shift); nil means unsigned.
        public var signedBits: Int?
        public var scale: Double
        public var offset: Double
        /// Integer → category (e.g. `hvac`); a channel with mappings is categorical.
        public var mappings: [(raw: UInt64, value: String)]?
        public var units: String?
        public var minimum: Double?
        public var maximum: Double?
        /// How often the channel is read.
        public var interval: Double
        /// A value unchanged for longer than this is marked unavailable (stuck sensor); nil disables the check.
        public var stuckAfter: Double?

        public init(
            name: String, device: String, field: FieldLayout, mask: UInt64? = nil, shift: Int = 0,
            signedBits: Int? = nil,
            scale: Double = 1, offset: Double = 0, mappings: [(raw: UInt64, value: String)]? = nil,
            units: String? = nil,
            minimum: Double? = nil, maximum: Double? = nil, interval: Double = 1, stuckAfter: Double? = nil
        ) {
            self.name = name
            self.device = device
            self.field = field
            self.mask = mask
            self.shift = shift
            self.signedBits = signedBits
            self.scale = scale
            self.offset = offset
            self.mappings = mappings
            self.units = units
            self.minimum = minimum
            self.maximum = maximum
            self.interval = interval
            self.stuckAfter = stuckAfter
        }

        public var isCategorical: Bool { mappings != nil }

        public static func == (lhs: Channel, rhs: Channel) -> Bool {
            lhs.name == rhs.name && lhs.device == rhs.device && lhs.field == rhs.field && lhs.mask == rhs.mask
                && lhs.shift == rhs.shift && lhs.signedBits == rhs.signedBits && lhs.scale == rhs.scale
                && lhs.offset == rhs.offset && lhs.units == rhs.units && lhs.minimum == rhs.minimum
                && lhs.maximum == rhs.maximum && lhs.interval == rhs.interval && lhs.stuckAfter == rhs.stuckAfter
                && lhs.mappings?.map(\.raw) == rhs.mappings?.map(\.raw)
                && lhs.mappings?.map(\.value) == rhs.mappings?.map(\.value)
        }
    }

    /// Where a channel's integer sits in the device's bytes.
    public struct FieldLayout: Sendable, Equatable {
        public enum ByteOrder: String, Sendable { case big, little }

        /// Offset of the first byte within the device read.
        public var at: Int
        /// Number of bytes (1…8).
        public var size: Int
        public var order: ByteOrder
        /// A CRC byte that follows the field and covers it.
        public var crc: CRC?

        public init(at: Int, size: Int, order: ByteOrder = .big, crc: CRC? = nil) {
            self.at = at
            self.size = size
            self.order = order
            self.crc = crc
        }

        /// Bytes the field occupies, CRC included.
        public var span: Int { size + (crc == nil ? 0 : 1) }
    }
}

/// A checksum some sensors append to each word.
public enum CRC: String, Sendable, CaseIterable {
    /// Sensirion CRC-8: polynomial 0x31, init 0xFF (SHT3x, SCD4x, SGP30).
    case sensirion
    /// SMBus PEC CRC-8: polynomial 0x07, init 0x00.
    case smbus

    public func checksum(_ bytes: some Sequence<UInt8>) -> UInt8 {
        var crc = initial
        for byte in bytes { update(&crc, byte) }
        return crc
    }

    /// The checksum of `count` bytes of `bytes` from `start`, without slicing (the sampling path).
    public func checksum(_ bytes: [UInt8], from start: Int, count: Int) -> UInt8 {
        var crc = initial
        for i in start..<(start + count) { update(&crc, bytes[i]) }
        return crc
    }

    private var initial: UInt8 { self == .sensirion ? 0xFF : 0x00 }

    private func update(_ crc: inout UInt8, _ byte: UInt8) {
        let polynomial: UInt8 = self == .sensirion ? 0x31 : 0x07
        crc ^= byte
        for _ in 0..<8 {
            crc = crc & 0x80 != 0 ? (crc << 1) ^ polynomial : crc << 1
        }
    }
}

/// A firmware version range such as `>=2.1, <3`; an empty range matches every version.
public struct VersionRange: Sendable, Equatable, CustomStringConvertible {
    public struct Bound: Sendable, Equatable {
        public enum Relation: String, Sendable {
            case ge = ">="
            case gt = ">"
            case le = "<="
            case lt = "<"
            case eq = "="
        }
        public var relation: Relation
        public var version: [Int]
    }

    public var bounds: [Bound]
    public var text: String

    /// Parses `>=2.1, <3` (comma or space separated); nil when a part is not `OP VERSION`.
    public init?(_ text: String) {
        self.text = text
        var bounds: [Bound] = []
        let parts = text.split(whereSeparator: { $0 == "," || $0 == " " }).filter { !$0.isEmpty }
        for part in parts {
            var rest = Substring(part)
            var relation = Bound.Relation.eq
            for candidate in [Bound.Relation.ge, .le, .gt, .lt, .eq] where rest.hasPrefix(candidate.rawValue) {
                relation = candidate
                rest = rest.dropFirst(candidate.rawValue.count)
                break
            }
            guard let version = VersionRange.parseVersion(String(rest)) else { return nil }
            bounds.append(Bound(relation: relation, version: version))
        }
        self.bounds = bounds
    }

    public static func parseVersion(_ text: String) -> [Int]? {
        let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !pieces.isEmpty else { return nil }
        var out: [Int] = []
        for piece in pieces {
            guard let n = Int(piece), n >= 0 else { return nil }
            out.append(n)
        }
        return out
    }

    public func contains(_ version: String) -> Bool {
        guard let v = VersionRange.parseVersion(version) else { return false }
        return bounds.allSatisfy { bound in
            let c = VersionRange.compare(v, bound.version)
            switch bound.relation {
            case .ge: return c >= 0
            case .gt: return c > 0
            case .le: return c <= 0
            case .lt: return c < 0
            case .eq: return c == 0
            }
        }
    }

    static func compare(_ a: [Int], _ b: [Int]) -> Int {
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }

    public var description: String { text.isEmpty ? "any" : text }
}
