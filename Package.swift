// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "occupant",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "occupant", targets: ["occupant"]),
        // The gateway daemon alone (issue 16): the gateway targets without the training host's stacks.
        .executable(name: "occupant-gateway", targets: ["occupant-gateway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // C access, one module per C library.
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // The gateway's uplink to the training host (issue 16): libcurl's OpenSSL flavour (the libssl/libcrypto
        // libmosquitto links), dlopen()ed on the first transfer (no DT_NEEDED: a gateway without a server never maps
        // its ~27 libraries; headers from libcurl4-openssl-dev; -ldl: dlopen before glibc 2.34), and zlib for gzip
        // request bodies.
        .target(
            name: "CCurl",
            linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "CLinuxI2C",
            linkerSettings: [.linkedLibrary("i2c")]
        ),

        // Domain types, clock, decision engines.
        .target(
            name: "OccupantCore",
            dependencies: ["CYAML", .product(name: "Logging", package: "swift-log")]
        ),
        // Firmware profiles, decoding and the bus seam (Linux and simulated).
        .target(
            name: "I2C",
            dependencies: ["CLinuxI2C", "OccupantCore"]
        ),
        .target(
            name: "Sensors",
            dependencies: [
                "OccupantCore", "I2C",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The feature pipeline shared by gateway and trainer.
        .target(
            name: "Features",
            dependencies: ["OccupantCore"]
        ),
        // Model bundle, evaluator, importers.
        .target(
            name: "Evaluator",
            dependencies: [
                "OccupantCore", "Features",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // libmosquitto client.
        .target(
            name: "MQTT",
            dependencies: [
                "CMosquitto", "OccupantCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The gateway <-> server contract: MQTT topics, HTTP paths and headers, the JSON documents.
        .target(
            name: "FleetProtocol",
            dependencies: ["OccupantCore"]
        ),
        // The gateway daemon: config, services, publishing, systemd.
        .target(
            name: "Gateway",
            dependencies: [
                "OccupantCore", "FleetProtocol", "Sensors", "MQTT", "Features", "Evaluator", "CCurl", "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Native training: learners, search, evaluation report.
        .target(
            name: "Training",
            dependencies: ["OccupantCore", "Features", "Evaluator"],
            // The learners' inner loops run ~100x slower unoptimised: the UCI training test would take minutes in a
            // debug build. Optimise this one target in debug too (tests still import it @testable).
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        // Server mode: intake, registry, retraining, delivery (HTTP on Hummingbird, SQLite through GRDB).
        .target(
            name: "Server",
            dependencies: [
                "OccupantCore", "FleetProtocol", "MQTT", "Features", "Evaluator", "Training",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // `occupant gateway run`'s flags and run, shared with the lean `occupant-gateway` (no Server, Training, GRDB,
        // Hummingbird or PostgresNIO).
        .target(
            name: "GatewayDaemon",
            dependencies: [
                "Gateway", "OccupantCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "OccupantCLI",
            dependencies: [
                "OccupantCore", "FleetProtocol", "Sensors", "MQTT", "Gateway", "GatewayDaemon", "Features", "Evaluator", "Training", "Server",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "occupant",
            dependencies: ["OccupantCLI"]
        ),
        .executableTarget(
            name: "occupant-gateway",
            dependencies: ["GatewayDaemon"],
            // The Swift runtime and Foundation linked in (-static-stdlib; Foundation's own archives named, since the
            // modules were compiled for the shared runtime): no Swift runtime to install on the board, less RSS and
            // start-up CPU (BENCHMARKS.md, issue 16). -no-pie (no load-time relocation of the metadata) and
            // --no-export-dynamic (undoes the -export-dynamic that -static-stdlib adds; nothing dlsym()s into the
            // daemon): 31.9 -> 24.3 MB peak RSS together (rule, median of 3; essentials bench notes).
            linkerSettings: [
                .unsafeFlags([
                    "-static-stdlib", "-Xlinker", "--start-group", "-lFoundation", "-lFoundationInternationalization",
                    "-lFoundationEssentials", "-lCoreFoundation", "-l_FoundationICU", "-l_FoundationCShims",
                    "-l_FoundationCollections", "-Xlinker", "--end-group",
                    "-Xlinker", "-no-pie", "-Xlinker", "--no-export-dynamic",
                ], .when(platforms: [.linux]))
            ]
        ),

        // Fakes and harnesses for tests: a mosquitto started on a free loopback port, NOTIFY_SOCKET listener.
        .target(
            name: "OccupantTesting",
            dependencies: ["MQTT", "OccupantCore"]
        ),
        // Test-only: a malloc interposer that counts one thread's allocations (the allocation test). Never a
        // dependency of a product.
        .target(name: "CAllocationCounter"),
        .testTarget(name: "OccupantCoreTests", dependencies: ["OccupantCore", "OccupantTesting"]),
        .testTarget(name: "SensorsTests", dependencies: ["Sensors", "I2C", "OccupantTesting"]),
        .testTarget(name: "MQTTTests", dependencies: ["MQTT", "OccupantTesting"]),
        .testTarget(name: "FeaturesTests", dependencies: ["Features", "OccupantCore", "OccupantTesting"]),
        .testTarget(name: "FleetProtocolTests", dependencies: ["FleetProtocol", "OccupantCore"]),
        .testTarget(
            name: "EvaluatorTests",
            dependencies: ["Evaluator", "Features", "OccupantTesting"]
        ),
        .testTarget(
            name: "TrainingTests",
            dependencies: ["Training", "Evaluator", "Features", "OccupantCore", "OccupantTesting"]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "FleetProtocol", "OccupantCLI", "OccupantTesting", "Evaluator", "Training", "MQTT", "Sensors",
                "OccupantCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "OccupantCLITests",
            dependencies: [
                "OccupantCLI", "OccupantTesting", "Gateway", "Server",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // Help-text snapshots, read through #filePath (not resources).
            exclude: ["Help"]
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "FleetProtocol", "OccupantCLI", "OccupantTesting", "Sensors", "MQTT", "Evaluator", "Features",
                "CAllocationCounter",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
