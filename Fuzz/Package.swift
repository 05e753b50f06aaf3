// swift-tools-version: 6.2
import PackageDescription

// The libFuzzer targets (docs/fuzzing.md), in a package of their own so the
// main package's builds never link the fuzzer runtime. Each target's main
// hands its test function to libFuzzer's driver (CFuzzerDriver). Build and run them with `scripts/fuzz.sh`, which
// passes `-sanitize=fuzzer,address`; every target links only the modules it
// fuzzes (no NIO, no Hummingbird), which keeps the build short.
let package = Package(
    name: "chunkwatch-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "chunkwatch", path: "..")
    ],
    targets: [
        .target(name: "CFuzzerDriver"),
        .target(
            name: "FuzzSupport",
            dependencies: [
                "CFuzzerDriver", .product(name: "ChunkModel", package: "chunkwatch"), .product(name: "Ingest", package: "chunkwatch"),
            ]
        ),
        .executableTarget(name: "fuzz-ndjson", dependencies: ["FuzzSupport", .product(name: "Ingest", package: "chunkwatch")]),
        .executableTarget(name: "fuzz-tapwire", dependencies: ["FuzzSupport", .product(name: "Ingest", package: "chunkwatch")]),
        .executableTarget(name: "fuzz-lz4", dependencies: ["FuzzSupport", .product(name: "Ingest", package: "chunkwatch")]),
        .executableTarget(name: "fuzz-config", dependencies: ["FuzzSupport", .product(name: "Config", package: "chunkwatch")]),
        .executableTarget(
            name: "fuzz-checkpoint",
            dependencies: [
                "FuzzSupport",
                .product(name: "Pipeline", package: "chunkwatch"),
                .product(name: "Detectors", package: "chunkwatch"),
                .product(name: "Alerting", package: "chunkwatch"),
            ]
        ),
        .executableTarget(name: "fuzz-recovery", dependencies: ["FuzzSupport", .product(name: "Ingest", package: "chunkwatch")]),
    ]
)

for target in package.targets where target.name != "CFuzzerDriver" {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}
