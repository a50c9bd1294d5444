import Sensors

extension GatewayConfig.Source {
    /// The sensor source this configuration asks for (the simulated thermostat starts at its scenario's start).
    public var kind: SensorSource.Kind {
        switch self {
        case .bus(let number): return .bus(number)
        case .simulated(let scenario, let speed, let seed):
            return .simulated(scenario: scenario, speed: speed, seed: seed)
        }
    }
}
