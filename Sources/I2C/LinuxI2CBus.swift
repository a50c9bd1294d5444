import CLinuxI2C
import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// `/dev/i2c-N` through the kernel's I2C character device.
///
/// Every `ioctl`, `read` and `write` runs on one serial dispatch queue, off the cooperative thread pool (they block
/// for the length of the transaction); EINTR is retried in the C shim. The file is opened lazily and reopened after
/// an error that suggests the adapter went away.
public final class LinuxI2CBus: I2CBus, @unchecked Sendable {
    // @unchecked: `fd` is only touched on `queue`.
    public let number: Int
    public let name: String
    private let queue: DispatchQueue
    private var fd: Int32 = -1

    public init(number: Int) {
        self.number = number
        self.name = "/dev/i2c-\(number)"
        self.queue = DispatchQueue(label: "occupant.i2c.\(number)")
    }

    deinit {
        if fd >= 0 { occupant_i2c_close(fd) }
    }

    /// Opens the bus now, so a missing adapter or a permission problem is reported at start.
    public func open() async throws(I2CError) {
        try await run(address: nil) { _ in (0, ()) }
    }

    public func transfer(address: UInt8, write: [UInt8], into buffer: inout [UInt8]) async throws(I2CError) {
        let count = buffer.count
        // The ioctl runs on the bus queue, which cannot borrow `buffer`: it reads into its own and copies back.
        let bytes = try await run(address: address) { fd in
            var bytes = [UInt8](repeating: 0, count: count)
            let rc = write.withUnsafeBufferPointer { w in
                bytes.withUnsafeMutableBufferPointer { r in
                    occupant_i2c_transfer(fd, UInt16(address), w.baseAddress, w.count, r.baseAddress, r.count)
                }
            }
            return (rc, bytes)
        }
        buffer.replaceSubrange(0..<count, with: bytes)
    }

    public func write(address: UInt8, bytes: [UInt8]) async throws(I2CError) {
        try await run(address: address) { fd in
            (bytes.withUnsafeBufferPointer { occupant_i2c_write(fd, UInt16(address), $0.baseAddress, $0.count) }, ())
        }
    }

    public func read(address: UInt8, into buffer: inout [UInt8]) async throws(I2CError) {
        let count = buffer.count
        let bytes = try await run(address: address) { fd in
            var bytes = [UInt8](repeating: 0, count: count)
            let rc = bytes.withUnsafeMutableBufferPointer {
                occupant_i2c_read(fd, UInt16(address), $0.baseAddress, $0.count)
            }
            return (rc, bytes)
        }
        buffer.replaceSubrange(0..<count, with: bytes)
    }

    /// Runs `body` on the bus queue with an open descriptor; maps errno to `I2CError`.
    private func run<T: Sendable>(address: UInt8?, _ body: @escaping @Sendable (Int32) -> (Int32, T))
        async throws(I2CError) -> T
    {
        let result: Result<T, I2CError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.runLocked(address: address, body))
            }
        }
        return try result.get()
    }

    private func runLocked<T>(address: UInt8?, _ body: (Int32) -> (Int32, T)) -> Result<T, I2CError> {
        if fd < 0 {
            fd = occupant_i2c_open(Int32(number))
            if fd < 0 {
                let err = errno
                return .failure(I2CError(.unavailable, bus: name, address: nil, detail: String(cString: strerror(err))))
            }
        }
        let (rc, value) = body(fd)
        if rc == 0 { return .success(value) }
        let err = errno
        let kind: I2CError.Kind
        switch err {
        case ENXIO, EREMOTEIO: kind = .noAcknowledge
        case ETIMEDOUT: kind = .timeout
        case ENODEV, EBADF:
            // The adapter disappeared: reopen on the next call.
            occupant_i2c_close(fd)
            fd = -1
            kind = .io
        default: kind = .io
        }
        return .failure(I2CError(kind, bus: name, address: address, detail: String(cString: strerror(err))))
    }
}
