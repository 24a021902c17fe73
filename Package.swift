// swift-tools-version:6.2
import PackageDescription

// The C header is the contract (include/swiftlet.h); the module map beside it
// lets the C-ABI target import it so `@c @implementation` checks every signature.
let headerSearch: [SwiftSetting] = [.unsafeFlags(["-I", Context.packageDirectory + "/include"])]

let package = Package(
    name: "Swiftlet",
    products: [
        .library(name: "swiftlet", type: .dynamic, targets: ["Swiftlet"]),
        .executable(name: "swiftlet-cli", targets: ["SwiftletCLI"]),
    ],
    targets: [
        // C shims: arena allocation (a private jemalloc when built with
        // -DSWIFTLET_JEMALLOC, as the Makefile does; the system allocator otherwise)
        // CPU feature detection, and OpenBLAS's sgemm for batched prompts.
        .target(name: "CSwiftletSupport", linkerSettings: [.linkedLibrary("openblas")]),
        // The weight block layouts, spelled once for the engine and every kernel module.
        .target(name: "SwiftletWeightFormats"),
        // AVX2 + FMA kernels. Compiled for Haswell-class CPUs; the engine calls
        // them only after checking the CPU at run time (Q8MatrixProduct).
        .target(name: "SwiftletKernelsAVX2", dependencies: ["CSwiftletSupport", "SwiftletWeightFormats"],
                swiftSettings: [.unsafeFlags(["-target-cpu", "haswell"]), .swiftLanguageMode(.v5)]),
        // AVX-512 kernels (VNNI batch products, grouped attention), compiled for
        // Cascade Lake-class CPUs (AVX-512 F/CD/BW/DQ/VL + VNNI); called only
        // after the run-time check (CPUFeatures.hasAVX512).
        .target(name: "SwiftletKernelsAVX512", dependencies: ["CSwiftletSupport", "SwiftletWeightFormats"],
                swiftSettings: [.unsafeFlags(["-target-cpu", "cascadelake"])]),
        // The engine: plain Swift, no Foundation.
        .target(
            name: "SwiftletCore",
            dependencies: ["CSwiftletSupport", "SwiftletWeightFormats", "SwiftletKernelsAVX2", "SwiftletKernelsAVX512"]
        ),
        // The C ABI: one @c @implementation per function of include/swiftlet.h.
        .target(name: "Swiftlet", dependencies: ["SwiftletCore"], swiftSettings: headerSearch),
        .executableTarget(name: "SwiftletCLI", dependencies: ["SwiftletCore"], path: "Sources/swiftlet-cli"),
        // Each AVX2 kernel timed alone (`make bench-kernels`); compiled like the kernels it measures.
        .executableTarget(name: "KernelBench", dependencies: ["CSwiftletSupport", "SwiftletWeightFormats",
                                                              "SwiftletKernelsAVX2", "SwiftletKernelsAVX512"],
                          path: "Sources/swiftlet-kernel-bench",
                          swiftSettings: [.unsafeFlags(["-target-cpu", "haswell"]), .swiftLanguageMode(.v5)]),
        // Test drivers: they reach engine pieces the C API does not expose
        // (any chat template; row-level quantization; single kernels) for the Python tests.
        .executableTarget(name: "ChatTemplateCheck", dependencies: ["SwiftletCore"], path: "Tests/ChatTemplateCheck"),
        .target(name: "DriverSupport", dependencies: ["SwiftletCore"], path: "Tests/DriverSupport"),
        .executableTarget(name: "GGUFInspect", dependencies: ["SwiftletCore", "DriverSupport"], path: "Tests/GGUFInspect"),
        .executableTarget(name: "SafeTensorsInspect", dependencies: ["SwiftletCore", "DriverSupport"],
                          path: "Tests/SafeTensorsInspect"),
        .executableTarget(name: "TokenizerCheck", dependencies: ["SwiftletCore", "DriverSupport"],
                          path: "Tests/TokenizerCheck"),
        .executableTarget(name: "KernelCheck", dependencies: ["CSwiftletSupport", "SwiftletKernelsAVX2"],
                          path: "Tests/KernelCheck", swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
