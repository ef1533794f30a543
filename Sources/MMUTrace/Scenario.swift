import MMUKernel

/// Built-in trace generators for comparisons whose shape depends on a
/// parameter no fixed trace can follow (a trace names its cores).
public enum Scenario: String, CaseIterable, Sendable {
    /// One process with a thread on every core; each round every thread writes
    /// one page (so every core caches it), then core 0 unmaps it. A timer tick
    /// reaches every other core every `tickEvery` rounds.
    case threadsUnmap = "threads-unmap"
    /// `threads-unmap` with its process inside a VM (VM 1, 65,536 guest
    /// frames): the same unmap storm, virtualised.
    case vmThreadsUnmap = "vm-threads-unmap"
    /// Transparent huge pages through fork (`thp madvise`, one core): a
    /// 64 MiB region advised `hugepage` first written by the parent, read and
    /// partly written by a fork child, rewritten by the parent once the child
    /// exited; then a huge-zero read and write on another region. Its phases
    /// (`phases`) are what `mmusim scenario thp --report` prints.
    case thp
    /// Two VMs boot the same image (the same pages, the same bytes), `ksm`
    /// merges them, then one guest rewrites a quarter of it; `--report` runs
    /// it phase by phase beside the same workload run natively (one process
    /// writes the image and forks; the child rewrites the quarter).
    case vmCow = "vm-cow"

    public static let defaultRounds = 64
    public static let tickEvery = 4

    public var summary: String {
        switch self {
        case .threadsUnmap:
            return "one process, a thread per core; each round all threads write a page, core 0 unmaps it; ticks every \(Self.tickEvery) rounds"
        case .vmThreadsUnmap:
            return "threads-unmap inside a virtual machine: the same process and rounds, in VM 1"
        case .thp:
            return "thp madvise, one core: 64 MiB advised hugepage written, fork, the child reads it and writes 16 huge pages, exits, "
                + "the parent rewrites it; a huge-zero read then write (--cores and --rounds do not apply)"
        case .vmCow:
            return "two VMs on two cores boot the same \(Self.imagePages)-page image, ksm merges it, VM 2 rewrites a quarter; "
                + "--report runs it beside the native fork equivalent (--cores and --rounds do not apply)"
        }
    }

    /// The trace text for `cores` cores and `rounds` rounds.
    public func trace(cores: Int, rounds: Int = Scenario.defaultRounds) -> String {
        if self == .thp || self == .vmCow { return phases.map { $0.lines.joined(separator: "\n") + "\n" }.joined() }
        var lines = ["# mmusim scenario \(rawValue): \(summary)", "set cores \(cores)"]
        lines += self == .vmThreadsUnmap ? ["vm 1 65536", "process 1 vm 1"] : ["process 1"]
        for c in 0..<cores { lines.append("switch \(c) 1") }
        let base = 0x1000_0000
        lines.append("map 0 \(hex(base)) \(rounds) rw")
        for round in 0..<rounds {
            let address = hex(base + round * 4096)
            for c in 0..<cores { lines.append("w \(c) \(address) \(round)") }
            lines.append("unmap 0 \(address) 1")
            if round % Self.tickEvery == Self.tickEvery - 1 {
                for c in 1..<max(1, cores) { lines.append("tick \(c)") }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func hex(_ value: Int) -> String { Self.hex(value) }
    static func hex(_ value: Int) -> String { "0x" + String(value, radix: 16) }

    // MARK: Phases

    /// A named stretch of a scenario's trace.
    public struct Phase: Sendable, Equatable {
        public var name: String
        /// Its lines, comments included (the first phase holds the header and settings).
        public var lines: [String]
    }

    /// The trace in phases (one phase, "all", for a scenario without phases).
    public var phases: [Phase] {
        switch self {
        case .threadsUnmap, .vmThreadsUnmap:
            return [Phase(name: "all", lines: trace(cores: 16).split(separator: "\n").map(String.init))]
        case .thp: return Self.thpPhases
        case .vmCow: return Self.vmCowPhases
        }
    }

    /// The vm-cow image: 64 pages at 0x10000000, page i holding i + 1.
    public static let imageBase = 0x1000_0000
    public static let imagePages = 64

    static func imageLines(_ kind: String, core: Int, every step: Int = 1, value: (Int) -> Int?) -> [String] {
        stride(from: 0, to: imagePages, by: step).map { page in
            "\(kind) \(core) \(hex(imageBase + page * 4096))" + (value(page).map { kind == "r" ? " =\($0)" : " \($0)" } ?? "")
        }
    }

    /// The value of image page `page` after VM 2 (or the fork child) rewrote every fourth page.
    static func rewritten(_ page: Int) -> Int { page % 4 == 0 ? 0x1000 + page : page + 1 }

    static var vmCowPhases: [Phase] {
        [
            Phase(name: "setup", lines: [
                "# mmusim scenario vm-cow: \(Scenario.vmCow.summary)",
                "# phases: mmusim scenario vm-cow --report",
                "set cores 2", "set frames 65536",
                "vm 1 4096", "vm 2 4096", "process 1 vm 1", "process 2 vm 2", "switch 0 1", "switch 1 2",
                "map 0 \(hex(imageBase)) \(imagePages) rw", "map 1 \(hex(imageBase)) \(imagePages) rw",
            ]),
            Phase(name: "VM 1 boots the image", lines: ["# phase: VM 1 boots the image"] + imageLines("w", core: 0) { $0 + 1 }),
            Phase(name: "VM 2 boots the same image", lines: ["# phase: VM 2 boots the same image"] + imageLines("w", core: 1) { $0 + 1 }),
            Phase(name: "ksm merges them", lines: ["# phase: ksm merges them", "ksm 0"]),
            Phase(name: "VM 2 rewrites a quarter", lines: ["# phase: VM 2 rewrites a quarter"]
                + imageLines("w", core: 1, every: 4) { rewritten($0) }),
            Phase(name: "both read the image", lines: ["# phase: both read the image"]
                + imageLines("r", core: 0) { $0 + 1 } + imageLines("r", core: 1) { rewritten($0) }),
        ]
    }

    /// The same workload without VMs: one process writes the image and forks
    /// (the child shares every page, as the merged VMs do); the child rewrites
    /// a quarter; both read it.
    public static var vmCowNativePhases: [Phase] {
        [
            Phase(name: "setup", lines: [
                "set cores 2", "set frames 65536", "process 1", "switch 0 1", "map 0 \(hex(imageBase)) \(imagePages) rw",
            ]),
            Phase(name: "process 1 writes the image", lines: imageLines("w", core: 0) { $0 + 1 }),
            Phase(name: "fork: process 2 shares it", lines: ["fork 0 2", "switch 1 2"]),
            Phase(name: "process 2 rewrites a quarter", lines: imageLines("w", core: 1, every: 4) { rewritten($0) }),
            Phase(name: "both read the image", lines: imageLines("r", core: 0) { $0 + 1 } + imageLines("r", core: 1) { rewritten($0) }),
        ]
    }

    /// 64 MiB (32 huge pages) at 0x40000000; the huge-zero region, 4 huge pages, at 0x50000000.
    public static let thpRegion = 0x4000_0000
    public static let thpZeroRegion = 0x5000_0000
    public static let thpHugePages = 32
    public static let thpZeroHugePages = 4
    /// Every access directive of a pass over a region touches one page in
    /// `thpStride` (64 KiB): 32 accesses per 2 MiB.
    public static let thpStride = 16

    static var thpPhases: [Phase] {
        let pagesPerHuge = 512
        func pass(_ kind: String, _ base: Int, hugePages: Int, value: Int?) -> [String] {
            stride(from: 0, to: hugePages * pagesPerHuge, by: thpStride).map { page in
                "\(kind) 0 \(hex(base + page * 4096))" + (value.map { " \($0)" } ?? "")
            }
        }
        let pages = thpHugePages * pagesPerHuge
        let zeroPages = thpZeroHugePages * pagesPerHuge
        // Huge pages 0, 2, ..., 30, each at its page 5.
        let childWrites = (0..<16).map { i in "w 0 \(hex(thpRegion + (2 * i * pagesPerHuge + 5) * 4096)) 2" }
        return [
            Phase(name: "setup", lines: [
                "# mmusim scenario thp: \(Scenario.thp.summary)",
                "# phases: mmusim scenario thp --report",
                "set cores 1", "set frames 65536", "set thp madvise", "set zero_page on", "set fork cow",
                "process 1", "switch 0 1",
                "map 0 \(hex(thpRegion)) \(pages) rw", "madvise 0 \(hex(thpRegion)) \(pages) hugepage",
                "map 0 \(hex(thpZeroRegion)) \(zeroPages) rw", "madvise 0 \(hex(thpZeroRegion)) \(zeroPages) hugepage",
            ]),
            Phase(name: "parent writes 64 MiB", lines: ["# phase: parent writes 64 MiB"] + pass("w", thpRegion, hugePages: thpHugePages, value: 1)),
            Phase(name: "fork", lines: ["# phase: fork", "fork 0 2", "switch 0 2"]),
            Phase(name: "child reads 64 MiB", lines: ["# phase: child reads 64 MiB"] + pass("r", thpRegion, hugePages: thpHugePages, value: nil)),
            Phase(name: "child writes 16 huge pages", lines: ["# phase: child writes 16 huge pages"] + childWrites),
            Phase(name: "child exits", lines: ["# phase: child exits", "exit 0", "switch 0 1"]),
            Phase(name: "parent rewrites 64 MiB", lines: ["# phase: parent rewrites 64 MiB"] + pass("w", thpRegion, hugePages: thpHugePages, value: 3)),
            Phase(name: "huge-zero reads", lines: ["# phase: huge-zero reads"] + pass("r", thpZeroRegion, hugePages: thpZeroHugePages, value: nil)),
            Phase(name: "writes after huge-zero reads", lines: ["# phase: writes after huge-zero reads"]
                + pass("w", thpZeroRegion, hugePages: thpZeroHugePages, value: 4)),
        ]
    }

    /// What one phase changed: each statistic asked for, as a delta.
    public struct PhaseResult: Sendable, Equatable {
        public var name: String
        public var statistics: [String: UInt64]
    }

    /// Runs the scenario's trace (read with `base` and `overrides`, as `run`
    /// reads a file) on a fresh system and takes `statistics` after each
    /// phase's last line: each phase's deltas, in order.
    public func runPhases(statistics names: [String], base: Configuration = Configuration(),
                          overrides: [(key: String, value: String)] = []) throws(TraceError) -> [PhaseResult] {
        try Self.runPhases(phases, name: rawValue, statistics: names, base: base, overrides: overrides)
    }

    /// Runs `phases` as one trace and takes `names` after each phase's last line.
    public static func runPhases(_ phases: [Phase], name: String, statistics names: [String], base: Configuration = Configuration(),
                                 overrides: [(key: String, value: String)] = []) throws(TraceError) -> [PhaseResult] {
        let text = phases.map { $0.lines.joined(separator: "\n") + "\n" }.joined()
        let trace = try MMTReader(file: "scenario \(name)", base: base, overrides: overrides).read(text)
        var runner = TraceRunner(trace: trace)
        var results: [PhaseResult] = []
        var last = Dictionary(uniqueKeysWithValues: names.map { ($0, UInt64(0)) })
        var lines = trace.lines[...]
        var end = 0
        for phase in phases {
            end += phase.lines.count
            while let line = lines.first, line.line <= end {
                runner.execute(line)
                lines.removeFirst()
            }
            var deltas: [String: UInt64] = [:]
            for name in names {
                let now = runner.system.statistic(name) ?? 0
                deltas[name] = now &- (last[name] ?? 0)
                last[name] = now
            }
            results.append(PhaseResult(name: phase.name, statistics: deltas))
        }
        return results
    }
}

/// `mmusim scenario vm-cow --report`: each phase of the VM run beside the
/// native run's: faults, EPT violations, copies, walk references, cycles.
public enum VMCowReport {
    public static let statistics = ["faults.pf", "faults.ept", "faults.ept_cow_copy", "faults.cow_copy", "ksm.merged",
                                    "walk.refs", "walk.nested_refs", "core0.cycles", "core1.cycles"]

    public static func table() throws(TraceError) -> String {
        let guest = try Scenario.vmCow.runPhases(statistics: statistics)
        let native = try Scenario.runPhases(Scenario.vmCowNativePhases, name: "vm-cow (native)", statistics: statistics)
        func render(_ title: String, _ results: [Scenario.PhaseResult]) -> String {
            let shown = statistics.filter { !$0.hasSuffix(".cycles") }
            let header = ["phase"] + shown + ["cycles (both cores)"]
            let rows = results.filter { $0.name != "setup" }.map { result in
                [result.name] + shown.map { String(result.statistics[$0] ?? 0) }
                    + [String((result.statistics["core0.cycles"] ?? 0) + (result.statistics["core1.cycles"] ?? 0))]
            }
            return title + "\n" + TextTable.render(header, rows)
        }
        return render("In two VMs (ksm merges the image; host copy-on-write breaks it):", guest) + "\n"
            + render("Natively (fork shares the image; copy-on-write breaks it):", native)
    }
}
