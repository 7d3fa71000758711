// swift-tools-version:6.1
import PackageDescription

// Two executables. `baton` (the CLI) stays small so a sandbox starts fast: it never links NIO,
// GRDB, Yams or Foundation's ICU half. `baton-daemon` (what `baton daemon` execs) holds the rest.
// Dependencies point down: baton -> CLI -> {Apply, Control, Sandbox, Store} -> OS;
// baton-daemon -> Daemon -> {ApplyFile, Control, Deploy, Export, Proxy, Sandbox, Store} -> OS.
// Only BatonOS imports CShims; NIO stays inside BatonProxy and BatonDaemon.
/// Extension members resolve only from modules a file imports itself: a dependency that
/// imports Foundation (swift-crypto does) must not make its NSString APIs win overloads in
/// ours, which would link CoreFoundation and ICU into every `baton` start.
let memberImports: [SwiftSetting] = [.enableUpcomingFeature("MemberImportVisibility")]

let package = Package(
    name: "baton",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "baton", targets: ["baton"]),
        .executable(name: "baton-daemon", targets: ["baton-daemon"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", exact: "1.46.0"),
        .package(url: "https://github.com/apple/swift-certificates", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", exact: "1.7.4"),
    ],
    targets: [
        // C: raw syscalls, constants and the post-clone child path. No policy.
        .target(
            name: "CShims",
            path: "CShims/sys",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("seccomp"), .linkedLibrary("cap")]
        ),
        // C: tar reading and writing through libarchive.
        .target(
            name: "CArchive",
            path: "CShims/archive",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .target(name: "BatonOS", dependencies: ["CShims"], swiftSettings: memberImports),
        .target(
            name: "BatonStore",
            dependencies: [
                "BatonOS", "CArchive",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: memberImports
        ),
        .target(
            name: "BatonSandbox",
            dependencies: ["BatonOS", .product(name: "Logging", package: "swift-log")],
            swiftSettings: memberImports
        ),
        .target(
            name: "BatonProxy",
            dependencies: [
                "BatonOS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // TLS certificates of the proxy's HTTPS listener: the store under the root (added
        // files, the local CA's issues), checked with swift-certificates, served by SNI.
        .target(
            name: "BatonTLS",
            dependencies: [
                "BatonOS", "BatonProxy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: memberImports
        ),
        // Sandbox networking: the bridge, addresses, veth pairs, the nftables firewall.
        .target(name: "BatonNetwork", dependencies: ["BatonOS", "BatonSandbox"], swiftSettings: memberImports),
        // Health checks and the blue-green state machine, against protocols: tested without root.
        .target(
            name: "BatonDeploy",
            dependencies: ["BatonOS", .product(name: "Logging", package: "swift-log")]
        ),
        // `baton build`: a Batonfile's steps as layers, RUN in a sandbox with a writable upper dir.
        .target(name: "BatonBuild", dependencies: ["BatonOS", "BatonStore", "BatonSandbox"], swiftSettings: memberImports),
        // The control API's requests and replies, and the blocking client the CLI calls it with.
        .target(name: "BatonControl", dependencies: ["BatonOS"], swiftSettings: memberImports),
        // The apps file's YAML dialect; the daemon parses it for `baton apply`.
        .target(
            name: "BatonApplyFile",
            dependencies: ["BatonOS", "BatonControl", .product(name: "Yams", package: "Yams")]
        ),
        // OCI Distribution client (push, pull, login) on AsyncHTTPClient: linked into
        // baton-daemon only, which `baton artifact push/pull` and `baton login` exec.
        .target(
            name: "BatonRegistry",
            dependencies: [
                "BatonStore", "BatonOS",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: memberImports
        ),
        // `baton export k8s|compose`: an app as Kubernetes manifests or a Compose file. Pure:
        // input structs to YAML text (Yams), so it is linked into baton-daemon, which `baton
        // export` execs after parsing its arguments.
        .target(name: "BatonExport", dependencies: ["BatonControl", "BatonOS", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "BatonDaemon",
            dependencies: [
                "BatonProxy", "BatonSandbox", "BatonStore", "BatonNetwork", "BatonOS", "BatonDeploy", "BatonControl", "BatonApplyFile", "BatonRegistry",
                "BatonExport",
                "BatonTLS", "BatonCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // `baton apply`: the plan of a parsed apps file against the daemon, and its execution.
        .target(name: "BatonApply", dependencies: ["BatonOS", "BatonControl"], swiftSettings: memberImports),
        // How both executables parse, run and report an error.
        .target(
            name: "BatonCommandLine",
            dependencies: ["BatonOS", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: memberImports
        ),
        .target(
            name: "BatonCLI",
            dependencies: [
                "BatonOS", "BatonSandbox", "BatonStore", "BatonNetwork", "BatonControl", "BatonApply", "BatonCommandLine", "BatonBuild",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Release builds link `baton` fully static: no dynamic loader, relocations or shared
        // libraries to map at each start (docs/benchmarks.md). libarchive is still opened
        // with dlopen, which works against the glibc the binary was linked with.
        // Not a dependency on baton-daemon, though `baton daemon` execs it: SwiftPM would link
        // the daemon's modules into baton. Build both (`swift build`, scripts/build-release).
        .executableTarget(
            name: "baton",
            dependencies: ["BatonCLI"],
            linkerSettings: [.unsafeFlags(["-static-executable"], .when(configuration: .release))]
        ),
        .executableTarget(name: "baton-daemon", dependencies: ["BatonDaemon"]),
        .testTarget(name: "BatonOSTests", dependencies: ["BatonOS", "BatonTestSupport"]),
        .testTarget(name: "BatonCLITests", dependencies: ["BatonCLI", "BatonOS", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "BatonStoreTests", dependencies: ["BatonStore", "BatonOS", "BatonTestSupport"]),
        // What the tests share: the programs they start (ChildProcess), a network namespace
        // standing for the outside, a shell.
        .target(name: "BatonTestSupport", path: "Tests/BatonTestSupport"),
        .testTarget(name: "BatonSandboxTests", dependencies: ["BatonSandbox", "BatonOS", "BatonTestSupport"]),
        .testTarget(name: "BatonNetworkTests", dependencies: ["BatonNetwork", "BatonSandbox", "BatonOS"]),
        .testTarget(name: "BatonProxyTests", dependencies: [
            "BatonProxy", "BatonSandbox", "BatonNetwork", "BatonTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        ]),
        .testTarget(name: "BatonBuildTests", dependencies: ["BatonBuild", "BatonStore", "BatonOS", "BatonTestSupport"]),
        .testTarget(name: "BatonDeployTests", dependencies: ["BatonDeploy", "BatonOS", "BatonTestSupport"]),
        .testTarget(name: "BatonApplyTests", dependencies: ["BatonApply", "BatonApplyFile", "BatonControl", "BatonDaemon", "BatonOS"]),
        .testTarget(name: "BatonRegistryTests", dependencies: ["BatonRegistry", "BatonStore", "BatonOS", "BatonTestSupport"]),
        .testTarget(name: "BatonTLSTests", dependencies: ["BatonTLS", "BatonProxy", "BatonOS", "BatonTestSupport",
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "BatonExportTests", dependencies: ["BatonControl", "BatonExport", "BatonOS", "BatonTestSupport",
            .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "BatonDaemonTests", dependencies: ["BatonDaemon", "BatonControl", "BatonProxy", "BatonNetwork", "BatonOS", "BatonTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
