import Evaluator
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import OccupantCore
import OccupantTesting

@testable import Server

/// The server's routes over a fresh store and registry, no process: gateways `gw-a`, `gw-b`, `küche` and `room 1`
/// (scope `office`, tokens `token-a`, `token-b`, `token-k`, `token-r`) and the admin token `admin-token`. SQLite in
/// the rig's folder, or (`make(kind: .postgres)`) a database of its own on the test process's PostgreSQL.
struct RouteRig {
    let config: ServerConfig
    let store: any ServerStore
    let registry: ModelRegistry
    let routes: Routes
    let announcer = RecordingAnnouncer()
    /// The rig's folder (state directory, signing key, artifacts).
    var dir: URL { URL(fileURLWithPath: config.stateDirectory) }

    init(_ name: String, clock: any WallClock = SystemClock(), extraYAML: String = "") throws {
        let dir = try temporaryDirectory(name)
        let store = try SQLiteStore(path: dir.appendingPathComponent("server.sqlite").path, clock: clock)
        try self.init(dir: dir, store: store, clock: clock, extraYAML: extraYAML)
    }

    /// A rig on either store; `close()` when done (PostgreSQL's pool).
    static func make(_ name: String, kind: StoreKind, clock: any WallClock = SystemClock(), extraYAML: String = "")
        async throws -> RouteRig
    {
        switch kind {
        case .sqlite: return try RouteRig(name, clock: clock, extraYAML: extraYAML)
        case .postgres:
            let store = try await StoreUnderTest.postgresStore(clock: clock)
            return try RouteRig(dir: try temporaryDirectory(name), store: store, clock: clock, extraYAML: extraYAML)
        }
    }

    private init(dir: URL, store: any ServerStore, clock: any WallClock, extraYAML: String) throws {
        let key = dir.appendingPathComponent("signer").path
        _ = try SigningKeys.save(SigningKeys.generate(), prefix: key)
        var config = try ServerConfig.parse(
            yaml: """
                adminToken: admin-token
                gateways:
                  - { id: gw-a, scope: office, token: token-a }
                  - { id: gw-b, scope: office, token: token-b }
                  - { id: küche, scope: office, token: token-k }
                  - { id: room 1, scope: office, token: token-r }
                intake: { maxBodyBytes: 100000 }
                """ + "\n" + extraYAML)
        config.stateDirectory = dir.path
        self.config = config
        self.store = store
        let artifacts = try ArtifactStore(root: dir.appendingPathComponent("artifacts").path)
        registry = ModelRegistry(
            config: config, store: store, artifacts: artifacts,
            signing: try SigningKeys.readPrivateKey(path: key + ".key"),
            announcer: announcer, logger: Logger(label: "test"), clock: clock,
            // As a server with a PostgreSQL section: jobs in the database's queue.
            jobs: (store as? PostgresStore).map { PostgresJobQueue(store: $0, lease: ServerConfig.Postgres().jobLease) }
        )
        routes = Routes(config: config, store: store, registry: registry, clock: clock)
    }

    /// Closes a PostgreSQL store's pool (nothing on SQLite).
    func close() { (store as? PostgresStore)?.close() }

    /// Stores `bytes` as the champion of `office` (version 1): what every gateway is served.
    @discardableResult
    func champion(_ bytes: [UInt8]) async throws -> String {
        let sha = try registry.artifacts.put(bytes)
        try await store.addModel(
            ModelRecord(
                scope: "office", version: 1, modelID: "occupancy-office", sha256: sha, size: bytes.count,
                created: 1_767_571_200,
                dataFrom: 1_767_571_200, dataTo: 1_767_574_800, labelledRowsSeen: 0,
                report: #"{"holdout":{"challenger":{"accuracy":0.9,"rows":12}}}"#))
        try await store.setAlias(scope: "office", alias: "champion", version: 1)
        return sha
    }

    /// The routes with no socket.
    func test<Value>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await Application(router: routes.router()).test(.router, body)
    }

    /// The routes on a loopback port (for clients that need a real connection).
    func live<Value>(_ body: @Sendable (_ baseURL: String) async throws -> Value) async throws -> Value {
        let app = Application(router: routes.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in try await body("http://127.0.0.1:\(client.port!)") }
    }
}
