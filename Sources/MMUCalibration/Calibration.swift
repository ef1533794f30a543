import MMUKernel

/// Calibration of the model against the host it runs on (`mmusim calibrate`):
/// the host probes time real mmap, fork and page touches (`HostProbe`, the
/// THP rows in HostTHPProbe.swift), the
/// model predicts the same operations (`ModelProbe`), the fault-path costs are
/// fitted to the host (`Fitting`), and the results are rendered as a table
/// (`report`) and a `--config` file (`configurationFile`). docs/calibration.md
/// describes each.
///
/// The host probes are the one part of mmusim that reads a real clock (the
/// thread's CPU time): they measure the host, not the model. The model's side
/// is computed as everywhere else, by running the operation through `System`
/// and taking the cycle delta.
public enum Calibration {
    /// One operation measured on the host and predicted by the model.
    public enum Operation: Int, CaseIterable, Sendable {
        /// First write to an untouched anonymous page (page tables present).
        case demandZero
        /// First read of an untouched anonymous page: the shared zero page is mapped.
        case zeroPage
        /// Write to a page left write-protected by a fork whose child has exited.
        case cowReuse
        /// Write to a page shared with a live fork child: allocate and copy.
        case cowCopy
        /// Zeroing 4 KiB (memset), beside `cost.frame.zero`.
        case zero
        /// Copying 4 KiB (memcpy), beside `cost.frame.copy`.
        case copy
        /// Fork's cost per MiB of populated private memory.
        case forkPerMiB
        /// MADV_DONTNEED of one page, then a write to it (a demand-zero fault).
        case dontNeed
        /// What one remote target adds to MADV_DONTNEED + touch of one page.
        case shootdown

        public var name: String {
            switch self {
            case .demandZero: return "demand-zero fault"
            case .zeroPage: return "zero-page read fault"
            case .cowReuse: return "COW reuse fault"
            case .cowCopy: return "COW copy fault"
            case .zero: return "4 KiB zero"
            case .copy: return "4 KiB copy"
            case .forkPerMiB: return "fork per MiB"
            case .dontNeed: return "DONTNEED + touch"
            case .shootdown: return "shootdown, 1 target"
            }
        }
    }

    /// One calibration: what was measured, what the model predicts under the
    /// preset and under the fitted configuration, and the fit.
    public struct Result {
        public var host: HostDescription
        public var preset: CPUPreset
        public var plan: HostProbe.Plan
        public var measured: [Operation: HostProbe.Measurement]
        public var presetModel: [Operation: Double]
        public var fittedModel: [Operation: Double]
        public var fit: Fitting.Result
        /// The THP rows (HostTHPProbe.swift), likewise.
        public var hugeMeasured: [HugeOperation: HostProbe.HugeMeasurement]
        public var hugePresetModel: [HugeOperation: Double]
        public var hugeFittedModel: [HugeOperation: Double]

        /// Predicts and fits from `measured`, taken on `host` with `plan`
        /// (tests pass synthetic measurements); the preset's configuration
        /// is `base`.
        public init(preset: CPUPreset, base: Configuration, host: HostDescription, plan: HostProbe.Plan,
                    measured: [Operation: HostProbe.Measurement],
                    hugeMeasured: [HugeOperation: HostProbe.HugeMeasurement] = [:]) {
            self.host = host
            self.preset = preset
            self.plan = plan
            self.measured = measured
            self.hugeMeasured = hugeMeasured
            let gigahertz = preset.gigahertz
            let measuredCycles = measured.compactMapValues { $0.nanoseconds.map { $0 * gigahertz } }
            let hugeCycles = hugeMeasured.compactMapValues { $0.time.nanoseconds.map { $0 * gigahertz } }
            fit = Fitting.fit(base, measuredCycles: measuredCycles, hugeCycles: hugeCycles)
            presetModel = ModelProbe.predictAll(base)
            fittedModel = ModelProbe.predictAll(fit.configuration)
            hugePresetModel = ModelProbe.predictAllHuge(base)
            hugeFittedModel = ModelProbe.predictAllHuge(fit.configuration)
        }

        /// The table and notes `mmusim calibrate` prints.
        public var report: String {
            Calibration.report(host: host, preset: preset, plan: plan, measured: measured,
                               presetModel: presetModel, fittedModel: fittedModel, fit: fit,
                               hugePages: Calibration.hugePageSection(preset: preset, plan: plan, measured: hugeMeasured,
                                                                      presetModel: hugePresetModel, fittedModel: hugeFittedModel,
                                                                      fit: fit))
        }

        /// The fitted configuration as a `--config` file.
        public var configurationFile: String {
            Calibration.configurationFile(host: host, preset: preset, fit: fit, measured: measured, hugeMeasured: hugeMeasured)
        }
    }

    /// Measures this host under `plan` and fits `preset` to it.
    public static func measure(_ preset: CPUPreset, plan: HostProbe.Plan) throws(ConfigurationError) -> Result {
        let base = try preset.apply(to: Configuration())
        return Result(preset: preset, base: base, host: HostDescription.current(), plan: plan,
                      measured: HostProbe.measureAll(plan), hugeMeasured: HostProbe.measureHugePages(plan))
    }
}
