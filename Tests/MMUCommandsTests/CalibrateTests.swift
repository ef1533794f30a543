import Foundation
import Testing
import MMUHardware
import MMUKernel
import MMUTrace
@testable import MMUCommands

/// Runs `mmusim calibrate ARGS` in-process and captures what it prints.
private func calibrate(_ arguments: [String]) -> (status: Int32, out: String, err: String) {
    final class Box: @unchecked Sendable { var out = "", err = "" }
    let box = Box()
    let status = Calibration.main(arguments, console: Console(out: { box.out += $0 }, err: { box.err += $0 }))
    return (status, box.out, box.err)
}

/// The table row of `operation`: measured, model (preset), ratio, model (fitted), ratio.
private func row(_ output: String, _ operation: Calibration.Operation) -> [String]? {
    for line in output.split(separator: "\n") where line.hasPrefix(operation.name + " ") {
        return line.dropFirst(operation.name.count).split(separator: " ").map(String.init)
    }
    return nil
}

@Suite("mmusim calibrate", .serialized)
struct CalibrateTests {
    @Test("a quick run prints every row, fits the fault rows within 2x and writes a config file")
    func quickRun() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mmusim-calibrate-\(UUID().uuidString).conf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The fit needs the fault rows measured; on a loaded host a probe can be
        // refused (a fork, a second CPU), so try the quick run up to three times.
        let needed: [Calibration.Operation] = [.zeroPage, .demandZero, .cowReuse, .cowCopy, .zero]
        var result = calibrate(["--quick", "--write", path])
        for _ in 0..<2 where !needed.allSatisfy({ row(result.out, $0).map { Double($0[0]) != nil } ?? false }) {
            result = calibrate(["--quick", "--write", path])
        }
        #expect(result.status == 0)
        #expect(result.err.isEmpty)
        #expect(result.out.contains("model ns (skylake)"))
        #expect(result.out.contains("unfitted preset skylake vs this host: off by a factor of"))

        for operation in Calibration.Operation.allCases {
            let cells = try #require(row(result.out, operation), "no row for \(operation.name)")
            #expect(cells.count == 5, "\(operation.name): \(cells)")
            guard cells.count == 5 else { continue }
            // The other probes (fork of many MiB, a shootdown that needs a free
            // second CPU) may be refused by a loaded host: the row says so.
            if !needed.contains(operation) && cells[0] == "unavailable" { continue }
            let measured = try #require(Double(cells[0]), "\(operation.name) measured '\(cells[0])'")
            #expect(measured > 0, "\(operation.name)")
            #expect((Double(cells[1]) ?? 0) > 0, "\(operation.name) model")
            #expect((Double(cells[3]) ?? 0) > 0, "\(operation.name) fitted model")
        }
        for operation in [Calibration.Operation.cowCopy, .cowReuse, .demandZero] {
            let cells = try #require(row(result.out, operation))
            let ratio = try #require(Double(cells[4]), "\(operation.name) fitted ratio '\(cells[4])'")
            #expect(ratio >= 0.5 && ratio <= 2.0, "\(operation.name): fitted model / measured = \(ratio)")
        }

        let text = try String(contentsOfFile: path, encoding: .utf8)
        var fitted = Configuration()
        var keys = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(parts.count == 2, "not KEY = VALUE: '\(line)'")
            guard parts.count == 2 else { continue }
            #expect(Configuration.keys.contains(parts[0]), "unknown key '\(parts[0])'")
            var probe = Configuration()
            #expect(throws: Never.self) { try probe.set(parts[0], parts[1]) }
            try? fitted.set(parts[0], parts[1])
            keys += 1
        }
        #expect(keys >= 7)
        // It reads as --config reads it, and holds the fitted values the table used.
        var read = Configuration()
        #expect(throws: Never.self) { try ConfigFileReader.apply(text, file: path, to: &read) }
        #expect(read == fitted)
        for line in result.out.split(separator: "\n") where line.hasPrefix("  cost.") {
            let words = line.split(separator: " ")
            guard let key = CostKey(name: String(words[0])), let value = UInt64(words.last ?? "") else { continue }
            #expect(read.costs[key] == value, "\(key.name)")
        }
    }

    @Test("the model's probes differ as decisions item 12 says")
    func modelProbes() {
        var configuration = Configuration()
        configuration.costs[.frameAlloc] = 250
        configuration.costs[.frameZero] = 1300
        configuration.costs[.frameCopy] = 2600
        configuration.costs[.pteWrite] = 5
        configuration.costs[.invlpg] = 260
        configuration.costs[.forkPTE] = 100
        let model = ModelProbe.predictAll(configuration)
        // Same walks and retries: the difference is the handler's extra work
        // (a COW copy's INVLPG also drops the paging-structure caches, item 5,
        // so the next walks read more entries).
        let demandZeroExtra: Double = model[.demandZero]! - model[.zeroPage]!
        let copyExtra: Double = model[.cowCopy]! - model[.cowReuse]!
        #expect(demandZeroExtra == 1550)
        #expect(copyExtra >= 2865 && copyExtra < 2865 + 400)
        // The zero-page fault is the fault path, a PTE write and the walks around it.
        let path = Double(configuration.costs[.faultEntry] + configuration.costs[.kernelFault] + configuration.costs[.faultExit])
        let zeroPage = model[.zeroPage] ?? 0
        #expect(zeroPage > path + 5 && zeroPage < path + 200)
        #expect(model[.zero] == 1300 && model[.copy] == 2600)
        // 256 PTEs per MiB, plus a share of the page-table pages.
        let fork = model[.forkPerMiB] ?? 0
        #expect(fork >= 25_600 && fork < 27_600)
        // One remote target: send, two one-way latencies, the handler and its INVLPG at least.
        let costs = configuration.costs
        let ipi = Double(costs[.ipiSend]) + 2 * Double(costs[.ipiLatency]) + Double(costs[.ipiHandler])
        #expect((model[.shootdown] ?? 0) >= ipi)
    }

    @Test("fitting recovers a configuration from its own predictions")
    func fittingRecoversTargets() throws {
        let preset = try #require(CPUPreset.named("skylake")).apply(to: Configuration())
        var host = preset
        host.costs[.faultEntry] = 1500
        host.costs[.faultExit] = 620
        host.costs[.kernelFault] = 900
        host.costs[.frameAlloc] = 1200
        host.costs[.frameZero] = 700
        host.costs[.frameCopy] = 1800
        host.costs[.forkPTE] = 60
        let measured = ModelProbe.predictAll(host)
        let fit = Fitting.fit(preset, measuredCycles: measured)
        let predicted = ModelProbe.predictAll(fit.configuration)
        for operation in [Calibration.Operation.demandZero, .zeroPage, .cowReuse, .cowCopy, .zero, .forkPerMiB] {
            let ratio = predicted[operation]! / measured[operation]!
            #expect(abs(ratio - 1) < 0.02, "\(operation.name): \(ratio)")
        }
        #expect(fit.notes.isEmpty)
        #expect(Set(fit.changes.map(\.key)) == ["cost.fault.entry", "cost.fault.exit", "cost.kernel.fault", "cost.frame.alloc",
                                                 "cost.frame.zero", "cost.frame.copy", "cost.fork.pte"])
    }

    @Test("a COW copy cheaper than demand zero falls back to the second rule and still fits both")
    func fittingFallback() throws {
        let preset = try #require(CPUPreset.named("skylake")).apply(to: Configuration())
        var measured = ModelProbe.predictAll(preset)
        measured[.demandZero] = measured[.cowCopy]! * 1.6
        measured[.copy] = 1000
        let fit = Fitting.fit(preset, measuredCycles: measured)
        let predicted = ModelProbe.predictAll(fit.configuration)
        #expect(fit.notes.contains { $0.contains("rule 2") })
        #expect(fit.configuration.costs[.frameCopy] == 1000)
        for operation in [Calibration.Operation.demandZero, .cowCopy] {
            #expect(abs(predicted[operation]! / measured[operation]! - 1) < 0.02, "\(operation.name)")
        }
    }

    @Test("bad arguments exit 2 with a message")
    func badArguments() {
        for arguments in [["--cpu", "pentium"], ["--bogus"], ["--write"], ["--cpu"]] {
            let result = calibrate(arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.out.isEmpty && !result.err.isEmpty, "\(arguments)")
        }
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
