import I2C
import OccupantCore

/// Where samples come from: a Linux I2C bus read on the system clock, or the simulated thermostat on a scaled clock
/// that starts at its scenario's start. The gateway and `occupant sensors read` both build theirs here.
public struct SensorSource: Sendable {
    public enum Kind: Sendable, Equatable {
        /// `/dev/i2c-N`.
        case bus(Int)
        /// The simulated thermostat: `day` or a CSV file to replay, `speed` times real time, starting `offset`
        /// seconds after the scenario's start.
        case simulated(scenario: String, speed: Double = 1, seed: UInt64 = 1, offset: Double = 0)
    }

    public let bus: any I2CBus
    public let clock: any GatewayClock

    /// Opens nothing yet: the Linux bus opens on its first transaction; a scenario file is read now.
    public init(_ kind: Kind, profile: FirmwareProfile) throws(OccupantError) {
        switch kind {
        case .bus(let number):
            bus = LinuxI2CBus(number: number)
            clock = SystemClock()
        case .simulated(let name, let speed, let seed, let offset):
            let scenario = try scenarioNamed(name, seed: seed)
            let scaled = ScaledClock(start: scenario.start + offset, speed: speed)
            clock = scaled
            bus = SimulatedBus(profile: profile, scenario: scenario, clock: scaled)
        }
    }

    /// The bus when it is simulated (for fault injection).
    public var simulatedBus: SimulatedBus? { bus as? SimulatedBus }
}
