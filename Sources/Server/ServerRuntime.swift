import Crypto
import Evaluator
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import OccupantCore
import ServiceLifecycle

/// Builds a running training host from its configuration: the store, the artifact folder, the registry and its
/// jobs, the MQTT side and the HTTP API.
public struct ServerRuntime: Sendable {
    public let config: ServerConfig
    public let store: any ServerStore
    public let artifacts: ArtifactStore
    public let registry: ModelRegistry
    public let mqtt: ServerMQTT
    public let services: [any Service]
    /// Held while the runtime lives: a second process on the same state directory is refused at start.
    let stateLock: StateDirectoryLock

    public init(config: ServerConfig, logger: Logger, clock: any WallClock = SystemClock()) throws {
        self.config = config
        do throws(OccupantError) {
            try LocalFileSystem().makeDirectories(config.stateDirectory)
        } catch {
            throw OccupantError(
                .io, "stateDirectory: cannot create \(config.stateDirectory): \(error.fileReason)", errno: error.errno)
        }
        // One process per state directory, whichever store: its artifacts and spool-like files are this process's.
        stateLock = try StateDirectoryLock(directory: config.stateDirectory)
        store = try config.openStore(clock: clock, logger: logger.with(label: "store"))
        artifacts = try ArtifactStore(root: config.stateDirectory + "/artifacts")
        var signing: (key: Curve25519.Signing.PrivateKey, keyID: String)?
        SecretFiles.warnIfExposed(config: config.path, logger: logger)
        if let path = config.signingKey {
            try SecretFile.refuseIfOpenToOthers(path, key: "signingKey")
            do {
                signing = try SigningKeys.readPrivateKey(path: path)
            } catch {
                throw OccupantError(.configuration, "signingKey: \(error.message)")
            }
        }
        mqtt = try ServerMQTT(config: config, store: store, logger: logger.with(label: "mqtt"), clock: clock)
        // Announcements and alerts go through the store's outbox: sent once, retried until delivered.
        let outbox = OutboxDrainer.wire(config: config, store: store, mqtt: mqtt, logger: logger.with(label: "outbox"))
        registry = ModelRegistry(
            config: config, store: store, artifacts: artifacts, signing: signing,
            announcer: outbox?.announcer ?? mqtt,
            logger: logger.with(label: "registry"),
            clock: clock)
        mqtt.attach(registry)

        let httpLogger = logger.with(label: "http")
        let routes = Routes(config: config, store: store, registry: registry, clock: clock, logger: httpLogger)
        let portFile = config.stateDirectory + "/http.port"
        let maxConnections = ConnectionLimit.resolve(
            configured: config.http.maxConnections, fileLimit: ConnectionLimit.fileLimit(),
            mqtt: config.broker != nil, logger: httpLogger)
        let scheme = config.http.isTLS ? "https" : "http"
        let onRunning: @Sendable (any Channel) async -> Void = { channel in
            let port = channel.localAddress?.port ?? 0
            try? "\(port)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
            httpLogger.info(
                "listening on \(scheme)://\(config.http.host):\(port) (at most \(maxConnections) connections, idle timeout \(config.http.idleTimeout) s)"
            )
            httpLogger.info("dashboard: \(scheme)://\(config.http.host):\(port)/dashboard")
        }
        if !config.http.isTLS && !isLoopbackHost(config.http.host) {
            httpLogger.warning(
                "http.host \(config.http.host) serves plain HTTP: bearer tokens and telemetry cross the network in clear; configure http.tls or put a TLS proxy in front"
            )
        }
        let bodyTimeout = TimeAmount.nanoseconds(Int64(config.http.bodyTimeout * 1e9))
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [BodyDeadline(timeout: bodyTimeout)],
                idleTimeout: .nanoseconds(Int64(config.http.idleTimeout * 1e9))))
        let server: HTTPServerBuilder
        if let cert = config.http.certFile, let key = config.http.keyFile {
            try SecretFile.refuseIfOpenToOthers(key, key: "http.tls.keyFile")
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
                var tls = TLSConfiguration.makeServerConfiguration(
                    certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                tls.minimumTLSVersion = .tlsv12
                server = try .tls(http1, tlsConfiguration: tls)
            } catch {
                throw OccupantError(.configuration, "http.tls: \(error)")
            }
        } else {
            server = http1
        }
        let app = Application(
            router: routes.router(), server: server,
            configuration: .init(
                address: .hostname(config.http.host, port: config.http.port), serverName: "occupant-server",
                availableConnectionsDelegate: LoggedConnectionLimit(maximum: maxConnections, logger: httpLogger)),
            onServerRunning: onRunning, logger: httpLogger)
        services =
            [mqtt, RetrainScheduler(registry: registry, interval: config.retrain.checkInterval), app]
            + Self.retentionServices(config: config, store: store, clock: clock, logger: logger)
            + JobListener.services(config: config, registry: registry, logger: logger)
            + (outbox.map { [$0.drainer as any Service] } ?? [])
    }
}

/// Checks the retraining triggers and the champion's quality every `interval` seconds.
struct RetrainScheduler: Service {
    let registry: ModelRegistry
    let interval: Double

    /// On shutdown, running training jobs (scheduled or asked for over HTTP) are cancelled rather than awaited.
    func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                await registry.checkTriggers()
            }
        } onGracefulShutdown: {
            Task { await registry.cancelTraining() }
        }
    }
}
