import I2C
import OccupantCore

/// When a channel's repeated failures change its health.
public struct SensorSettings: Sendable, Equatable {
    /// Consecutive failed readings before a channel is `degraded`.
    public var degradedAfter: Int
    /// Consecutive failed readings before a channel is `failed`.
    public var failedAfter: Int
    /// A numeric value unchanged for this long is treated as a stuck sensor (a channel's own `stuckAfter` wins).
    public var stuckAfter: Double?

    public init(degradedAfter: Int = 3, failedAfter: Int = 10, stuckAfter: Double? = nil) {
        precondition(degradedAfter >= 1 && failedAfter >= degradedAfter, "failedAfter ≥ degradedAfter ≥ 1")
        self.degradedAfter = degradedAfter
        self.failedAfter = failedAfter
        self.stuckAfter = stuckAfter
    }
}

/// A channel's health moved from one state to another; logged once per change.
public struct HealthChange: Sendable, Equatable, CustomStringConvertible {
    public var channel: String
    public var from: ChannelHealth
    public var to: ChannelHealth
    public var reason: String?

    public var description: String {
        "channel \(channel): \(from.rawValue) → \(to.rawValue)" + (reason.map { " (\($0))" } ?? "")
    }
}

/// Reads a profile's devices from a bus and decodes every channel, tracking each channel's health.
///
/// Failures are values: a NACK, an I/O error, a CRC mismatch, a value out of range or stuck gives a `Reading` with
/// no value and a reason; the reader never throws and never invents a number.
///
/// The profile is compiled once into a read plan; each device is read into a buffer kept from sample to sample, and
/// the sample's readings are updated in place. A sample whose channels all decode allocates nothing, provided the
/// caller has let go of the previous sample (a kept sample is copied on the next read, as any Swift array would be).
public struct SensorReader: Sendable {
    public let profile: FirmwareProfile
    public let bus: any I2CBus
    public var settings: SensorSettings

    private let plan: ReadPlan
    /// One per channel, profile order.
    private var trackers: [Tracker]
    /// One per channel, profile order: the readings the next sample hands out.
    private var readings: [Reading]
    /// One per device: the bytes of its last read.
    private var buffers: [[UInt8]]
    /// One per device: this sample's bus error, if its read failed.
    private var failures: [I2CError?]
    /// One per device: read this sample.
    private var wasRead: [Bool]
    /// One per device: its setup writes are still to be sent.
    private var needsSetup: [Bool]

    private struct Tracker: Sendable {
        var failures = 0
        var lastValue: ChannelValue?
        var lastChange: Instant?
        var nextDue = Instant(seconds: -.infinity)
    }

    public init(profile: FirmwareProfile, bus: any I2CBus, settings: SensorSettings = SensorSettings()) {
        self.profile = profile
        self.bus = bus
        self.settings = settings
        self.plan = ReadPlan(profile: profile, busName: bus.name)
        self.trackers = Array(repeating: Tracker(), count: profile.channels.count)
        self.readings = profile.channels.map {
            Reading(channel: $0.name, value: nil, unavailable: "not read yet", health: .ok)
        }
        self.buffers = profile.devices.map { [UInt8](repeating: 0, count: $0.read.length) }
        self.failures = Array(repeating: nil, count: profile.devices.count)
        self.wasRead = Array(repeating: false, count: profile.devices.count)
        self.needsSetup = profile.devices.map { !$0.setup.isEmpty }
    }

    /// The shortest channel interval: how often `sample` should be called.
    public var interval: Double { plan.interval }

    /// Reads every channel that is due at `now` (others repeat their last reading) and returns the sample and any
    /// health changes.
    public mutating func sample(at now: Instant) async -> (sample: Sample, changes: [HealthChange]) {
        for d in plan.devices.indices {
            wasRead[d] = false
            guard isDue(device: d, at: now) else { continue }
            // Moved out and back so the bus writes into storage nothing else holds.
            var buffer: [UInt8] = []
            swap(&buffer, &buffers[d])
            failures[d] = await read(device: d, into: &buffer)
            swap(&buffer, &buffers[d])
            wasRead[d] = true
        }
        var changes: [HealthChange] = []
        for c in readings.indices {
            let d = plan.deviceOfChannel[c]
            guard wasRead[d], trackers[c].nextDue <= now else { continue }
            if let change = update(channel: c, device: d, at: now) { changes.append(change) }
        }
        return (Sample(at: now, readings: readings), changes)
    }

    /// Whether any channel of device `d` is due. (Index loops on this path: unoptimised builds allocate for closures
    /// and generic iterators, and the allocation test runs in one.)
    private func isDue(device d: Int, at now: Instant) -> Bool {
        let channels = plan.devices[d].channels
        for i in 0..<channels.count where trackers[channels[i]].nextDue <= now { return true }
        return false
    }

    /// Decodes channel `c` from its device's read (or its failure) into `readings[c]`; returns a health change.
    private mutating func update(channel c: Int, device d: Int, at now: Instant) -> HealthChange? {
        let channel = profile.channels[c]
        trackers[c].nextDue = now + channel.interval
        var value: ChannelValue?
        var problem: String?
        if let error = failures[d] {
            readings[c].raw.removeAll(keepingCapacity: true)
            problem = "\(plan.devices[d].chip) \(error)"
        } else {
            (value, problem) = channel.decode(buffers[d], raw: &readings[c].raw, deviceLabel: plan.devices[d].label)
        }
        if let v = value {
            if v != trackers[c].lastValue {
                trackers[c].lastValue = v
                trackers[c].lastChange = now
            } else if case .number = v, let limit = channel.stuckAfter ?? settings.stuckAfter,
                let since = trackers[c].lastChange, now - since > limit
            {
                problem = "\(channel.name) stuck at \(v) for \(formatNumber((now - since).rounded()))s"
                value = nil
            }
        }
        let before = readings[c].health
        var health = before
        if value != nil {
            trackers[c].failures = 0
            health = .ok
        } else {
            trackers[c].failures += 1
            if trackers[c].failures >= settings.failedAfter {
                health = .failed
            } else if trackers[c].failures >= settings.degradedAfter {
                health = .degraded
            }
        }
        readings[c].value = value
        readings[c].unavailable = problem
        readings[c].health = health
        return before == health ? nil : HealthChange(channel: channel.name, from: before, to: health, reason: problem)
    }

    /// Health of every channel now.
    public var health: [String: ChannelHealth] {
        Dictionary(uniqueKeysWithValues: readings.map { ($0.channel, $0.health) })
    }

    /// Reads device `d` into `buffer` (sized to its read); returns the bus error, if any.
    private mutating func read(device d: Int, into buffer: inout [UInt8]) async -> I2CError? {
        let device = plan.devices[d].profile
        do {
            if needsSetup[d] {
                for write in device.setup { try await bus.write(address: device.address, bytes: write) }
                needsSetup[d] = false
            }
            switch device.read {
            case .register(let pointer, _):
                try await bus.transfer(address: device.address, write: pointer, into: &buffer)
            case .command(let command, let delay, _):
                try await bus.write(address: device.address, bytes: command)
                // A conversion time on real hardware: real seconds, not the (possibly scaled) gateway clock.
                if delay > 0 { try? await Task.sleep(for: .nanoseconds(Int64(delay * 1e9))) }
                try await bus.read(address: device.address, into: &buffer)
            case .plain:
                try await bus.read(address: device.address, into: &buffer)
            }
            return nil
        } catch {
            // A chip that failed may have reset: send its setup again before the next read.
            if !device.setup.isEmpty { needsSetup[d] = true }
            return error
        }
    }
}
