#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMUHardware
import MMUKernel

/// `mmusim-bench scaling`: how the emulator's cost grows with the trace's
/// length, the footprint and the core count (issue 6). Three tables:
///
/// 1. time against trace length (the walk and TLB-hit workloads at 1x..8x);
/// 2. time per access and host memory against footprint, each footprint in a
///    fresh child process so that its peak resident set is its own;
/// 3. host time and emulated cycles per shootdown against core count, for
///    each strategy.
enum Scaling {
    static func run(runs: Int) -> Int32 {
        emit(1, "# Time against trace length (median of \(runs) runs)\n\n")
        emit(1, "| workload | accesses | time | ns per access |\n|---|---|---|---|\n")
        for name in ["tlb-hit", "walk"] {
            guard let benchmark = Benchmark.all.first(where: { $0.name == name }) else { continue }
            for factor: UInt64 in [1, 2, 4, 8] {
                let size = factor * 1_000_000
                let result = BenchmarkTool.measure(benchmark, runs: runs, size: size)
                emit(1, "| \(name) | \(size / 1_000_000)M | \(format(result.median * 1000)) ms | "
                    + "\(format(result.median * 1e9 / Double(size))) |\n")
            }
        }

        emit(1, "\n# Walks and host memory against footprint (1M random loads; one child process each)\n\n")
        emit(1, "| footprint | pages | ns per access | walks per access | RSS | RSS growth per page |\n|---|---|---|---|---|---|\n")
        for pages in [16_384, 65_536, 262_144, 1_048_576] {
            if !spawnSelf(["--footprint-row", String(pages)]) {
                emit(2, "mmusim-bench: the footprint run for \(pages) pages failed\n")
                return 1
            }
        }

        emit(1, "\n# Shootdowns against core count (512 rounds: every core writes a page, core 0 unmaps it)\n\n")
        emit(1, "| cores | strategy | host µs per unmap | host ns per core per round | emulated initiator cycles per shootdown |\n|---|---|---|---|---|\n")
        for cores in [2, 4, 8, 16, 32, 64] {
            for strategy in ShootdownStrategy.allCases {
                var seconds: [Double] = []
                var initiatorCycles: UInt64 = 0, shootdowns: UInt64 = 0
                for run in 0...runs {
                    var system = shootdownSystem(cores: cores, strategy: strategy, rounds: 512)
                    let start = BenchmarkTool.now()
                    _ = shootdownRounds(&system, cores: cores, rounds: 512)
                    if run > 0 { seconds.append(BenchmarkTool.now() - start) }
                    initiatorCycles = system.kernel.statistics[0].shootdownInitiatorCycles
                    shootdowns = system.statistic("shootdowns") ?? 0
                }
                let median = seconds.sorted()[seconds.count / 2]
                let perShootdown = shootdowns == 0 ? "—" : String(initiatorCycles / shootdowns)
                emit(1, "| \(cores) | \(strategy.rawValue) | \(format(median * 1e6 / 512)) | "
                    + "\(format(median * 1e9 / Double(512 * cores))) | \(perShootdown) |\n")
            }
        }
        return 0
    }

    /// One row of the footprint table, measured in this (fresh) process.
    static func footprintRow(pages: Int) -> Int32 {
        let before = residentBytes()
        var system = Benchmark.populated(pages: UInt64(pages), frames: pages + pages / 256 + 4096)
        var random = XorShift(state: 0x9E37_79B9_7F4A_7C15)
        let count = 1_000_000
        let walksBefore = system.statistic("walks") ?? 0
        var sum: UInt64 = 0
        let start = BenchmarkTool.now()
        for _ in 0..<count {
            let page = random.next() % UInt64(pages)
            sum &+= Benchmark.checksum(system.access(core: Benchmark.core0, .read,
                                                     VirtualAddress(Benchmark.base + page << 12), store: 0))
        }
        let elapsed = BenchmarkTool.now() - start
        let walks = (system.statistic("walks") ?? 0) - walksBefore
        let peak = residentBytes()
        let mib = Double(pages) * 4096 / 1_048_576
        let footprint = mib >= 1024 ? "\(format(mib / 1024)) GiB" : "\(format(mib)) MiB"
        emit(1, "| \(footprint) | \(pages) | \(format(elapsed * 1e9 / Double(count))) | "
            + "\(format(Double(walks) / Double(count) * 100) ) % | \(format(Double(peak) / 1_048_576)) MiB | "
            + "\(format(Double(peak - before) / Double(pages))) B |\n")
        return sum == UInt64.max ? 1 : 0
    }

    static func shootdownSystem(cores: Int, strategy: ShootdownStrategy, rounds: UInt64) -> System {
        var configuration = Configuration()
        configuration.cores = cores
        configuration.shootdown = strategy
        var system = System(configuration: configuration)
        let process = system.createProcess()
        for c in 0..<cores { system.contextSwitch(core: CoreID(c), to: process) }
        system.map(core: Benchmark.core0, VirtualAddress(Benchmark.base), pages: rounds, [.read, .write])
        return system
    }

    /// Each round every core writes the round's page and core 0 unmaps it;
    /// every fourth round the other cores take a timer tick.
    static func shootdownRounds(_ system: inout System, cores: Int, rounds: UInt64) -> UInt64 {
        var sum: UInt64 = 0
        for page in 0..<rounds {
            let address = VirtualAddress(Benchmark.base + page << 12)
            for c in 0..<cores { sum &+= Benchmark.checksum(system.access(core: CoreID(c), .write, address, store: page)) }
            system.unmap(core: Benchmark.core0, address, pages: 1)
            if page % 4 == 3 { for c in 1..<cores { system.tick(core: CoreID(c)) } }
        }
        return sum
    }

    /// The process's resident set now (Linux: /proc/self/statm; elsewhere the
    /// peak, from getrusage). Nothing is freed during a footprint row, so the
    /// resident set after it is its peak.
    static func residentBytes() -> Int {
        #if os(Linux)
        let file = open("/proc/self/statm", O_RDONLY)
        if file >= 0 {
            defer { close(file) }
            var buffer = [UInt8](repeating: 0, count: 128)
            let count = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
            if count > 0 {
                let fields = buffer[0..<count].split(separator: UInt8(ascii: " "))
                if fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) {
                    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
                }
            }
        }
        #endif
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024      // kilobytes on Linux
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)             // bytes on macOS
        #endif
    }

    /// Runs this executable again with `arguments` (its output goes to ours)
    /// and waits for it; true when it exited with status 0.
    static func spawnSelf(_ arguments: [String]) -> Bool {
        #if os(Linux)
        let path = "/proc/self/exe"
        #else
        let path = CommandLine.arguments[0]
        #endif
        var argv: [UnsafeMutablePointer<CChar>?] = ([CommandLine.arguments[0]] + arguments).map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, path, nil, nil, argv, environ) == 0 else { return false }
        var status: Int32 = 0
        guard waitpid(pid, &status, 0) == pid else { return false }
        return status == 0
    }
}
