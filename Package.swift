// swift-tools-version:6.0

import PackageDescription

// Release builds let the optimizer inline across our own modules: the access
// path runs from the trace runner through the kernel into the hardware model.
let speed: [SwiftSetting] = [
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))
]

// Deliberate kernel defects (to prove the checkers catch them) exist in
// debug builds, which the tests use, and not at all in release builds.
let faultInjection: [SwiftSetting] = [
    .define("MMUSIM_FAULT_INJECTION", .when(configuration: .debug))
]

let package = Package(
    name: "mmusim",
    products: [
        .executable(name: "mmusim", targets: ["mmusim"]),
        .executable(name: "mmusim-bench", targets: ["mmusim-bench"]),
        .library(name: "MMUCommands", targets: ["MMUCommands"]),
        // libFuzzer targets: static libraries linked with the fuzzer runtime by
        // Tests/Fuzz/fuzz.sh (libFuzzer brings its own main).
        .library(name: "FuzzMMT", type: .static, targets: ["FuzzMMT"]),
        .library(name: "FuzzLackey", type: .static, targets: ["FuzzLackey"]),
        .library(name: "FuzzChampSim", type: .static, targets: ["FuzzChampSim"]),
        .library(name: "FuzzOptions", type: .static, targets: ["FuzzOptions"]),
        .library(name: "FuzzConfig", type: .static, targets: ["FuzzConfig"]),
        .library(name: "FuzzSweep", type: .static, targets: ["FuzzSweep"]),
    ],
    dependencies: [],
    targets: [
        // The hardware: addresses, PTEs, physical memory, walker, TLBs, PSCs, cores, costs.
        .target(name: "MMUHardware", swiftSettings: speed),
        // The emulated kernel: frames, address spaces, fault handler, fork, shootdowns.
        .target(name: "MMUKernel", dependencies: ["MMUHardware"], swiftSettings: speed + faultInjection),
        // Traces in, statistics and events out.
        .target(name: "MMUTrace", dependencies: ["MMUHardware", "MMUKernel"], swiftSettings: speed),
        // Measuring the host's fault paths and fitting the model to them (`mmusim calibrate`).
        .target(name: "MMUCalibration", dependencies: ["MMUTrace", "MMUKernel", "MMUHardware"], swiftSettings: speed),
        // Sweeps over traces, presets and settings (local threads, Slurm job arrays), merged tables, plots.
        .target(name: "MMUExperiments", dependencies: ["MMUCalibration", "MMUTrace", "MMUKernel", "MMUHardware"], swiftSettings: speed),
        // Argument parsing and the commands, as a library.
        .target(name: "MMUCommands", dependencies: ["MMUExperiments", "MMUCalibration", "MMUTrace", "MMUKernel", "MMUHardware"], swiftSettings: speed),
        .executableTarget(name: "mmusim", dependencies: ["MMUCommands", "MMUTrace"], swiftSettings: speed),
        // The benchmarks, as a library; `mmusim-bench` is main.swift over it.
        .target(name: "MMUBench", dependencies: ["MMUTrace", "MMUKernel", "MMUHardware"], swiftSettings: speed),
        .executableTarget(name: "mmusim-bench", dependencies: ["MMUBench"], swiftSettings: speed),

        // What the fuzz targets do, as a library the tests replay saved inputs through.
        .target(name: "MMUFuzzing", dependencies: ["MMUCommands", "MMUExperiments", "MMUTrace", "MMUKernel", "MMUHardware"]),
        .target(name: "FuzzMMT", dependencies: ["MMUFuzzing"]),
        .target(name: "FuzzLackey", dependencies: ["MMUFuzzing"]),
        .target(name: "FuzzChampSim", dependencies: ["MMUFuzzing"]),
        .target(name: "FuzzOptions", dependencies: ["MMUFuzzing"]),
        .target(name: "FuzzConfig", dependencies: ["MMUFuzzing"]),
        .target(name: "FuzzSweep", dependencies: ["MMUFuzzing"]),

        .target(name: "TestSupport", dependencies: ["MMUHardware", "MMUKernel", "MMUTrace"], path: "Tests/TestSupport"),
        .testTarget(name: "MMUHardwareTests", dependencies: ["MMUHardware", "TestSupport"]),
        .testTarget(name: "MMUKernelTests", dependencies: ["MMUKernel", "MMUHardware", "TestSupport"],
                    swiftSettings: faultInjection),
        .testTarget(name: "MMUTraceTests", dependencies: ["MMUTrace", "MMUKernel", "MMUHardware", "TestSupport", "MMUFuzzing"]),
        .testTarget(name: "MMUCalibrationTests", dependencies: ["MMUCalibration", "MMUKernel", "MMUHardware", "MMUTrace"]),
        .testTarget(name: "MMUExperimentsTests", dependencies: ["MMUExperiments", "MMUTrace", "MMUKernel", "TestSupport"]),
        .testTarget(name: "MMUCommandsTests", dependencies: ["MMUCommands", "MMUCalibration", "MMUTrace", "MMUKernel"]),
    ],
    swiftLanguageModes: [.v6]
)
