#if canImport(Glibc)
import Glibc
#endif
import MMUKernel
import MMUTrace

/// The table `mmusim calibrate` prints: each operation measured, predicted
/// under the preset and under the fitted configuration, with the ratios; then
/// how far off the preset is, the fitted keys and the notes.
extension Calibration {
    static func report(host: HostDescription, preset: CPUPreset, plan: HostProbe.Plan,
                       measured: [Operation: HostProbe.Measurement],
                       presetModel: [Operation: Double], fittedModel: [Operation: Double], fit: Fitting.Result,
                       hugePages: String = "") -> String {
        let g = preset.gigahertz
        var text = "mmusim calibrate: \(host.summary)\n"
        text += "preset \(preset.name) (\(preset.summary)); model cycles convert to ns at \(format(g, 2)) GHz\n"
        text += "measured: thread CPU time (CLOCK_THREAD_CPUTIME_ID), median over batches of \(HostProbe.batch) pages (blocks, \(HostProbe.batch / 4) shootdown rounds) of \(plan.runs) runs after a warm-up; "
            + "\(plan.pages) pages per fault probe, fork of \(plan.forkMiB) MiB (median of \(2 * plan.runs + 1) forks); THP off on every probe mapping (MADV_NOHUGEPAGE) but the THP rows'\n\n"
        let header = ["operation", "measured ns", "model ns (\(preset.name))", "ratio", "model ns (fitted)", "ratio"]
        var rows: [[String]] = []
        for operation in Operation.allCases {
            let m = measured[operation]?.nanoseconds
            let p = presetModel[operation].map { $0 / g }
            let f = fittedModel[operation].map { $0 / g }
            func ratio(_ model: Double?) -> String {
                guard let model, let m, m > 0 else { return "-" }
                return format(model / m, 2)
            }
            rows.append([operation.name, m.map { format($0, 1) } ?? "unavailable",
                         p.map { format($0, 1) } ?? "-", ratio(p), f.map { format($0, 1) } ?? "-", ratio(f)])
        }
        text += table(header, rows)
        text += "\nratio = model / measured (below 1: the model is faster than this host).\n"
        text += hugePages

        // How far off the unfitted preset is.
        var factors: [(Operation, Double)] = []
        for operation in Operation.allCases {
            guard let m = measured[operation]?.nanoseconds, m > 0, let p = presetModel[operation], p > 0 else { continue }
            let r = p / g / m
            factors.append((operation, max(r, 1 / r)))
        }
        if let worst = factors.max(by: { $0.1 < $1.1 }) {
            let logMean = factors.map { log($0.1) }.reduce(0, +) / Double(factors.count)
            text += "unfitted preset \(preset.name) vs this host: off by a factor of \(format(exp(logMean), 2)) on geometric average over \(factors.count) rows, "
                + "at worst \(format(worst.1, 2)) (\(worst.0.name))\n"
            let faults: [Operation] = [.demandZero, .zeroPage, .cowReuse, .cowCopy]
            let faultFactors = factors.filter { faults.contains($0.0) }.map { "\($0.0.name) \(format($0.1, 2))x" }
            if !faultFactors.isEmpty { text += "  fault rows: " + faultFactors.joined(separator: ", ") + "\n" }
        }
        if !fit.changes.isEmpty {
            text += "fitted keys (cycles at \(format(g, 2)) GHz, preset -> fitted):\n"
            let width = fit.changes.map(\.key.count).max() ?? 0
            for change in fit.changes {
                text += "  " + change.key + String(repeating: " ", count: width - change.key.count)
                    + "  \(change.from) -> \(change.to)\n"
            }
        }
        text += "not fitted: 4 KiB copy (frame.copy also carries the COW copy's bookkeeping), DONTNEED + touch, "
            + "shootdown (cost.syscall, cost.invlpg and cost.ipi.* keep the preset's values)\n"
        var notes: [String] = []
        for operation in Operation.allCases {
            if let problem = measured[operation]?.problem { notes.append("\(operation.name): \(problem)") }
        }
        notes += fit.notes
        for note in notes { text += "note: \(note)\n" }
        return text
    }

    /// The THP rows: each operation's time per 2 MiB beside the model's,
    /// with what the kernel counted, and how `cost.thp.split` was derived.
    static func hugePageSection(preset: CPUPreset, plan: HostProbe.Plan, measured: [HugeOperation: HostProbe.HugeMeasurement],
                                presetModel: [HugeOperation: Double], fittedModel: [HugeOperation: Double],
                                fit: Fitting.Result) -> String {
        let g = preset.gigahertz
        var text = "\ntransparent huge pages: one access per 2 MiB of a 2 MiB-aligned MADV_HUGEPAGE mapping, "
            + "\(plan.hugePages) spans per run, median over \(plan.runs) runs after a warm-up; counts are kernel counter deltas over the timed runs\n"
        let header = ["THP operation", "measured ns", "model ns (\(preset.name))", "ratio", "model ns (fitted)", "ratio", "counted"]
        var rows: [[String]] = []
        for operation in HugeOperation.allCases {
            let m = measured[operation]?.time.nanoseconds
            let p = presetModel[operation].map { $0 / g }
            let f = fittedModel[operation].map { $0 / g }
            func ratio(_ model: Double?) -> String {
                guard let model, let m, m > 0 else { return "-" }
                return format(model / m, 2)
            }
            let status = measured[operation].map { $0.time.nanoseconds == nil ? ($0.time.problem?.hasPrefix("skipped") == true ? "skipped" : "unavailable") : "" }
            let counted = measured[operation].map { $0.counts.operations > 0 ? $0.counts.summary : "-" } ?? "not measured"
            rows.append([operation.name, m.map { format($0, 1) } ?? (status ?? "not measured"),
                         p.map { format($0, 1) } ?? "-", ratio(p), f.map { format($0, 1) } ?? "-", ratio(f), counted])
        }
        text += table(header, rows)
        if let derivation = fit.thpSplit { text += derivation + " (at \(format(g, 2)) GHz)\n" }
        for operation in HugeOperation.allCases {
            if let problem = measured[operation]?.time.problem { text += "note: \(operation.name): \(problem)\n" }
        }
        return text
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String { TextTable.render(header, rows) }

    /// `value` with `decimals` digits after the point (no Foundation).
    static func format(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = value < 0
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9.0e18 else { return String(value) }
        let whole = UInt64(scaled)
        let factor = UInt64(scale)
        var text = String(whole / factor)
        if decimals > 0 {
            let fraction = String(whole % factor)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return (negative && whole != 0 ? "-" : "") + text
    }

}
