import I2C
import OccupantCore
import Synchronization

/// A simulated I2C bus that answers at the register level: for each device of a profile it encodes the virtual
/// thermostat's channel values into the bytes the chip would return (CRC included), so the real decode path runs.
///
/// Faults can be injected for tests and demos: a chip that stops acknowledging, corrupt CRCs, a channel stuck at
/// one value, or a forced raw value.
public final class SimulatedBus: I2CBus {
    public enum Fault: Sendable, Equatable {
        case noAcknowledge(address: UInt8)
        case ioError(address: UInt8)
        case corruptCRC(address: UInt8)
        /// The channel keeps returning the value it had when the fault was set.
        case stuck(channel: String)
        /// The channel returns this value instead of the scenario's.
        case override(channel: String, value: ChannelValue)
        /// The channel returns the scenario's value plus `by` (a sensor whose calibration drifted).
        case offset(channel: String, by: Double)
    }

    public let name = "simulated"
    public let profile: FirmwareProfile
    public let scenario: any Scenario
    public let clock: any GatewayClock

    private struct State {
        var faults: [Fault] = []
        var frozen: [String: ChannelValue] = [:]
        var lastWrite: [UInt8: [UInt8]] = [:]
        var transactions = 0
    }

    private let state = Mutex(State())
    /// For each device (profile order), the indices of its channels.
    private let channelsOfDevice: [[Int]]

    public init(profile: FirmwareProfile, scenario: any Scenario, clock: any GatewayClock) {
        self.profile = profile
        self.scenario = scenario
        self.clock = clock
        self.channelsOfDevice = profile.devices.map { device in
            profile.channels.indices.filter { profile.channels[$0].device == device.name }
        }
    }

    /// The index of the device at `address`. (Index loops here and below: the bus answers every sample, and
    /// unoptimised builds allocate for closures and generic iterators — the allocation test runs in one.)
    private func deviceIndex(_ address: UInt8) -> Int? {
        for d in 0..<profile.devices.count where profile.devices[d].address == address { return d }
        return nil
    }

    public func inject(_ fault: Fault) {
        let now = clock.now()
        let frozenValue: (String, ChannelValue)? = {
            if case .stuck(let channel) = fault, let v = scenario.state(at: now).values[channel] { return (channel, v) }
            return nil
        }()
        state.withLock {
            $0.faults.append(fault)
            if let (channel, value) = frozenValue { $0.frozen[channel] = value }
        }
    }

    public func clearFaults() {
        state.withLock {
            $0.faults.removeAll()
            $0.frozen.removeAll()
        }
    }

    /// Transactions answered so far.
    public var transactionCount: Int { state.withLock { $0.transactions } }

    public func transfer(address: UInt8, write: [UInt8], into buffer: inout [UInt8]) async throws(I2CError) {
        if !write.isEmpty { try record(address: address, bytes: write) }
        try respond(address: address, into: &buffer)
    }

    public func write(address: UInt8, bytes: [UInt8]) async throws(I2CError) {
        try record(address: address, bytes: bytes)
    }

    public func read(address: UInt8, into buffer: inout [UInt8]) async throws(I2CError) {
        try respond(address: address, into: &buffer)
    }

    private func record(address: UInt8, bytes: [UInt8]) throws(I2CError) {
        guard deviceIndex(address) != nil else {
            throw I2CError(.noAcknowledge, bus: name, address: address)
        }
        try checkFaults(address)
        state.withLock { $0.lastWrite[address] = bytes }
    }

    private func checkFaults(_ address: UInt8) throws(I2CError) {
        let faults = state.withLock { s -> [Fault] in
            s.transactions += 1
            return s.faults
        }
        for f in 0..<faults.count {
            switch faults[f] {
            case .noAcknowledge(let a) where a == address: throw I2CError(.noAcknowledge, bus: name, address: address)
            case .ioError(let a) where a == address: throw I2CError(.io, bus: name, address: address)
            default: continue
            }
        }
    }

    /// Fills `buffer` with the chip's answer; in place (no allocation) when it holds at least the profile's read.
    private func respond(address: UInt8, into buffer: inout [UInt8]) throws(I2CError) {
        guard let d = deviceIndex(address) else {
            throw I2CError(.noAcknowledge, bus: name, address: address)
        }
        let device = profile.devices[d]
        try checkFaults(address)
        let (lastWrite, faults, frozen) = state.withLock { ($0.lastWrite[address], $0.faults, $0.frozen) }
        // The chip answers only the read the profile describes: the right register pointer or command first.
        switch device.read {
        case .register(let pointer, _) where lastWrite != pointer,
            .command(let pointer, _, _) where lastWrite != pointer:
            throw I2CError(.io, bus: name, address: address, detail: "unexpected register or command")
        default: break
        }
        let count = buffer.count
        if count < device.read.length {
            // A shorter read than the chip's answer: build the whole answer, then keep its start.
            var whole = [UInt8](repeating: 0, count: device.read.length)
            encode(device: d, address: address, faults: faults, frozen: frozen, into: &whole)
            buffer.replaceSubrange(0..<count, with: whole[0..<count])
            return
        }
        for i in 0..<count { buffer[i] = 0 }
        encode(device: d, address: address, faults: faults, frozen: frozen, into: &buffer)
    }

    private func encode(
        device d: Int, address: UInt8, faults: [Fault], frozen: [String: ChannelValue], into bytes: inout [UInt8]
    ) {
        let truth = scenario.state(at: clock.now())
        let channels = channelsOfDevice[d]
        for i in 0..<channels.count {
            let channel = profile.channels[channels[i]]
            var value =
                (frozen.isEmpty ? nil : frozen[channel.name]) ?? truth.values[channel.name] ?? defaultValue(channel)
            if !faults.isEmpty {
                for case .override(let name, let forced) in faults where name == channel.name { value = forced }
                for case .offset(let name, let by) in faults where name == channel.name {
                    if case .number(let v) = value { value = .number(v + by) }
                }
            }
            _ = channel.encode(value, into: &bytes)
            if !faults.isEmpty, faults.contains(.corruptCRC(address: address)), channel.field.crc != nil {
                bytes[channel.field.at + channel.field.size] ^= 0xFF
            }
        }
    }

    private func defaultValue(_ channel: FirmwareProfile.Channel) -> ChannelValue {
        if let first = channel.mappings?.first { return .category(first.value) }
        let mid = ((channel.minimum ?? 0) + (channel.maximum ?? 0)) / 2
        return .number(mid)
    }
}
