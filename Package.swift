// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "chunkwatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chunkwatch", targets: ["chunkwatch"]),
        .library(name: "ChunkModel", targets: ["ChunkModel"]),
        .library(name: "Ingest", targets: ["Ingest"]),
        .library(name: "Baselines", targets: ["Baselines"]),
        .library(name: "Detectors", targets: ["Detectors"]),
        .library(name: "Alerting", targets: ["Alerting"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
        .library(name: "Workload", targets: ["Workload"]),
        .library(name: "Config", targets: ["Config"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "Server", targets: ["Server"]),
        .library(name: "ChunkWatchTestKit", targets: ["ChunkWatchTestKit"]),
        .library(name: "ChunkTap", targets: ["ChunkTap"]),
        .library(name: "Gateway", targets: ["Gateway"]),
        .library(name: "Tuning", targets: ["Tuning"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.30.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "ChunkModel"),
        .target(name: "Ingest", dependencies: ["ChunkModel", "CLZ4"]),
        .target(name: "Baselines", dependencies: ["ChunkModel"]),
        .target(name: "Detectors", dependencies: ["ChunkModel", "Baselines"]),
        .target(name: "Alerting", dependencies: ["ChunkModel"]),
        .target(name: "Pipeline", dependencies: ["ChunkModel", "Ingest", "Baselines", "Detectors", "Alerting"]),
        .target(name: "Workload", dependencies: ["ChunkModel"]),
        // CRC32C with the CPU's CRC instructions (SSE 4.2, ARMv8 CRC) picked at
        // run time, and a table otherwise: our own C, since Swift has no per-function target features.
        .target(name: "CCRC32C"),
        .target(name: "ChunkTap", dependencies: ["ChunkModel", "CCRC32C"]),
        // `chunkwatch tune`: what-if replays, sweeps, budgets, config diffs, the HTML report;
        // `chunkwatch eval`: gen's labelled traffic (decoded as the test kit does) through the same pipelines.
        .target(
            name: "Tuning",
            dependencies: ["ChunkModel", "Ingest", "Detectors", "Alerting", "Pipeline", "Config", "Workload", "ChunkWatchTestKit"]),
        .target(
            name: "Gateway",
            dependencies: [
                "ChunkModel", "ChunkTap",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "Store", dependencies: ["CSQLite", "CLZ4", "ChunkModel", "Alerting"]),
        .target(
            name: "Server",
            dependencies: [
                "ChunkModel", "Ingest", "Detectors", "Alerting", "Pipeline", "Config", "Store",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ChunkWatchTestKit",
            dependencies: ["ChunkModel", "Ingest", "Detectors", "Alerting", "Pipeline", "Workload"]
        ),
        .target(
            name: "Config",
            dependencies: ["ChunkModel", "Detectors", "Pipeline", .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "chunkwatch",
            dependencies: [
                "ChunkModel", "Ingest", "Detectors", "Alerting", "Pipeline", "Workload", "Config", "Store", "Server",
                "ChunkTap", "Gateway", "Tuning",
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ChunkModelTests", dependencies: ["ChunkModel"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "ChunkModel", "ChunkWatchTestKit"]),
        .testTarget(name: "BaselinesTests", dependencies: ["Baselines", "ChunkModel"]),
        .testTarget(
            name: "DetectorsTests",
            dependencies: ["Detectors", "Baselines", "ChunkModel", "Workload", "Pipeline", "Ingest", "Alerting", "ChunkWatchTestKit"]
        ),
        .testTarget(name: "AlertingTests", dependencies: ["Alerting", "ChunkModel"]),
        .testTarget(
            name: "PipelineTests", dependencies: ["Pipeline", "Workload", "Ingest", "ChunkModel", "Alerting", "ChunkWatchTestKit"]
        ),
        .testTarget(name: "WorkloadTests", dependencies: ["Workload", "ChunkModel"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "Detectors", "Pipeline"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "ChunkModel", "Alerting", "Pipeline", "ChunkWatchTestKit", "Workload"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Store", "ChunkModel", "Ingest", "Config", "Workload", "ChunkWatchTestKit",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ChunkTapTests", dependencies: ["ChunkTap", "ChunkModel", "Server", "Store"]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "ChunkTap", "ChunkModel", "Server", "Store",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "TuningTests",
            dependencies: ["Tuning", "ChunkModel", "Ingest", "Pipeline", "Config", "Workload", "ChunkWatchTestKit", "Alerting"]
        ),
        .testTarget(name: "chunkwatchTests", dependencies: ["chunkwatch", "ChunkTap", "ChunkWatchTestKit"]),
    ]
)

// One settings loop for every target: the invariant checks compiled in only for
// debug builds (the hot path pays nothing), and in release builds no dynamic
// exclusivity checks, which profiling showed at ~7 % of a backfill (debug
// builds and the tests keep them, so violations are still caught).
for target in package.targets where target.type != .system && target.name != "CCRC32C" {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.define("CHUNKWATCH_INTERNAL_CHECKS", .when(configuration: .debug)))
    settings.append(.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)))
    target.swiftSettings = settings
}
