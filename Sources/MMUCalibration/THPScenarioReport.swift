import MMUKernel
import MMUTrace

/// `mmusim scenario thp --report`: the `thp` scenario run phase by phase
/// through the model, each phase's faults and cycles beside what the same
/// faults take on this host by the THP probes (HostTHPProbe.swift).
public enum THPScenarioReport {
    /// The statistics each phase reports, in column order.
    public static let statistics = ["faults.pf", "faults.thp", "thp.splits", "faults.cow_copy", "faults.cow_reuse",
                                    "faults.huge_zero_page", "cycles"]

    /// The THP probe that times a phase's faults, and the statistic that
    /// counts them (nil: no probe for this phase).
    static func probe(for phase: String) -> (operation: Calibration.HugeOperation, count: String)? {
        switch phase {
        case "parent writes 64 MiB": return (.thpFault, "faults.thp")
        case "child writes 16 huge pages": return (.thpSplitCopy, "thp.splits")
        case "parent rewrites 64 MiB": return (.thpReuse, "faults.cow_reuse")
        case "huge-zero reads": return (.hugeZeroRead, "faults.huge_zero_page")
        case "writes after huge-zero reads": return (.hugeZeroWrite, "faults.thp")
        default: return nil
        }
    }

    /// The model's phases under `base` (default costs unless given).
    public static func phases(base: Configuration = Configuration()) throws(TraceError) -> [Scenario.PhaseResult] {
        try Scenario.thp.runPhases(statistics: statistics, base: base)
    }

    /// The Linux cell of `phase`: its probed faults × the probe's ns per
    /// fault, in µs, or "n/a" with the reason.
    static func linux(_ phase: Scenario.PhaseResult, _ host: [Calibration.HugeOperation: HostProbe.HugeMeasurement]?,
                      unmeasured: String) -> String {
        guard let (operation, count) = probe(for: phase.name) else {
            return (phase.statistics["faults.pf"] ?? 0) == 0 ? "n/a (no fault)" : "n/a (not probed)"
        }
        guard let host else { return "n/a (\(unmeasured))" }
        guard let row = host[operation], let ns = row.time.nanoseconds else {
            return "n/a (\(host[operation]?.time.problem ?? "not measured"))"
        }
        let faults = Double(phase.statistics[count] ?? 0)
        return Calibration.format(faults * ns / 1000, 1)
    }

    /// The table: one row per phase, the model's counts and cycles, and the
    /// Linux time of the phase's faults (from `host`, nil when not measured
    /// because of `unmeasured`).
    public static func table(_ phases: [Scenario.PhaseResult], host: [Calibration.HugeOperation: HostProbe.HugeMeasurement]?,
                             unmeasured: String = "not measured") -> String {
        let header = ["phase"] + statistics.map { $0 == "cycles" ? "cycles (model)" : $0 } + ["Linux faults (µs)"]
        var rows: [[String]] = []
        for phase in phases {
            rows.append([phase.name] + statistics.map { String(phase.statistics[$0] ?? 0) } + [linux(phase, host, unmeasured: unmeasured)])
        }
        var text = "mmusim scenario thp: phases run through the model (default costs); Linux: the phase's faults x "
            + "this host's THP probe time per fault (mmusim calibrate, docs/calibration.md)\n"
        text += Calibration.table(header, rows)
        if let host {
            for operation in Calibration.HugeOperation.allCases {
                guard let row = host[operation] else { continue }
                let time = row.time.nanoseconds.map { Calibration.format($0 / 1000, 1) + " µs" } ?? (row.time.problem ?? "unavailable")
                text += "probe: \(operation.name): \(time); \(row.counts.summary)\n"
            }
        }
        return text
    }
}
