import Evaluator
import I2C
import Logging
import MQTT
import OccupantCore
import Sensors

/// The pieces `GatewayRuntime.init` wires together, each built here on its own.
extension GatewayRuntime {
    /// The publisher, with Home Assistant discovery and the EduKit shadow as configured.
    static func publisher(
        _ config: GatewayConfig, profile: FirmwareProfile, client: MosquittoClient, topics: GatewayTopics,
        logger: Logger
    ) -> GatewayPublisher {
        let discovery =
            config.topics.homeAssistant
            ? HomeAssistantDiscovery(
                topics: topics, model: "\(profile.manufacturer) \(profile.model)".trimmingWhitespace(),
                swVersion: occupantVersion,
                numericChannels: profile.channels.filter { !$0.isCategorical }.map { ($0.name, $0.units) })
            : nil
        return GatewayPublisher(
            connection: client, topics: topics, discovery: discovery,
            edukitThing: config.topics.edukit ? (config.topics.edukitThing ?? config.gatewayID) : nil,
            queueLimit: config.broker.queueLimit, logger: logger)
    }

    /// The active model, if one is installed and still passes every check; otherwise the rule, saying why. Returns
    /// the model for the guards (on probation again when it was when the gateway stopped) and what to switch back to:
    /// the previous bundle if it still passes, else the rule.
    @discardableResult
    static func startWithActiveModel(
        _ engine: inout DecisionEngine, store: ModelStore, verifier: ModelVerifier, now: Instant,
        board: ModelStatusBoard,
        logger: Logger, recorder: ProbationRecorder? = nil, probation: ProbationSettings = .init()
    ) -> (ProbationSubject, ProbationFallback?)? {
        switch ModelActivator.load(store: store, verifier: verifier, now: now) {
        case .none:
            return nil
        case .success(let scorer, let sha256):
            let rule = ProbationFallback(engine, subject: nil)
            engine.replace(scorer: scorer, hysteresis: scorer.hysteresis, note: nil)
            let manifest = scorer.bundle.manifest
            board.update { $0.active = .init(modelID: manifest.modelID, version: manifest.version, sha256: sha256) }
            logger.info("deciding with \(scorer.id)")
            let onProbation = probation.enabled && recorder?.wasOnProbation(sha256) == true
            if onProbation { logger.info("\(scorer.id) is still on probation: it starts again") }
            let subject = ProbationSubject(
                modelID: manifest.modelID, version: manifest.version, sha256: sha256, bundle: scorer.bundle,
                onProbation: onProbation)
            var fallback: ProbationFallback? = rule
            if let previous = store.previousFile,
                case .success(let before, let beforeSHA) = ModelActivator.load(
                    store: store, verifier: verifier, now: now, file: previous)
            {
                let m = before.bundle.manifest
                fallback = ProbationFallback(
                    scorer: before, hysteresis: before.hysteresis, note: nil,
                    subject: .init(
                        modelID: m.modelID, version: m.version, sha256: beforeSHA, bundle: before.bundle,
                        onProbation: false))
            }
            return (subject, fallback)
        case .failure(let reason):
            engine.note = "fallback: \(reason)"
            logger.error("installed model refused, deciding with the static rule: \(reason)")
            return nil
        }
    }

    /// The telemetry spool, when telemetry goes to the training host over HTTP.
    static func spool(_ config: GatewayConfig, logger: Logger) throws -> TelemetrySpool? {
        guard let server = config.server, server.telemetry.usesHTTP else { return nil }
        return try TelemetrySpool(
            directory: config.stateDirectory + "/spool", limit: server.spoolLimit, batchSize: server.uploadBatch,
            logger: logger.with(label: "telemetry"))
    }

    /// What SIGHUP runs between cycles: the configuration file and profile read again (the sensor source stays).
    static func reloader(_ config: GatewayConfig, bus: any I2CBus) -> @Sendable () throws -> GatewayLoop.Setup {
        {
            var fresh = config
            if let path = config.path {
                fresh = try GatewayConfig.load(path: path)
                fresh.source = config.source
            }
            let profile = try ProfileLocator.load(fresh.profile, configPath: fresh.path)
            try GatewayRuntime.check(fresh, against: profile)
            return GatewayRuntime.loopSetup(fresh, profile: profile, bus: bus)
        }
    }
}
