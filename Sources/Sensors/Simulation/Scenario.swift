import OccupantCore

/// What a virtual thermostat's sensors see at one instant, and whether the room is really occupied.
public struct ThermostatState: Sendable, Equatable {
    public var values: [String: ChannelValue]
    /// Ground truth, when the scenario knows it.
    public var occupied: Bool?

    public init(values: [String: ChannelValue], occupied: Bool?) {
        self.values = values
        self.occupied = occupied
    }
}

/// Drives the virtual thermostat: a pure function of time, so any instant can be asked for in any order.
public protocol Scenario: Sendable {
    /// A short name for logs (`day`, `replay:file.csv`).
    var name: String { get }
    /// Where simulated time starts.
    var start: Instant { get }
    func state(at: Instant) -> ThermostatState
}

/// The scenario a user names: `day` (the built-in office day) or the path of a CSV file to replay.
public func scenarioNamed(_ name: String, seed: UInt64 = 1) throws(OccupantError) -> any Scenario {
    name == "day" ? OfficeDayScenario(seed: seed) : try ReplayScenario(path: name)
}

/// A built-in office day, repeating daily with jitter: people come and go, sit quietly for an hour, and an HVAC
/// cycle raises the noise floor above the static rule's threshold while the room is empty — the cases
/// `sound > 10` gets wrong.
public struct OfficeDayScenario: Scenario {
    public let seed: UInt64
    public let start: Instant

    public init(seed: UInt64 = 1, start: Instant = Instant(iso8601: "2026-01-05T00:00:00Z")!) {
        self.seed = seed
        self.start = start
    }

    public var name: String { "day" }

    /// The day's plan, in hours since midnight UTC, shifted per day by up to ±20 minutes.
    struct Plan {
        var occupied: [(Double, Double)]
        var quiet: [(Double, Double)]
        var heating: [(Double, Double)]
        var fan: [(Double, Double)]
    }

    func plan(day: Int64) -> Plan {
        var rng = SplitMix64(seed: seed &+ UInt64(bitPattern: day) &* 0x9E37_79B9)
        func jitter() -> Double { (rng.nextDouble() - 0.5) * (40.0 / 60.0) }
        let arrive = 8 + jitter()
        let lunchOut = 12 + jitter()
        let lunchBack = 13 + jitter()
        let leave = 17.5 + jitter()
        let quietStart = 9.5 + jitter()
        let afternoonQuiet = 15 + jitter()
        var heating: [(Double, Double)] = []
        // Heating runs 15 minutes every 45 minutes, around the clock (the noisy case at night).
        var h = 0.25 + rng.nextDouble() * 0.5
        while h < 24 {
            heating.append((h, h + 0.25))
            h += 0.75
        }
        return Plan(
            occupied: [(arrive, lunchOut), (lunchBack, leave)],
            quiet: [(quietStart, quietStart + 1), (afternoonQuiet, afternoonQuiet + 0.75)],
            heating: heating,
            fan: [(7.0, 7.5), (19.0, 19.5)])
    }

    public func state(at instant: Instant) -> ThermostatState {
        let day = Int64((instant.seconds / 86_400).rounded(.down))
        let hour = instant.secondOfDay / 3600
        let plan = plan(day: day)
        func within(_ ranges: [(Double, Double)]) -> Bool { ranges.contains { hour >= $0.0 && hour < $0.1 } }
        let occupied = within(plan.occupied)
        let quiet = occupied && within(plan.quiet)
        let heating = within(plan.heating)
        let fan = !heating && within(plan.fan)
        let hvac: HVACMode = heating ? .heating : (fan ? .fan : .standby)

        // Noise changes every second; bursts of speech come in 5-second blocks.
        let second = UInt64(bitPattern: Int64(instant.seconds.rounded(.down)))
        var noise = SplitMix64(seed: seed ^ (second &* 0xD1B5_4A32_D192_ED03))
        var block = SplitMix64(seed: seed ^ ((second / 5) &* 0x8CB9_2BA7_2F3D_8DD7))
        var sound = 3 + noise.nextGaussian() * 1.2
        switch hvac {
        case .heating, .cooling: sound = max(sound, 12.5 + noise.nextGaussian() * 1.5)
        case .fan: sound = max(sound, 9 + noise.nextGaussian() * 1.5)
        default: break
        }
        if occupied {
            if quiet {
                // Quiet work: typing and rustling, mostly under the threshold.
                sound = max(sound, 5 + noise.nextGaussian() * 1.5)
            } else if block.nextDouble() < 0.55 {
                sound = max(sound, 18 + block.nextDouble() * 45 + noise.nextGaussian() * 4)
            } else {
                sound = max(sound, 7 + noise.nextGaussian() * 2)
            }
        }
        sound = min(255, max(0, sound.rounded()))

        var temperature = 20.0 + 0.4 * sin((hour - 9) / 24 * 2 * .pi)
        if heating { temperature += 0.6 }
        if occupied { temperature += 0.5 }
        temperature += noise.nextGaussian() * 0.05
        let humidity = 40 + 5 * sin(hour / 24 * 2 * .pi) + (occupied ? 3 : 0) + noise.nextGaussian() * 0.3
        return ThermostatState(
            values: [
                "sound": .number(sound),
                "temperature": .number((temperature * 100).rounded() / 100),
                "humidity": .number((humidity * 10).rounded() / 10),
                "hvac": .category(hvac.rawValue),
            ],
            occupied: occupied)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
