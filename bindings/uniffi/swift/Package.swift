// swift-tools-version:5.9
// The Swift package of Evidentia. Its sources and the EvidentiaFFI.xcframework are
// made on macOS by build-xcframework.sh (they are generated, never committed).
import PackageDescription

let package = Package(
    name: "Evidentia",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [.library(name: "Evidentia", targets: ["Evidentia"])],
    targets: [
        .binaryTarget(name: "EvidentiaFFI", path: "EvidentiaFFI.xcframework"),
        .target(name: "Evidentia", dependencies: ["EvidentiaFFI"], path: "Sources/Evidentia"),
    ]
)
