// swift-tools-version:6.0
// cocoon: CoOp / CoCoOp as an ahead-of-time CLIP feature cache plus a lightweight prompt tuner.
// Module graph and responsibilities: docs/DESIGN.md ("Module graph"), checked against this file by CLITests.
import PackageDescription

/// Release builds of the kernel targets drop bounds/overflow checks in their hot loops. Only
/// those: every target that parses files, JSON, LMDB values or user text keeps its checks (and
/// its `precondition`s), which measured within noise of unchecked builds (README, "Performance").
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

/// Every module folder opens with a README.md (what it holds, what it may import); not a source.
let readme = ["README.md"]

let package = Package(
    name: "cocoon",
    products: [
        .executable(name: "cocoon", targets: ["cocoon"]),
        // The web UI / JSON API over a store: its own executable so `cocoon` (and `make demo`)
        // never build FlyingFox.
        .executable(name: "cocoon-serve", targets: ["cocoon-serve"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        // System libraries (Debian packages; `make deps` installs them).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLMDB", path: "Sources/CLMDB", pkgConfig: "lmdb",
                       providers: [.apt(["liblmdb-dev"])]),

        .target(name: "CHashingSupport"),
        .target(name: "Hashing", dependencies: ["CHashingSupport"], exclude: readme, swiftSettings: fast),
        .target(name: "CBFloat16", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "CFloat32", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "CWorkers"),
        .target(name: "Kernels", dependencies: ["CBLAS", "CBFloat16", "CFloat32", "CWorkers"], exclude: readme, swiftSettings: fast),
        .target(name: "Formats", dependencies: ["Kernels"], exclude: readme),
        .target(name: "CLIP", dependencies: ["Kernels", "Formats", "Hashing", "CZlib"], exclude: readme),
        .target(name: "DatasetNames", exclude: readme),
        .target(name: "Datasets", dependencies: ["DatasetNames", "Hashing"], exclude: readme),
        .target(name: "PromptLearning", dependencies: ["CLIP", "Kernels", "Formats", "DatasetNames", "Datasets", "FeatureCache", "Hashing"], exclude: readme),
        .target(name: "CImageCodec",
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),
        .target(name: "Imaging", dependencies: ["CImageCodec", "Hashing"], exclude: readme),
        .target(name: "FeatureCache", dependencies: ["CLMDB", "DatasetNames", "Formats", "Hashing"], exclude: readme),
        .target(name: "Indexing", dependencies: ["CLIP", "Imaging", "DatasetNames", "Datasets", "FeatureCache", "Formats", "Kernels", "Hashing"], exclude: readme),
        .target(name: "SyntheticShapes", dependencies: ["Imaging", "Hashing"], exclude: readme),
        .target(name: "Demo", dependencies: ["CLIP", "DatasetNames", "Datasets", "FeatureCache", "Indexing", "Kernels", "PromptLearning", "SyntheticShapes"], exclude: readme),
        .target(name: "Reproduction", dependencies: ["CLIP", "Datasets", "FeatureCache", "Indexing", "PromptLearning", "Kernels", "Hashing"], exclude: readme),

        .executableTarget(name: "cocoon", dependencies: [
            "Kernels", "Formats", "CLIP", "PromptLearning", "FeatureCache", "Indexing", "Imaging", "DatasetNames", "Datasets",
            "SyntheticShapes", "Demo", "Reproduction",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], exclude: readme),
        // `cocoon-serve`: HTTP server (FlyingFox) with JSON endpoints and one web page.
        .executableTarget(name: "cocoon-serve", dependencies: [
            "CLIP", "FeatureCache", "Indexing", "PromptLearning", "Imaging", "DatasetNames", "Datasets", "Kernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "FlyingFox", package: "FlyingFox"),
            .product(name: "FlyingSocks", package: "FlyingFox"),
        ], exclude: readme),

        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Hashing"]),
        .testTarget(name: "FormatsTests", dependencies: ["Formats", "Kernels", "TestSupport"]),
        .testTarget(name: "HashingTests", dependencies: ["Hashing"]),
        .testTarget(name: "CLIPTests", dependencies: ["CLIP", "Formats", "Hashing", "Kernels"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "DatasetNames"]),
        .testTarget(name: "PromptLearningTests", dependencies: ["PromptLearning", "CLIP", "Formats", "Kernels"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "Hashing"]),
        .testTarget(name: "SyntheticShapesTests", dependencies: ["SyntheticShapes", "Imaging", "Hashing", "Datasets", "DatasetNames", "CLIP", "Kernels"]),
        .testTarget(name: "FeatureCacheTests", dependencies: ["FeatureCache", "CLMDB", "Hashing", "TestSupport"]),
        .testTarget(name: "DemoTests", dependencies: ["Demo", "PromptLearning", "Kernels", "TestSupport"]),
        .testTarget(name: "IndexingTests", dependencies: ["Indexing", "CLIP", "Imaging", "DatasetNames", "Datasets", "FeatureCache", "Formats", "Kernels",
                                                     "PromptLearning", "TestSupport"]),
        // The CLI end to end (tune, eval, zeroshot, probe, interpret, the papers' protocols).
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "Kernels", "Reproduction", "cocoon"]),
        // Helpers the test targets share: fixture paths, scratch folders, running the built
        // `cocoon`, the one-line-error assertion, raw LMDB writes.
        .target(name: "TestSupport", dependencies: ["CLMDB"], path: "Tests/TestSupport"),
    ],
    swiftLanguageModes: [.v5]
)
