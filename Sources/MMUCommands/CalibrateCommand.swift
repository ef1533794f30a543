import MMUCalibration
import MMUKernel

/// `mmusim calibrate`: measures this host's fault paths and sets the model's
/// predictions beside them (the work is the MMUCalibration library's).
enum CalibrateCommand: Command {
    static let cpu = Option<CPUPreset>(
        "--cpu", value: "NAME", help: "the preset to predict with and fit (default skylake; mmusim cpus lists them)",
        completion: .choices(CPUPreset.all.map(\.name)), read: ConfigurationOptions.readPreset)
    static let write = Option<String>(
        "--write", value: "FILE", help: "writes the fitted configuration as KEY = VALUE lines (for --config FILE)")
    static let quick = Option<Bool>(flag: "--quick", help: "fewer and smaller probes (about a second; noisier)")

    static let declaration = CommandDeclaration(
        name: "calibrate", abstract: "Measures this host's fault paths and prints the model's prediction beside each.",
        discussion: """
        Measures this host with real system calls (mmap, madvise, fork, page touches,
        clock_gettime; no root needed), prints each operation's mean time beside the model's
        prediction under the preset and under a configuration fitted to this host, with the
        ratio model / measured (docs/calibration.md).
        """,
        options: [cpu.declaration, write.declaration, quick.declaration])

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        if let refused = refuseArguments(arguments, console) { return refused }
        guard let preset = arguments.value(cpu) ?? CPUPreset.named("skylake") ?? CPUPreset.all.first else {
            console.err("mmusim calibrate: no CPU preset to predict with\n")
            return 2
        }
        let result: Calibration.Result
        do throws(ConfigurationError) {
            result = try Calibration.measure(preset, plan: HostProbe.Plan(quick: arguments.contains(quick)))
        } catch {
            console.err("mmusim calibrate: preset \(preset.name): \(error.message)\n")
            return 2
        }
        console.out(result.report)
        if let path = arguments.value(write) {
            if let problem = Calibration.write(result.configurationFile, to: path) {
                console.err("mmusim calibrate: \(problem)\n")
                return 2
            }
            console.out("wrote \(path) (use it with --config \(path))\n")
        }
        return 0
    }
}
