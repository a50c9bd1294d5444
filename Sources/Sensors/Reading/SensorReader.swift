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
public struct SensorReader: Sendable {
    public let profile: FirmwareProfile
    public let bus: any I2CBus
    public var settings: SensorSettings

    private var trackers: [String: Tracker]
    private var needsSetup: Set<String>

    private struct Tracker: Sendable {
        var health: ChannelHealth = .ok
        var failures = 0
        var lastValue: ChannelValue?
        var lastChange: Instant?
        var last: Reading?
        var nextDue = Instant(seconds: -.infinity)
    }

    public init(profile: FirmwareProfile, bus: any I2CBus, settings: SensorSettings = SensorSettings()) {
        self.profile = profile
        self.bus = bus
        self.settings = settings
        self.trackers = Dictionary(uniqueKeysWithValues: profile.channels.map { ($0.name, Tracker()) })
        self.needsSetup = Set(profile.devices.filter { !$0.setup.isEmpty }.map(\.name))
    }

    /// The shortest channel interval: how often `sample` should be called.
    public var interval: Double { profile.channels.map(\.interval).min() ?? 1 }

    /// Reads every channel that is due at `now` (others repeat their last reading) and returns the sample and any
    /// health changes.
    public mutating func sample(at now: Instant) async -> (sample: Sample, changes: [HealthChange]) {
        let due = profile.channels.filter { trackers[$0.name]!.nextDue <= now }
        var deviceReads: [String: Result<[UInt8], I2CError>] = [:]
        for device in profile.devices where due.contains(where: { $0.device == device.name }) {
            deviceReads[device.name] = await read(device)
        }
        var readings: [Reading] = []
        var changes: [HealthChange] = []
        readings.reserveCapacity(profile.channels.count)
        for channel in profile.channels {
            var tracker = trackers[channel.name]!
            guard let result = deviceReads[channel.device], tracker.nextDue <= now else {
                readings.append(tracker.last ?? Reading(channel: channel.name, value: nil, unavailable: "not read yet", health: tracker.health))
                continue
            }
            tracker.nextDue = now + channel.interval
            let device = profile.device(named: channel.device)!
            var value: ChannelValue?
            var raw: [UInt8] = []
            var problem: String?
            switch result {
            case .failure(let error):
                problem = "\(device.chip ?? device.name) \(error)"
            case .success(let bytes):
                (value, raw, problem) = channel.decode(bytes, deviceLabel: "\(device.label) on \(bus.name)")
            }
            if let v = value {
                if v != tracker.lastValue {
                    tracker.lastValue = v
                    tracker.lastChange = now
                } else if case .number = v, let limit = channel.stuckAfter ?? settings.stuckAfter,
                    let since = tracker.lastChange, now - since > limit
                {
                    problem = "\(channel.name) stuck at \(v) for \(formatNumber((now - since).rounded()))s"
                    value = nil
                }
            }
            let before = tracker.health
            if value != nil {
                tracker.failures = 0
                tracker.health = .ok
            } else {
                tracker.failures += 1
                if tracker.failures >= settings.failedAfter {
                    tracker.health = .failed
                } else if tracker.failures >= settings.degradedAfter {
                    tracker.health = .degraded
                }
            }
            if before != tracker.health {
                changes.append(HealthChange(channel: channel.name, from: before, to: tracker.health, reason: problem))
            }
            let reading = Reading(channel: channel.name, value: value, unavailable: problem, raw: raw, health: tracker.health)
            tracker.last = reading
            trackers[channel.name] = tracker
            readings.append(reading)
        }
        return (Sample(at: now, readings: readings), changes)
    }

    /// Health of every channel now.
    public var health: [String: ChannelHealth] {
        trackers.mapValues(\.health)
    }

    private mutating func read(_ device: FirmwareProfile.Device) async -> Result<[UInt8], I2CError> {
        do {
            if needsSetup.contains(device.name) {
                for write in device.setup { try await bus.write(address: device.address, bytes: write) }
                needsSetup.remove(device.name)
            }
            switch device.read {
            case .register(let pointer, let length):
                return .success(try await bus.transfer(address: device.address, write: pointer, readCount: length))
            case .command(let command, let delay, let length):
                try await bus.write(address: device.address, bytes: command)
                // A conversion time on real hardware: real seconds, not the (possibly scaled) gateway clock.
                if delay > 0 { try? await Task.sleep(for: .nanoseconds(Int64(delay * 1e9))) }
                return .success(try await bus.read(address: device.address, count: length))
            case .plain(let length):
                return .success(try await bus.read(address: device.address, count: length))
            }
        } catch {
            // A chip that failed may have reset: send its setup again before the next read.
            if !device.setup.isEmpty { needsSetup.insert(device.name) }
            return .failure(error)
        }
    }
}
