// swift-tools-version: 6.1
import PackageDescription

// The benchmark suites live in their own package so that `swift test` on the
// main package never builds the benchmark tooling. Run them with `make bench`
// (or `swift package benchmark` in this directory).
let package = Package(
    name: "chunkwatch-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "chunkwatch", path: ".."),
        // The default traits pull in a runtime interposer that is not available
        // here and crashes retain/release counting on Swift 6.3; malloc counts are
        // what we need.
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        // ServerBenchmarks hands the daemon a Logger.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(
            name: "BenchmarkFixtures",
            dependencies: [
                .product(name: "ChunkModel", package: "chunkwatch"),
                .product(name: "Workload", package: "chunkwatch"),
            ],
            path: "Benchmarks/BenchmarkFixtures"
        ),
    ]
)

for suite in ["IngestBenchmarks", "BaselinesBenchmarks", "PipelineBenchmarks", "ServerBenchmarks", "TapBenchmarks", "ChecksumBenchmarks", "ProxyBenchmarks"] {
    package.targets.append(
        .executableTarget(
            name: suite,
            dependencies: [
                "BenchmarkFixtures",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ChunkModel", package: "chunkwatch"),
                .product(name: "Ingest", package: "chunkwatch"),
                .product(name: "Baselines", package: "chunkwatch"),
                .product(name: "Detectors", package: "chunkwatch"),
                .product(name: "Alerting", package: "chunkwatch"),
                .product(name: "Pipeline", package: "chunkwatch"),
            ] + (suite == "ServerBenchmarks"
                ? [
                    .product(name: "Server", package: "chunkwatch"),
                    .product(name: "Workload", package: "chunkwatch"),
                    .product(name: "Logging", package: "swift-log"),
                ] : [])
                + (suite == "TapBenchmarks" || suite == "ChecksumBenchmarks" ? [.product(name: "ChunkTap", package: "chunkwatch")] : [])
                // ProxyBenchmarks runs the gateway in the process; it hands the gateway a Logger.
                + (suite == "ProxyBenchmarks"
                    ? [
                        .product(name: "Gateway", package: "chunkwatch"),
                        .product(name: "ChunkTap", package: "chunkwatch"),
                        .product(name: "Logging", package: "swift-log"),
                    ] : []),
            path: "Benchmarks/\(suite)",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
}
