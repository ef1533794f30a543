import Foundation
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

/// Measurements a host "took" when it behaves exactly like `configuration` at
/// the preset's clock, with `unavailable` rows refused.
private func synthetic(_ configuration: Configuration, gigahertz: Double,
                       unavailable: [Calibration.Operation] = []) -> [Calibration.Operation: HostProbe.Measurement] {
    var measured: [Calibration.Operation: HostProbe.Measurement] = [:]
    for (operation, cycles) in ModelProbe.predictAll(configuration) {
        measured[operation] = unavailable.contains(operation) ? .unavailable("refused in this test") : .value(cycles / gigahertz)
    }
    return measured
}

/// The table row of `operation`: measured, model (preset), ratio, model (fitted), ratio.
private func row(_ output: String, _ operation: Calibration.Operation) -> [String]? {
    for line in output.split(separator: "\n") where line.hasPrefix(operation.name + " ") {
        return line.dropFirst(operation.name.count).split(separator: " ").map(String.init)
    }
    return nil
}

@Suite("The model's predictions of the calibrated operations")
struct ModelProbeTests {
    @Test("the model's probes differ as decisions item 12 says")
    func modelProbes() {
        let configuration = withCosts(Configuration(), [.frameAlloc: 250, .frameZero: 1300, .frameCopy: 2600, .pteWrite: 5,
                                                        .invlpg: 260, .forkPTE: 100])
        let model = ModelProbe.predictAll(configuration)
        // Same walks and retries: the difference is the handler's extra work
        // (a COW copy's INVLPG also drops the paging-structure caches, item 5,
        // so the next walks read more entries).
        let demandZeroExtra = (model[.demandZero] ?? 0) - (model[.zeroPage] ?? 0)
        let copyExtra = (model[.cowCopy] ?? 0) - (model[.cowReuse] ?? 0)
        #expect(demandZeroExtra == 1550)
        #expect(copyExtra >= 2865 && copyExtra < 2865 + 400)
        // The zero-page fault is the fault path, a PTE write and the walks around it.
        let path = Double(cost(configuration, .faultEntry) + cost(configuration, .kernelFault) + cost(configuration, .faultExit))
        let zeroPage = model[.zeroPage] ?? 0
        #expect(zeroPage > path + 5 && zeroPage < path + 200)
        #expect(model[.zero] == 1300 && model[.copy] == 2600)
        // 256 PTEs per MiB, plus a share of the page-table pages.
        let fork = model[.forkPerMiB] ?? 0
        #expect(fork >= 25_600 && fork < 27_600)
        // One remote target: send, two one-way latencies, the handler and its INVLPG at least.
        let ipi = Double(cost(configuration, .ipiSend)) + 2 * Double(cost(configuration, .ipiLatency))
            + Double(cost(configuration, .ipiHandler))
        #expect((model[.shootdown] ?? 0) >= ipi)
    }

    @Test("changing a cost through the helper changes what the model reads")
    func costHelpers() {
        let changed = withCosts(Configuration(), [.frameZero: 1234])
        #expect(cost(changed, .frameZero) == 1234)
        #expect(ModelProbe.cycles(.zero, changed) == 1234)
        #expect(cost(withCosts(Configuration(), [.frameZero: UInt64.max]), .frameZero) == Configuration.Limits.cost.upperBound)
    }
}

@Suite("Fitting the fault-path costs to measurements")
struct FittingTests {
    @Test("fitting recovers a configuration from its own predictions")
    func fittingRecoversTargets() throws {
        let preset = try skylake()
        let host = try skylake([.faultEntry: 1500, .faultExit: 620, .kernelFault: 900, .frameAlloc: 1200,
                                .frameZero: 700, .frameCopy: 1800, .forkPTE: 60])
        let measured = ModelProbe.predictAll(host)
        let fit = Fitting.fit(preset, measuredCycles: measured)
        let predicted = ModelProbe.predictAll(fit.configuration)
        for operation in [Calibration.Operation.demandZero, .zeroPage, .cowReuse, .cowCopy, .zero, .forkPerMiB] {
            let ratio = (predicted[operation] ?? 0) / (measured[operation] ?? 1)
            #expect(abs(ratio - 1) < 0.02, "\(operation.name): \(ratio)")
        }
        #expect(fit.notes.isEmpty)
        #expect(Set(fit.changes.map(\.key)) == ["cost.fault.entry", "cost.fault.exit", "cost.kernel.fault", "cost.frame.alloc",
                                                 "cost.frame.zero", "cost.frame.copy", "cost.fork.pte"])
    }

    @Test("a COW copy cheaper than demand zero falls back to the second rule and still fits both")
    func fittingFallback() throws {
        let preset = try skylake()
        var measured = ModelProbe.predictAll(preset)
        measured[.demandZero] = (measured[.cowCopy] ?? 0) * 1.6
        measured[.copy] = 1000
        let fit = Fitting.fit(preset, measuredCycles: measured)
        let predicted = ModelProbe.predictAll(fit.configuration)
        #expect(fit.notes.contains { $0.contains("rule 2") })
        #expect(cost(fit.configuration, .frameCopy) == 1000)
        for operation in [Calibration.Operation.demandZero, .cowCopy] {
            #expect(abs((predicted[operation] ?? 0) / (measured[operation] ?? 1) - 1) < 0.02, "\(operation.name)")
        }
    }

    @Test("with nothing measured the fit changes nothing")
    func nothingMeasured() throws {
        let preset = try skylake()
        let fit = Fitting.fit(preset, measuredCycles: [:])
        #expect(fit.changes.isEmpty)
        #expect(fit.configuration == preset)
    }
}

@Suite("The calibration report and the fitted configuration file, from synthetic measurements")
struct CalibrationReportTests {
    static let host = HostDescription(summary: "a synthetic host")

    func result(unavailable: [Calibration.Operation] = []) throws -> Calibration.Result {
        let preset = try #require(CPUPreset.named("skylake"))
        let base = try preset.apply(to: Configuration())
        let measuredHost = try skylake([.faultEntry: 1500, .faultExit: 620, .kernelFault: 900, .frameAlloc: 1200])
        return Calibration.Result(preset: preset, base: base, host: Self.host, plan: HostProbe.Plan(quick: true),
                                  measured: synthetic(measuredHost, gigahertz: preset.gigahertz, unavailable: unavailable))
    }

    @Test("the report has a row per operation with the measured time, both models and their ratios")
    func reportRows() throws {
        let report = try result().report
        #expect(report.hasPrefix("mmusim calibrate: a synthetic host\npreset skylake ("))
        #expect(report.contains("model ns (skylake)"))
        #expect(report.contains("unfitted preset skylake vs this host: off by a factor of"))
        for operation in Calibration.Operation.allCases {
            let cells = try #require(row(report, operation), "no row for \(operation.name)")
            #expect(cells.count == 5, "\(operation.name): \(cells)")
            #expect((Double(cells[0]) ?? 0) > 0, "\(operation.name) measured")
            #expect((Double(cells[1]) ?? 0) > 0, "\(operation.name) model")
            #expect((Double(cells[3]) ?? 0) > 0, "\(operation.name) fitted model")
        }
        // The fitted model matches the faults it was fitted to.
        for operation in [Calibration.Operation.cowCopy, .cowReuse, .demandZero, .zeroPage] {
            let cells = try #require(row(report, operation))
            #expect(cells[4] == "1.00", "\(operation.name): fitted ratio \(cells[4])")
        }
        #expect(report.contains("fitted keys (cycles at 3.00 GHz, preset -> fitted):\n"))
    }

    @Test("an unavailable measurement is a row that says so, with its reason as a note")
    func unavailableRow() throws {
        let report = try result(unavailable: [.shootdown]).report
        #expect(row(report, .shootdown)?.first == "unavailable")
        #expect(row(report, .shootdown)?[2] == "-")
        #expect(report.contains("note: shootdown, 1 target: unavailable: refused in this test\n"))
    }

    @Test("the fitted configuration file reads back as --config reads it, with the fitted values")
    func configurationFile() throws {
        let calibration = try result()
        let text = calibration.configurationFile
        #expect(text.hasPrefix("# mmusim configuration fitted by `mmusim calibrate --cpu skylake` (docs/calibration.md)\n# host: a synthetic host\n"))
        var read = Configuration()
        #expect(throws: Never.self) { try ConfigFileReader.apply(text, file: "fitted.conf", to: &read) }
        #expect(read == calibration.fit.configuration)
        #expect(!calibration.fit.changes.isEmpty)
        for change in calibration.fit.changes {
            #expect(text.contains("\n\(change.key) = \(change.to)\n"), "\(change.key)")
        }
    }

    @Test("the file is written whole, and an unwritable path is refused with the reason")
    func writing() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mmusim-calibration-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(Calibration.write("cores = 2\n", to: directory + "/fitted.conf") == nil)
        #expect(try String(contentsOfFile: directory + "/fitted.conf", encoding: .utf8) == "cores = 2\n")
        #expect(Calibration.write("x", to: directory + "/no/such/dir/f.conf") == "\(directory)/no/such/dir/f.conf: cannot write: No such file or directory")
    }

    @Test("numbers format without Foundation")
    func formatting() {
        #expect(Calibration.format(1.005, 2) == "1.01" || Calibration.format(1.005, 2) == "1.00")
        #expect(Calibration.format(0.04, 1) == "0.0")
        #expect(Calibration.format(1234.56, 1) == "1234.6")
        #expect(Calibration.format(-2.5, 2) == "-2.50")
        #expect(Calibration.format(7, 0) == "7")
    }
}

/// The one suite that runs the real host probes (mmap, fork, a second
/// thread): it checks only that every row is well formed, never a time.
/// `.ci/sanitizers` skips it.
@Suite("The host probes", .serialized)
struct HostProbeTests {
    @Test("a quick run gives every operation a positive time or says why it is unavailable")
    func wellFormedRows() {
        let measured = HostProbe.measureAll(HostProbe.Plan(quick: true))
        #expect(Set(measured.keys) == Set(Calibration.Operation.allCases))
        for (operation, measurement) in measured {
            if let nanoseconds = measurement.nanoseconds {
                #expect(nanoseconds > 0 && nanoseconds.isFinite, "\(operation.name): \(nanoseconds)")
            } else {
                #expect(measurement.problem?.hasPrefix("unavailable: ") == true, "\(operation.name): \(String(describing: measurement.problem))")
            }
        }
    }

    @Test("a quick THP run gives every THP operation a positive time or says why it is unavailable or skipped")
    func wellFormedHugeRows() {
        let measured = HostProbe.measureHugePages(HostProbe.Plan(quick: true))
        #expect(Set(measured.keys) == Set(Calibration.HugeOperation.allCases))
        for (operation, measurement) in measured {
            if let nanoseconds = measurement.time.nanoseconds {
                #expect(nanoseconds > 0 && nanoseconds.isFinite, "\(operation.name): \(nanoseconds)")
            } else {
                let problem = measurement.time.problem ?? ""
                #expect(problem.hasPrefix("unavailable: ") || problem.hasPrefix("skipped: "), "\(operation.name): \(problem)")
            }
        }
    }

    @Test("the host description names the CPUs")
    func hostDescription() {
        #expect(HostDescription.current().summary.contains(" CPUs"))
    }
}
