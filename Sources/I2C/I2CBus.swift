import OccupantCore

/// The hardware seam: one I2C bus. The Linux implementation talks to `/dev/i2c-N`; the simulated one answers from a
/// virtual thermostat at the register level, so the same decode path runs in both.
public protocol I2CBus: Sendable {
    /// `/dev/i2c-1`, `simulated`: used in messages.
    var name: String { get }
    /// Writes `write` (may be empty) then reads `buffer.count` bytes into `buffer` with a repeated start (I2C_RDWR).
    ///
    /// The sensor reader passes the same buffer every sample, so a bus that fills it in place reads without allocating.
    func transfer(address: UInt8, write: [UInt8], into buffer: inout [UInt8]) async throws(I2CError)
    /// A plain write, as a STOP-terminated transaction.
    func write(address: UInt8, bytes: [UInt8]) async throws(I2CError)
    /// A plain read of `buffer.count` bytes into `buffer`.
    func read(address: UInt8, into buffer: inout [UInt8]) async throws(I2CError)
}

extension I2CBus {
    /// Writes `write` (may be empty) then reads `readCount` bytes with a repeated start, into a new array.
    public func transfer(address: UInt8, write: [UInt8], readCount: Int) async throws(I2CError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: readCount)
        try await transfer(address: address, write: write, into: &buffer)
        return buffer
    }

    /// A plain read of `count` bytes, into a new array.
    public func read(address: UInt8, count: Int) async throws(I2CError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        try await read(address: address, into: &buffer)
        return buffer
    }
}

/// Why a bus transaction failed.
public struct I2CError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The device did not acknowledge its address (absent, unpowered, wrong address).
        case noAcknowledge = "no acknowledge"
        case io = "I/O error"
        case timeout = "timed out"
        /// The bus device could not be opened.
        case unavailable = "bus unavailable"
    }

    public var kind: Kind
    public var bus: String
    public var address: UInt8?
    public var detail: String?

    public init(_ kind: Kind, bus: String, address: UInt8?, detail: String? = nil) {
        self.kind = kind
        self.bus = bus
        self.address = address
        self.detail = detail
    }

    public var description: String {
        var text = ""
        if let address { text += "0x" + hexString(address) + " on " }
        text += "\(bus): \(kind.rawValue)"
        if let detail { text += " (\(detail))" }
        return text
    }
}
