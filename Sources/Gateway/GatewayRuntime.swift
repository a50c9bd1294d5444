import Evaluator
import I2C
import Logging
import MQTT
import OccupantCore
import Sensors
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Builds a running gateway from its configuration: profile, bus (Linux or simulated), clock, decision engine,
/// MQTT client and publisher, and the services that run them.
public struct GatewayRuntime: Sendable {
    public let config: GatewayConfig
    public let profile: FirmwareProfile
    public let bus: any I2CBus
    public let clock: any GatewayClock
    public let client: MosquittoClient
    public let publisher: GatewayPublisher
    public let mqttService: MQTTService
    public let loop: GatewayLoop
    public let store: ModelStore
    public let controlSocket: ControlSocket
    /// Which model runs and the last refusal (published on `…/model/status` when a server is configured).
    public let modelStatus: ModelStatusBoard
    /// Switches the loop to the store's active bundle (control socket and updater).
    public let activator: ModelActivator
    /// Pulls models from the training host (`server:` configured).
    public let updater: ModelUpdater?
    /// Telemetry kept on disk for the training host, and the service that uploads it.
    public let spool: TelemetrySpool?
    public let uploader: TelemetryUploader?
    /// Home Assistant's buttons, override, attributes and update state (nil with `topics.homeAssistant: false`).
    public let homeAssistant: HomeAssistantControls?
    /// Publishes the simulated scenario's ground truth (`--simulate-labels`).
    public let labeler: SimulatedLabeler?

    /// The bus when it is simulated (for fault injection in tests).
    public var simulatedBus: SimulatedBus? { bus as? SimulatedBus }

    public init(config: GatewayConfig, logger: Logger, maxCycles: Int? = nil) throws {
        self.config = config
        let profile = try ProfileLocator.load(config.profile, configPath: config.path)
        self.profile = profile
        try GatewayRuntime.check(config, against: profile)

        let source = try SensorSource(config.source.kind, profile: profile)
        bus = source.bus
        clock = source.clock

        let topics = GatewayTopics(
            prefix: config.topics.prefix, gatewayID: config.gatewayID, discoveryPrefix: config.topics.discoveryPrefix)
        client = try MosquittoClient(options: try GatewayRuntime.mqttOptions(config, topics: topics))
        let mqttLogger = logger.with(label: "mqtt")
        publisher = GatewayRuntime.publisher(
            config, profile: profile, client: client, topics: topics, logger: mqttLogger)

        let busForReload = bus
        var initial = GatewayRuntime.loopSetup(config, profile: profile, bus: bus)
        // Temporary files of an install a power cut or a kill interrupted removed, a pointer switch it cut short
        // finished.
        let store = ModelStore.open(stateDirectory: config.stateDirectory)
        self.store = store
        let modelLogger = logger.with(label: "model")
        let verifier: ModelVerifier
        do {
            verifier = ModelVerifier(trustedKeys: try ModelVerifier.loadKeys(config.trustedKeys), profile: profile)
        } catch {
            throw OccupantError(.configuration, "trustedKeys: \(error.message)")
        }
        // Checked before anything is created on disk.
        let serverToken = try config.server.map(GatewayRuntime.token)
        if config.simulatedLabels != nil && !(bus is SimulatedBus) {
            throw OccupantError(
                .configuration,
                "simulate.labels (--simulate-labels): simulated ground truth needs the simulated thermostat (--simulate)"
            )
        }
        let clock = self.clock
        let modelStatus = ModelStatusBoard()
        self.modelStatus = modelStatus
        let recorder = ProbationRecorder(store: store, board: modelStatus, publisher: publisher, logger: modelLogger)
        recorder.load()
        let initialWatch = GatewayRuntime.startWithActiveModel(
            &initial.engine, store: store, verifier: verifier, now: clock.now(), board: modelStatus,
            logger: modelLogger,
            recorder: recorder, probation: config.probation)
        let spool = try GatewayRuntime.spool(config, logger: logger)
        self.spool = spool
        publisher.reportStatusFigures { (spool?.count, ProcessUsage.current()) }
        let homeAssistant =
            publisher.discovery == nil
            ? nil
            : HomeAssistantControls(
                settings: config.homeAssistant, publisher: publisher, clock: clock, board: modelStatus,
                logger: logger.with(label: "homeassistant"))
        self.homeAssistant = homeAssistant
        loop = GatewayLoop(
            initial: initial, clock: clock, publisher: publisher, notifier: .fromProcessEnvironment(),
            maxCycles: maxCycles,
            telemetrySpool: spool, telemetryOverMQTT: config.telemetryOverMQTT, monitor: config.monitor,
            homeAssistant: homeAssistant, probation: config.probation, recorder: recorder,
            logger: logger.with(label: "gateway"),
            reload: GatewayRuntime.reloader(config, bus: busForReload))

        if let (subject, fallback) = initialWatch { loop.watchInitialModel(subject, fallback: fallback) }
        let activator = ModelActivator(
            store: store, verifier: verifier, loop: loop, clock: clock, board: modelStatus, logger: modelLogger,
            recorder: recorder)
        self.activator = activator
        // A shadow bundle installed before a restart keeps being scored (if it still passes every check).
        if let shadow = ShadowSlot.load(store.shadowStore, verifier: verifier, now: clock.now()) {
            loop.replaceShadow(shadow)
            let manifest = shadow.bundle.manifest
            modelStatus.update {
                $0.shadow = .init(modelID: manifest.modelID, version: manifest.version, sha256: shadow.sha256)
            }
            modelLogger.info("scoring \(shadow.name) in shadow")
        }
        let loop = self.loop
        controlSocket = ControlSocket(path: store.controlSocketPath, logger: modelLogger) { command in
            activator.reply(to: command, decidedBy: { loop.lastDecision?.decidedBy })
        }

        if let server = config.server, let serverToken {
            ServerURLWarning.warnIfPlainHTTP(server.url, logger: logger)
            let uplink = try GatewayRuntime.uplink(trusting: server.caFile)
            let client = ServerClient(
                baseURL: server.url, gatewayID: config.gatewayID, token: serverToken, uplink: uplink)
            updater = ModelUpdater(
                client: client, settings: server, activator: activator, board: modelStatus, publisher: publisher,
                logger: logger.with(label: "update"))
            uploader = spool.map {
                TelemetryUploader(
                    client: client, spool: $0, interval: server.uploadInterval, logger: logger.with(label: "telemetry"))
            }
        } else {
            updater = nil
            uploader = nil
        }
        if let labels = config.simulatedLabels, let simulated = bus as? SimulatedBus {
            labeler = SimulatedLabeler(
                scenario: simulated.scenario, clock: clock, every: labels.every, publisher: publisher,
                logger: logger.with(label: "labels"))
        } else {
            labeler = nil
        }
        mqttService = MQTTService(
            client: client, publisher: publisher, connectTimeout: config.broker.connectTimeout,
            listeners: ([updater, homeAssistant] as [(any MQTTListener)?]).compactMap { $0 }, logger: mqttLogger)
    }

    /// The services, in start order (shutdown runs in reverse: the loop stops, then MQTT says offline). The uploader
    /// stops after the loop, so the last samples reach the spool on disk.
    public var services: [any Service] {
        var list: [any Service] = [mqttService]
        if let uploader { list.append(uploader) }
        if let updater { list.append(updater) }
        list.append(controlSocket)
        if let labeler { list.append(labeler) }
        list.append(loop)
        return list
    }

    /// The server token, inline or from `server.tokenFile`.
    static func token(_ server: GatewayConfig.Server) throws -> String {
        if let token = server.token { return token }
        guard let file = server.tokenFile else {
            preconditionFailure("configuration parsing requires token or tokenFile")
        }
        try SecretFile.refuseIfOpenToOthers(file, key: "server.tokenFile")
        let text: String
        do throws(OccupantError) {
            text = try LocalFileSystem().readText(file).trimmingWhitespaceAndNewlines()
        } catch {
            throw OccupantError(.configuration, "server.tokenFile: cannot read \(file): \(error.fileReason)")
        }
        if text.isEmpty { throw OccupantError(.configuration, "server.tokenFile: \(file) is empty") }
        return text
    }

    static func loopSetup(_ config: GatewayConfig, profile: FirmwareProfile, bus: any I2CBus) -> GatewayLoop.Setup {
        let reader = SensorReader(profile: profile, bus: bus, settings: config.sensors)
        let rule = StaticRule(
            channel: config.decision.channel, threshold: config.decision.threshold,
            staleAfter: config.decision.staleAfter)
        let engine = DecisionEngine(
            scorer: rule,
            hysteresis: Hysteresis(
                occupiedAfter: config.decision.occupiedAfter, vacantAfter: config.decision.vacantAfter))
        return GatewayLoop.Setup(
            reader: reader, engine: engine, heartbeat: config.decision.heartbeat,
            telemetryInterval: config.telemetryInterval)
    }

    /// Cross-checks between the configuration and the profile it names.
    static func check(_ config: GatewayConfig, against profile: FirmwareProfile) throws {
        guard let channel = profile.channel(named: config.decision.channel) else {
            throw OccupantError(
                .configuration,
                "decision.channel: '\(config.decision.channel)' is not a channel of profile \(profile.name) (channels: \(profile.channels.map(\.name).joined(separator: ", ")))"
            )
        }
        if channel.isCategorical {
            throw OccupantError(
                .configuration,
                "decision.channel: '\(channel.name)' is categorical; the static rule needs a numeric channel")
        }
    }

    /// The gateway's HTTP client (libcurl): TLS 1.2 or newer, trusting curl's default store, or only `caFile`.
    static func uplink(trusting caFile: String?) throws -> Uplink {
        if let caFile, access(caFile, R_OK) != 0 {
            throw OccupantError(.configuration, "server.caFile: cannot read \(caFile)")
        }
        return Uplink(caFile: caFile)
    }

    /// The broker connection. Without `broker.username`, a gateway with a training host logs in as its id with its
    /// server token, the account `occupant server broker-config` gives it (a broker that allows anonymous clients
    /// and has no password file accepts any).
    static func mqttOptions(_ config: GatewayConfig, topics: GatewayTopics) throws -> MQTTOptions {
        var username = config.broker.username
        var password = config.broker.password
        if username == nil, let server = config.server {
            username = config.gatewayID
            password = try token(server)
        }
        if let file = config.broker.passwordFile {
            do throws(OccupantError) {
                password = try LocalFileSystem().readText(file).trimmingWhitespaceAndNewlines()
            } catch {
                throw OccupantError(.configuration, "broker.passwordFile: cannot read \(file): \(error.fileReason)")
            }
        }
        var tls: MQTTOptions.TLS?
        if let key = config.broker.keyFile { try SecretFile.refuseIfOpenToOthers(key, key: "broker.tls.keyFile") }
        if let ca = config.broker.caFile {
            tls = MQTTOptions.TLS(
                caFile: ca, certFile: config.broker.certFile, keyFile: config.broker.keyFile,
                insecure: config.broker.tlsInsecure)
        }
        return MQTTOptions(
            host: config.broker.host, port: config.broker.port,
            clientID: config.broker.clientID ?? "occupant-\(config.gatewayID)",
            keepalive: config.broker.keepalive, username: username, password: password, tls: tls,
            will: MQTTMessage(topic: topics.status, text: "offline", qos: 1, retain: true),
            reconnectMin: Int(config.broker.reconnectMin), reconnectMax: Int(config.broker.reconnectMax))
    }
}
