import MMUKernel

/// Built-in trace generators for comparisons whose shape depends on a
/// parameter no fixed trace can follow (a trace names its cores).
public enum Scenario: String, CaseIterable, Sendable {
    /// One process with a thread on every core; each round every thread writes
    /// one page (so every core caches it), then core 0 unmaps it. A timer tick
    /// reaches every other core every `tickEvery` rounds.
    case threadsUnmap = "threads-unmap"
    /// Transparent huge pages through fork (`thp madvise`, one core): a
    /// 64 MiB region advised `hugepage` first written by the parent, read and
    /// partly written by a fork child, rewritten by the parent once the child
    /// exited; then a huge-zero read and write on another region. Its phases
    /// (`phases`) are what `mmusim scenario thp --report` prints.
    case thp

    public static let defaultRounds = 64
    public static let tickEvery = 4

    public var summary: String {
        switch self {
        case .threadsUnmap:
            return "one process, a thread per core; each round all threads write a page, core 0 unmaps it; ticks every \(Self.tickEvery) rounds"
        case .thp:
            return "thp madvise, one core: 64 MiB advised hugepage written, fork, the child reads it and writes 16 huge pages, exits, "
                + "the parent rewrites it; a huge-zero read then write (--cores and --rounds do not apply)"
        }
    }

    /// The trace text for `cores` cores and `rounds` rounds.
    public func trace(cores: Int, rounds: Int = Scenario.defaultRounds) -> String {
        if self == .thp { return phases.map { $0.lines.joined(separator: "\n") + "\n" }.joined() }
        var lines = ["# mmusim scenario \(rawValue): \(summary)", "set cores \(cores)", "process 1"]
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
        case .threadsUnmap: return [Phase(name: "all", lines: trace(cores: 16).split(separator: "\n").map(String.init))]
        case .thp: return Self.thpPhases
        }
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
        let phases = self.phases
        let text = phases.map { $0.lines.joined(separator: "\n") + "\n" }.joined()
        let trace = try MMTReader(file: "scenario \(rawValue)", base: base, overrides: overrides).read(text)
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
