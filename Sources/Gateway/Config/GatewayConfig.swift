import OccupantCore
import Sensors

/// Everything `occupant gateway run` needs, from `/etc/occupant/gateway.yaml` and flags.
public struct GatewayConfig: Sendable, Equatable {
    public var gatewayID: String
    /// A profile file, or the name of one of the shipped profiles.
    public var profile: String
    public var source: Source
    public var broker: Broker
    public var topics: Topics
    public var decision: DecisionSettings
    public var telemetryInterval: Double?
    public var sensors: SensorSettings
    /// Where installed models and the control socket live (`StateDirectory=occupant` under systemd).
    public var stateDirectory: String
    /// Public keys (files) whose signatures on model bundles this gateway trusts.
    public var trustedKeys: [String]
    /// The training host (models and telemetry); nil runs the gateway on its own.
    public var server: Server?
    /// With a simulated source: publish the scenario's ground truth on `…/labels` (demo only).
    public var simulatedLabels: SimulatedLabels?
    /// The monitor's window and exports.
    public var monitor: MonitorSettings
    /// Home Assistant controls: correction window, override expiry, the "occupied too long" guard.
    public var homeAssistant = HomeAssistantSettings()
    /// `models.probation:` — the guards on a newly active model and how long its probation lasts.
    public var probation: ProbationSettings
    /// The file this configuration was read from, if any (used for SIGHUP reloads).
    public var path: String?

    public enum Source: Sendable, Equatable {
        /// `/dev/i2c-N`.
        case bus(Int)
        /// The virtual thermostat: `day` or a CSV replay file; `speed` × real time.
        case simulated(scenario: String, speed: Double, seed: UInt64)
    }

    public struct Broker: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 1883
        public var clientID: String?
        public var keepalive = 30
        public var username: String?
        public var password: String?
        public var passwordFile: String?
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        public var tlsInsecure = false
        /// Messages held while the broker is unreachable; state changes are kept in preference to telemetry.
        public var queueLimit = 1000
        public var reconnectMin = 1.0
        public var reconnectMax = 60.0
        /// How long to wait for CONNACK before reporting the broker as unreachable (retrying continues).
        public var connectTimeout = 5.0
        public init() {}
    }

    public struct Topics: Sendable, Equatable {
        public var prefix = "occupant"
        public var homeAssistant = true
        public var discoveryPrefix = "homeassistant"
        /// Also publish the EduKit thermostat's shadow document (off by default).
        public var edukit = false
        public var edukitThing: String?
        public init() {}
    }

    public struct DecisionSettings: Sendable, Equatable {
        public var channel = "sound"
        public var threshold = 10.0
        public var occupiedAfter = 1.0
        public var vacantAfter = 60.0
        public var staleAfter = 10.0
        /// The decision is re-published at least this often even when it has not changed.
        public var heartbeat = 60.0
        public init() {}
    }

    public init(gatewayID: String, profile: String, source: Source) {
        self.gatewayID = gatewayID
        self.profile = profile
        self.source = source
        self.broker = Broker()
        self.topics = Topics()
        self.decision = DecisionSettings()
        self.telemetryInterval = 10
        self.sensors = SensorSettings()
        self.stateDirectory = "/var/lib/occupant"
        self.trustedKeys = []
        self.server = nil
        self.simulatedLabels = nil
        self.monitor = MonitorSettings()
        self.probation = ProbationSettings()
        self.path = nil
    }

    /// Simulated ground truth: one label per occupied or vacant stretch, sent when it ends, and the running stretch
    /// every `every` simulated seconds.
    public struct SimulatedLabels: Sendable, Equatable {
        public var every: Double
        public init(every: Double = 1800) { self.every = every }
    }

    /// The default configuration file.
    public static let defaultPath = "/etc/occupant/gateway.yaml"
}
