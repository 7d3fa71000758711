// swift-tools-version:6.0
// A TCP relay on SwiftNIO, for scripts/support/proxy-instructions (FRONT=relay): the least
// work any proxy built on NIO does per request, as a floor under Baton's figure. Not part of
// Baton; built on demand into its own scratch directory.
import PackageDescription

let package = Package(
    name: "nio-relay",
    dependencies: [.package(url: "https://github.com/apple/swift-nio", exact: "2.101.3")],
    targets: [
        .executableTarget(
            name: "nio-relay",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")])
    ]
)
