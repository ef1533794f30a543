import Testing
import MMUHardware
import MMUKernel
import MMUTrace
@testable import MMUCalibration

/// Skylake's configuration with some costs replaced.
private func skylake(_ costs: [CostKey: UInt64] = [:]) throws -> Configuration {
    let preset = try #require(CPUPreset.named("skylake"))
    return withCosts(try preset.apply(to: Configuration()), costs)
}

/// Counts as a host that took the huge path every time would show them.
private func counts(_ operation: Calibration.HugeOperation, operations: Int = 32) -> HostProbe.HugeCounts {
    var c = HostProbe.HugeCounts()
    c.operations = operations
    c.minorFaults = Int64(operations)
    c.thpFaultAlloc = 0
    c.thpSplitPMD = 0
    c.anonHugeKiB = 0
    switch operation {
    case .thpFault, .hugeZeroWrite:
        c.thpFaultAlloc = Int64(operations)
        c.anonHugeKiB = Int64(operations) * 2048
    case .thpSplitCopy:
        c.thpSplitPMD = Int64(operations)
        c.anonHugeKiB = nil
    case .hugeZeroRead:
        c.hugeZeroMapped = operations
    case .thpReuse:
        break
    }
    return c
}

/// THP measurements a host "took" when it behaves exactly like `configuration`.
private func syntheticHuge(_ configuration: Configuration, gigahertz: Double) -> [Calibration.HugeOperation: HostProbe.HugeMeasurement] {
    var measured: [Calibration.HugeOperation: HostProbe.HugeMeasurement] = [:]
    for (operation, cycles) in ModelProbe.predictAllHuge(configuration) {
        measured[operation] = HostProbe.HugeMeasurement(time: .value(cycles / gigahertz), counts: counts(operation))
    }
    return measured
}

@Suite("The model's predictions of the THP operations")
struct ModelTHPProbeTests {
    @Test("each THP operation charges the costs its path names")
    func chargesFollowThePaths() throws {
        let c = try skylake()
        func extra(_ operation: Calibration.HugeOperation, _ key: CostKey, plus: UInt64 = 1000) -> Double {
            ModelProbe.cycles(operation, withCosts(c, [key: cost(c, key) + plus])) - ModelProbe.cycles(operation, c)
        }
        // A first touch zeroes 512 frames (decisions 45); so does the write
        // after a huge-zero read (decisions 47); the read itself zeroes
        // nothing, the huge zero page being taken on span 0, untimed.
        #expect(extra(.thpFault, .frameZero) == 512_000)
        #expect(extra(.hugeZeroWrite, .frameZero) == 512_000)
        #expect(extra(.hugeZeroRead, .frameZero) == 0)
        // The child's write: one split (one cost.thp.split), the new table's
        // zeroing, one 4 KiB copy, 512 + 2 PTE writes (decisions 49).
        #expect(extra(.thpSplitCopy, .thpSplit) == 1000)
        #expect(extra(.thpSplitCopy, .frameCopy) == 1000)
        #expect(extra(.thpSplitCopy, .frameZero) == 1000)
        #expect(extra(.thpSplitCopy, .pteWrite, plus: 1) == 514)
        // The parent's write after the child exited: reuse, one PTE write, nothing copied or split.
        #expect(extra(.thpReuse, .thpSplit) == 0)
        #expect(extra(.thpReuse, .frameCopy) == 0)
        #expect(extra(.thpReuse, .pteWrite, plus: 1) == 1)
    }
}

@Suite("Fitting cost.thp.split to the split + copy write")
struct THPFittingTests {
    @Test("the fitted split is the measured write less the fitted model's write without it")
    func splitIsTheRemainder() throws {
        let preset = try skylake()
        let host = try skylake([.faultEntry: 1500, .faultExit: 620, .kernelFault: 900, .frameAlloc: 1200, .thpSplit: 7000])
        let fit = Fitting.fit(preset, measuredCycles: ModelProbe.predictAll(host), hugeCycles: ModelProbe.predictAllHuge(host))
        let measured = ModelProbe.cycles(.thpSplitCopy, host)
        let rest = ModelProbe.cycles(.thpSplitCopy, withCosts(fit.configuration, [.thpSplit: 0]))
        #expect(cost(fit.configuration, .thpSplit) == UInt64((measured - rest).rounded()))
        // The other keys come back within the fault fit's tolerance, so the split does too.
        #expect(abs(Double(cost(fit.configuration, .thpSplit)) - 7000) < 500)
        #expect(abs(ModelProbe.cycles(.thpSplitCopy, fit.configuration) - measured) <= 1)
        #expect(fit.changes.contains { $0.key == "cost.thp.split" && $0.to == cost(fit.configuration, .thpSplit) })
        #expect(fit.thpSplit?.hasPrefix("cost.thp.split = (measured split + copy ") == true)
    }

    @Test("a split + copy cheaper than the model without the split leaves cost.thp.split at 0 with a note")
    func negativeSplitIsClamped() throws {
        let preset = try skylake()
        let fit = Fitting.fit(preset, measuredCycles: [:], hugeCycles: [.thpSplitCopy: 100])
        #expect(cost(fit.configuration, .thpSplit) == 0)
        #expect(fit.notes.contains { $0.contains("thp.split = 0") })
    }

    @Test("without a split measurement cost.thp.split keeps the preset's value")
    func unmeasuredSplitIsLeftAlone() throws {
        let preset = try skylake()
        let fit = Fitting.fit(preset, measuredCycles: [:], hugeCycles: [.thpFault: 300_000])
        #expect(cost(fit.configuration, .thpSplit) == cost(preset, .thpSplit))
        #expect(fit.thpSplit == nil)
    }
}

@Suite("The THP rows of the calibration report, from synthetic measurements")
struct THPReportTests {
    func result(_ huge: [Calibration.HugeOperation: HostProbe.HugeMeasurement]) throws -> Calibration.Result {
        let preset = try #require(CPUPreset.named("skylake"))
        let base = try preset.apply(to: Configuration())
        return Calibration.Result(preset: preset, base: base, host: HostDescription(summary: "a synthetic host"),
                                  plan: HostProbe.Plan(quick: true), measured: [:], hugeMeasured: huge)
    }

    /// The cells after `name` on its line of `report`.
    func row(_ report: String, _ name: String) -> [String]? {
        for line in report.split(separator: "\n") where line.hasPrefix(name + " ") {
            return line.dropFirst(name.count).split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        }
        return nil
    }

    @Test("each THP operation has a row with its time, both models, and the kernel's counts")
    func rows() throws {
        let host = try skylake([.thpSplit: 9000])
        let calibration = try result(syntheticHuge(host, gigahertz: 3))
        let report = calibration.report
        #expect(report.contains("transparent huge pages: one access per 2 MiB of a 2 MiB-aligned MADV_HUGEPAGE mapping"))
        for operation in Calibration.HugeOperation.allCases {
            let cells = try #require(row(report, operation.name), "no row for \(operation.name)")
            #expect((Double(cells[0]) ?? 0) > 0, "\(operation.name) measured")
            #expect((Double(cells[1]) ?? 0) > 0, "\(operation.name) model")
            #expect(cells.contains("ops,"), "\(operation.name): \(cells)")
        }
        // Fitted to the split + copy write: its fitted ratio is 1.
        #expect(row(report, Calibration.HugeOperation.thpSplitCopy.name)?[4] == "1.00")
        #expect(report.contains("32 ops, 32 faults, thp_fault_alloc +0, thp_split_pmd +32"))
        #expect(report.contains("cost.thp.split = (measured split + copy "))
        // Nothing else measured: the split is recovered exactly under the preset.
        #expect(report.contains("\n  cost.thp.split  32000 -> 9000\n"))
        #expect(calibration.configurationFile.contains("\n# measured COW write, child (split + copy): "))
    }

    @Test("an unavailable or skipped THP row says so, with its reason as a note, and fits nothing")
    func unavailableRows() throws {
        var huge = try syntheticHuge(skylake(), gigahertz: 3)
        huge[.thpSplitCopy] = HostProbe.HugeMeasurement(time: .init(nanoseconds: nil, problem: "skipped: the counters show no huge mapping was split"))
        huge[.thpFault] = HostProbe.HugeMeasurement(time: .unavailable("THP is [never] on this host"))
        let calibration = try result(huge)
        let report = calibration.report
        #expect(row(report, Calibration.HugeOperation.thpSplitCopy.name)?.first == "skipped")
        #expect(row(report, Calibration.HugeOperation.thpFault.name)?.first == "unavailable")
        #expect(report.contains("note: THP first-touch fault: unavailable: THP is [never] on this host\n"))
        #expect(!report.contains("cost.thp.split ="))
        #expect(calibration.fit.thpSplit == nil)
    }
}

@Suite("Reading the kernel's THP counters and judging a probe by them")
struct THPCounterTests {
    @Test("vmstat and smaps_rollup lines parse to numbers")
    func parsing() {
        let vmstat = HostProbe.parseVMStat("nr_free_pages 5\nthp_fault_alloc 64\nthp_split_pmd 32\nbroken\n")
        #expect(vmstat["thp_fault_alloc"] == 64 && vmstat["thp_split_pmd"] == 32 && vmstat["broken"] == nil)
        #expect(HostProbe.parseAnonHuge("Rss:   100 kB\nAnonHugePages:     49152 kB\n") == 49152)
        #expect(HostProbe.parseAnonHuge("Rss:   100 kB\n") == nil)
    }

    @Test("THP missing or never refuses the probes; madvise and always allow them")
    func refusals() {
        #expect(HostProbe.thpRefusal(enabled: nil)?.contains("enabled is missing") == true)
        #expect(HostProbe.thpRefusal(enabled: "always madvise [never]\n")?.hasPrefix("THP is [never]") == true)
        #expect(HostProbe.thpRefusal(enabled: "always [madvise] never\n") == nil)
        #expect(HostProbe.thpRefusal(enabled: "[always] madvise never\n") == nil)
    }

    @Test("a probe whose counters show no huge page is skipped, with the counts in the reason")
    func verdicts() {
        let time = HostProbe.Measurement.value(90_000)
        for operation in Calibration.HugeOperation.allCases {
            #expect(HostProbe.hugeVerdict(operation, time, counts(operation), useZeroPage: "1\n") == time, "\(operation.name)")
        }
        var none = counts(.thpFault)
        none.thpFaultAlloc = 0
        none.anonHugeKiB = 0
        let skipped = HostProbe.hugeVerdict(.thpFault, time, none, useZeroPage: nil)
        #expect(skipped.nanoseconds == nil)
        #expect(skipped.problem == "skipped: the counters show no huge page was used (32 ops, 32 faults, thp_fault_alloc +0, thp_split_pmd +0)")
        var noSplit = counts(.thpSplitCopy)
        noSplit.thpSplitPMD = 0
        #expect(HostProbe.hugeVerdict(.thpSplitCopy, time, noSplit, useZeroPage: nil).problem?.hasPrefix("skipped: the counters show no huge mapping") == true)
        var fourK = counts(.hugeZeroRead)
        fourK.hugeZeroMapped = 0
        #expect(HostProbe.hugeVerdict(.hugeZeroRead, time, fourK, useZeroPage: "1").nanoseconds == nil)
        #expect(HostProbe.hugeVerdict(.hugeZeroRead, time, counts(.hugeZeroRead), useZeroPage: "0").nanoseconds == nil)
        // An older kernel splits the huge zero mapping on write: kept, with a note.
        var split = counts(.hugeZeroWrite)
        split.thpFaultAlloc = 0
        split.thpSplitPMD = 32
        let older = HostProbe.hugeVerdict(.hugeZeroWrite, time, split, useZeroPage: "1")
        #expect(older.nanoseconds == 90_000 && older.problem?.contains("Linux < 6.12") == true)
    }
}

@Suite("The thp scenario's phase table")
struct THPScenarioReportTests {
    @Test("the Linux column multiplies a phase's probed faults by the probe's time, and says n/a otherwise")
    func linuxColumn() throws {
        let phases = try THPScenarioReport.phases()
        var host = try syntheticHuge(skylake(), gigahertz: 3)
        host[.thpFault] = HostProbe.HugeMeasurement(time: .value(100_000), counts: counts(.thpFault))
        host[.thpReuse] = HostProbe.HugeMeasurement(time: .unavailable("fork failed (errno 11)"))
        let table = THPScenarioReport.table(phases, host: host)
        func line(_ phase: String) -> Substring? { table.split(separator: "\n").first { $0.hasPrefix(phase + " ") } }
        // 32 THP faults x 100 µs.
        #expect(line("parent writes 64 MiB")?.hasSuffix(" 3200.0") == true)
        #expect(line("parent rewrites 64 MiB")?.hasSuffix(" n/a (unavailable: fork failed (errno 11))") == true)
        #expect(line("child reads 64 MiB")?.hasSuffix(" n/a (no fault)") == true)
        #expect(table.contains("probe: THP first-touch fault: 100.0 µs; 32 ops"))
        let modelOnly = THPScenarioReport.table(phases, host: nil, unmeasured: "--model-only")
        #expect(modelOnly.split(separator: "\n").first { $0.hasPrefix("child writes 16 huge pages ") }?.hasSuffix(" n/a (--model-only)") == true)
    }
}
