// swift-tools-version: 6.0
import PackageDescription

// Data flows top to bottom: spec (YAML -> typed spec) -> IR (graph, shapes, costs)
// -> kernels -> runtime (interpreter, backward) -> training -> CLI.
let package = Package(
    name: "netc",
    products: [
        .executable(name: "netc", targets: ["netc"]),
        .library(name: "NetcSpec", targets: ["NetcSpec"]),
        .library(name: "NetcRuntime", targets: ["NetcRuntime"]),
        .library(name: "NetcTrain", targets: ["NetcTrain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Data-parallel training under mpirun (Debian's Open MPI); a plain run never initialises it.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // PNG and JPEG decoding (Debian's libpng-dev, libjpeg-dev: libjpeg-turbo) behind a small C
        // shim: libjpeg reports errors by longjmp, which Swift cannot take.
        .target(name: "CImageCodecs", linkerSettings: [.linkedLibrary("png"), .linkedLibrary("jpeg")]),

        .target(name: "NetcIR", dependencies: ["NetcKernels"]),
        .target(name: "NetcSpec", dependencies: ["NetcIR", "CYAML"],
                resources: [.embedInCode("Prelude.yaml")]),
        .target(name: "NetcZoo", dependencies: ["NetcZooImageNet"], exclude: ["architectures/imagenet"],
                resources: [.embedInCode("architectures")]),
        .target(name: "NetcZooImageNet", resources: [.embedInCode("imagenet")]),
        // Plain -O, not -Ounchecked: the kernels' preconditions stay in release builds as a last
        // line of defence (callgrind: -Ounchecked saved 2.7% of a ResNet-18 step's instructions
        // once im2col/col2im use wrapping index arithmetic; see Im2col.swift).
        // Kernels that pick an instruction set at run time (AVX-512, AVX2), which Swift cannot.
        .target(name: "CKernels"),
        .target(name: "NetcKernels", dependencies: ["COpenBLAS", "CKernels"]),
        .target(name: "NetcRuntime", dependencies: ["NetcIR", "NetcKernels"]),
        .target(name: "NetcTrain", dependencies: ["NetcRuntime", "NetcSpec", "CZlib", "CImageCodecs", "CMPI"]),
        .executableTarget(name: "netc", dependencies: [
            "NetcSpec", "NetcZoo", "NetcTrain",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "print-shapes", dependencies: ["NetcSpec"], path: "Examples/PrintShapes"),

        .testTarget(name: "NetcSpecTests", dependencies: ["NetcSpec", "NetcZoo"], exclude: ["Golden", "FuzzCrashers"]),
        .testTarget(name: "NetcKernelsTests", dependencies: ["NetcKernels"]),
        .testTarget(name: "NetcRuntimeTests", dependencies: ["NetcRuntime", "NetcSpec"]),
        .testTarget(name: "NetcTrainTests", dependencies: ["NetcTrain", "NetcSpec", "NetcRuntime"], exclude: ["Golden"]),
        .testTarget(name: "NetcCommandTests", dependencies: ["netc"]),
    ],
    swiftLanguageModes: [.v5]
)

// libFuzzer targets, only in the manifest when NETC_FUZZ is set (`make fuzz`): they have no
// `main` of their own and link only with `-sanitize=fuzzer`, so plain builds must not see them.
if Context.environment["NETC_FUZZ"] != nil {
    package.targets += [
        .executableTarget(name: "fuzz-spec", dependencies: ["NetcSpec"], path: "Fuzz/FuzzSpec"),
        .executableTarget(name: "fuzz-data", dependencies: ["NetcTrain"], path: "Fuzz/FuzzData"),
    ]
}
