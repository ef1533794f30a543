#if canImport(Glibc)
import Glibc
#endif
import MMUHardware
import MMUKernel

/// `mmusim calibrate`: measures what the fault paths cost on the host it runs
/// on, prints each beside the model's prediction for the same operation, and
/// fits the model's fault-path costs to the host (docs/calibration.md).
///
/// This is the one command that reads a real clock (the thread's CPU time): it
/// measures the host, not the model. The model's side is computed as everywhere else, by running the
/// operation through `System` and taking the cycle delta.
public enum Calibration {
    public static let usage = """
    usage: mmusim calibrate [--cpu NAME] [--write FILE] [--quick]

    Measures this host with real system calls (mmap, madvise, fork, page touches,
    clock_gettime; no root needed), prints each operation's mean time beside the
    model's prediction under the preset (default skylake) and under a
    configuration fitted to this host, with the ratio model / measured.
    --write FILE  writes the fitted configuration as KEY = VALUE lines (--config FILE)
    --quick       fewer and smaller probes (about a second; noisier)

    """

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

    /// `mmusim calibrate ARGS`; returns the exit status (0, or 2 on bad input).
    public static func main(_ arguments: [String], console: Console) -> Int32 {
        var presetName = "skylake"
        var outputPath: String? = nil
        var quick = false
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            switch argument {
            case "--quick": quick = true
            case "--cpu", "--write":
                guard index < arguments.count else {
                    console.err("mmusim calibrate: \(argument) needs a value\n")
                    return 2
                }
                if argument == "--cpu" { presetName = arguments[index] } else { outputPath = arguments[index] }
                index += 1
            case "--help", "-h":
                console.out(usage)
                return 0
            default:
                console.err("mmusim calibrate: unknown argument '\(argument)'\n" + usage)
                return 2
            }
        }
        guard let preset = CPUPreset.named(presetName) else {
            console.err("mmusim calibrate: unknown CPU preset '\(presetName)' (\(CPUPreset.all.map(\.name).joined(separator: ", ")))\n")
            return 2
        }
        let base: Configuration
        do throws(ConfigurationError) {
            base = try preset.apply(to: Configuration())
        } catch {
            console.err("mmusim calibrate: preset \(preset.name): \(error.message)\n")
            return 2
        }
        let host = HostDescription.current()
        let plan = HostProbe.Plan(quick: quick)
        let measured = HostProbe.measureAll(plan)
        let gigahertz = preset.gigahertz
        let measuredCycles = measured.compactMapValues { $0.nanoseconds.map { $0 * gigahertz } }
        let fit = Fitting.fit(base, measuredCycles: measuredCycles)
        let presetModel = ModelProbe.predictAll(base)
        let fittedModel = ModelProbe.predictAll(fit.configuration)

        console.out(report(host: host, preset: preset, plan: plan, measured: measured,
                           presetModel: presetModel, fittedModel: fittedModel, fit: fit))
        if let outputPath {
            let text = configurationFile(host: host, preset: preset, fit: fit, measured: measured)
            guard writeFile(outputPath, text) else {
                console.err("mmusim calibrate: \(outputPath): cannot write: \(String(cString: strerror(errno)))\n")
                return 2
            }
            console.out("wrote \(outputPath) (use it with --config \(outputPath))\n")
        }
        return 0
    }

    // MARK: Report

    static func report(host: HostDescription, preset: CPUPreset, plan: HostProbe.Plan,
                       measured: [Operation: HostProbe.Measurement],
                       presetModel: [Operation: Double], fittedModel: [Operation: Double], fit: Fitting.Result) -> String {
        let g = preset.gigahertz
        var text = "mmusim calibrate: \(host.summary)\n"
        text += "preset \(preset.name) (\(preset.summary)); model cycles convert to ns at \(format(g, 2)) GHz\n"
        text += "measured: thread CPU time (CLOCK_THREAD_CPUTIME_ID), median over batches of \(HostProbe.batch) pages (blocks, \(HostProbe.batch / 4) shootdown rounds) of \(plan.runs) runs after a warm-up; "
            + "\(plan.pages) pages per fault probe, fork of \(plan.forkMiB) MiB (median of \(2 * plan.runs + 1) forks); THP off on every probe mapping (MADV_NOHUGEPAGE)\n\n"
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

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ row: [String]) -> String {
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
    }

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

    // MARK: The fitted configuration file

    static func configurationFile(host: HostDescription, preset: CPUPreset, fit: Fitting.Result,
                                  measured: [Operation: HostProbe.Measurement]) -> String {
        var lines = [
            "# mmusim configuration fitted by `mmusim calibrate --cpu \(preset.name)` (docs/calibration.md)",
            "# host: \(host.summary)",
            "# preset: \(preset.name) (\(preset.summary)); measured ns x \(format(preset.gigahertz, 2)) GHz = cycles",
        ]
        for operation in Operation.allCases {
            let value = measured[operation]?.nanoseconds.map { format($0, 1) + " ns" } ?? "unavailable"
            lines.append("# measured \(operation.name): \(value)")
        }
        let fitted = Set(fit.changes.map(\.key))
        lines.append("# the preset's keys, unchanged")
        for (key, _) in preset.settings where !fitted.contains(key) {
            if let value = fit.configuration.value(of: key) { lines.append("\(key) = \(value)") }
        }
        lines.append("# fitted to this host; \(preset.name) has " + fit.changes.map { "\($0.key) \($0.from)" }.joined(separator: ", "))
        for change in fit.changes { lines.append("\(change.key) = \(change.to)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func writeFile(_ path: String, _ text: String) -> Bool {
        guard let file = fopen(path, "wb") else { return false }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        return fclose(file) == 0 && written == bytes.count
    }
}

// MARK: - The host

/// What the report says about the machine it ran on.
struct HostDescription {
    var summary: String

    static func current() -> HostDescription {
        var parts: [String] = []
        var names = utsname()
        if uname(&names) == 0 {
            func field<T>(_ value: T) -> String {
                withUnsafeBytes(of: value) { bytes in
                    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
            }
            parts.append("\(field(names.sysname)) \(field(names.release)) \(field(names.machine))")
        }
        var hypervisor = false
        var megahertz: String? = nil
        if case .success(let cpuinfo) = Files.read("/proc/cpuinfo") {
            for line in cpuinfo.split(separator: "\n") {
                if line.hasPrefix("model name"), let colon = line.firstIndex(of: ":"), parts.count < 2 {
                    parts.append(trimmed(line[line.index(after: colon)...]))
                }
                if line.hasPrefix("cpu MHz"), let colon = line.firstIndex(of: ":"), megahertz == nil {
                    megahertz = trimmed(line[line.index(after: colon)...])
                }
                if line.hasPrefix("flags"), line.split(separator: " ").contains("hypervisor") { hypervisor = true }
            }
        }
        parts.append("\(sysconf(Int32(_SC_NPROCESSORS_ONLN))) CPUs")
        if let megahertz { parts.append("cpu MHz \(megahertz)") }
        parts.append(hypervisor ? "under a hypervisor" : "no hypervisor flag")
        if case .success(let thp) = Files.read("/sys/kernel/mm/transparent_hugepage/enabled") {
            parts.append("THP " + trimmed(thp.split(separator: "\n").first ?? "?"))
        }
        return HostDescription(summary: parts.joined(separator: ", "))
    }

    static func trimmed(_ text: Substring) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// The host measurements: real mmap, madvise, fork and page touches timed with
/// the thread's CPU clock around short batches (64 pages), so that neither time
/// spent preempted nor an odd slow batch moves the median.
enum HostProbe {
    struct Plan {
        /// Pages per fault probe's mapping (and per memset/memcpy buffer).
        var pages: Int
        /// Timed runs per probe, after one untimed warm-up run.
        var runs: Int
        /// Populated MiB for the fork probe.
        var forkMiB: Int
        /// MADV_DONTNEED + touch rounds per shootdown run.
        var shootdownRounds: Int

        init(quick: Bool) {
            pages = quick ? 2048 : 8192
            runs = quick ? 3 : 12
            forkMiB = quick ? 32 : 128
            shootdownRounds = quick ? 400 : 2000
        }
    }

    /// Pages (or 4 KiB blocks, or shootdown rounds) per timed batch.
    static let batch = 64
    static let pageBytes = 4096

    struct Measurement {
        /// Mean ns per operation (the median batch), nil when unavailable.
        var nanoseconds: Double?
        /// Why the value is missing or doubtful.
        var problem: String?

        static func value(_ ns: Double) -> Measurement { Measurement(nanoseconds: ns, problem: nil) }
        static func unavailable(_ why: String) -> Measurement { Measurement(nanoseconds: nil, problem: "unavailable: " + why) }
    }

    static func measureAll(_ plan: Plan) -> [Calibration.Operation: Measurement] {
        guard sysconf(Int32(_SC_PAGESIZE)) == pageBytes else {
            let why = "the host's page size is \(sysconf(Int32(_SC_PAGESIZE))), not 4096"
            return Dictionary(uniqueKeysWithValues: Calibration.Operation.allCases.map { ($0, .unavailable(why)) })
        }
        var results: [Calibration.Operation: Measurement] = [:]
        results[.demandZero] = firstTouch(plan, write: true)
        results[.zeroPage] = firstTouch(plan, write: false)
        results[.cowReuse] = copyOnWriteReuse(plan)
        results[.cowCopy] = copyOnWriteCopy(plan)
        let (zero, copy) = memoryOperations(plan)
        results[.zero] = zero
        results[.copy] = copy
        results[.forkPerMiB] = forkPerMiB(plan)
        let (dontNeed, shootdown) = dontNeedProbes(plan)
        results[.dontNeed] = dontNeed
        results[.shootdown] = shootdown
        return results
    }

    // MARK: Primitives

    /// The calling thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID: user and
    /// system time, so time spent preempted by other work is not counted).
    @inline(__always) static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec)
    }

    /// Wall-clock ns (CLOCK_MONOTONIC), for deadlines.
    @inline(__always) static func wallNow() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec)
    }

    /// What one `now()` adds to an interval (median of back-to-back reads),
    /// taken off the intervals that are not differences of two timed passes.
    static let clockOverhead: Double = {
        var samples: [Double] = []
        for _ in 0..<101 {
            let t0 = now()
            let t1 = now()
            samples.append(Double(t1 - t0))
        }
        return median(samples)
    }()

    @inline(__always) static func minorFaults() -> Int64 {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int64(usage.ru_minflt)
    }

    /// A fresh anonymous mapping with THP disabled on it (MADV_NOHUGEPAGE, which
    /// also covers multi-size THP), or nil.
    static func mapAnonymous(pages: Int, shared: Bool = false) -> UnsafeMutableRawPointer? {
        let flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS
        guard let address = mmap(nil, pages * pageBytes, PROT_READ | PROT_WRITE, flags, -1, 0),
              address != UnsafeMutableRawPointer(bitPattern: -1) else { return nil }
        _ = madvise(address, pages * pageBytes, MADV_NOHUGEPAGE)
        return address
    }

    static func unmap(_ address: UnsafeMutableRawPointer, pages: Int) {
        _ = munmap(address, pages * pageBytes)
    }

    /// Touches one byte of each page in `pages` (with `skipTableHeads`, not those
    /// at multiples of 512, whose first touch built the page table); returns the
    /// sum of the bytes read, so that reads are not optimised away. Plain
    /// pointer code: it also runs in a fork child.
    @inline(never)
    static func touch(_ base: UnsafeMutableRawPointer, _ first: Int, _ end: Int, write: Bool, value: UInt8, skipTableHeads: Bool) -> UInt64 {
        var sum: UInt64 = 0
        var page = first
        while page < end {
            if !(skipTableHeads && page & 511 == 0) {
                let address = base + page &* pageBytes
                if write {
                    address.storeBytes(of: value, as: UInt8.self)
                } else {
                    sum &+= UInt64(address.load(as: UInt8.self))
                }
            }
            page &+= 1
        }
        return sum
    }

    /// Pages of `first..<end` that `touch` visits.
    static func visited(_ first: Int, _ end: Int, skipTableHeads: Bool) -> Int {
        guard skipTableHeads else { return end - first }
        return (first..<end).reduce(0) { $0 + ($1 & 511 == 0 ? 0 : 1) }
    }

    /// Times `batch`-page batches of `0..<pages`: each batch's first touch,
    /// then at once the same pages again (the loop, the access and its TLB
    /// misses, with no fault); appends (first - again) / pages per batch.
    /// Plain pointer code writing into `samples`: it also runs in a fork child.
    @inline(never)
    static func timedBatches(_ base: UnsafeMutableRawPointer, pages: Int, write: Bool, value: UInt8, skipTableHeads: Bool,
                             into samples: UnsafeMutablePointer<Int64>, counts: UnsafeMutablePointer<Int64>) -> Int {
        var count = 0
        var first = 0
        var sum: UInt64 = 0
        while first < pages {
            let end = min(first &+ batch, pages)
            let t0 = now()
            sum &+= touch(base, first, end, write: write, value: value, skipTableHeads: skipTableHeads)
            let t1 = now()
            sum &+= touch(base, first, end, write: write, value: value &+ 1, skipTableHeads: skipTableHeads)
            let t2 = now()
            samples[count] = (t1 &- t0) &- (t2 &- t1) &+ Int64(truncatingIfNeeded: sum & 0)
            counts[count] = Int64(end &- first)
            count &+= 1
            first = end
        }
        return count
    }

    /// Touches the first page of every 2 MiB, building the page tables.
    static func buildTables(_ base: UnsafeMutableRawPointer, pages: Int, write: Bool) -> UInt64 {
        var sum: UInt64 = 0
        for page in stride(from: 0, to: pages, by: 512) {
            let address = base + page * pageBytes
            if write { address.storeBytes(of: 1, as: UInt8.self) } else { sum &+= UInt64(address.load(as: UInt8.self)) }
        }
        return sum
    }

    /// Waits for `child`; true when it exited with status 0.
    static func reap(_ child: pid_t) -> Bool {
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 {
            if errno != EINTR { return false }
        }
        return status & 0x7f == 0 && (status >> 8) & 0xff == 0
    }

    static func median(_ samples: [Double]) -> Double {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The median of `samples` (ns per operation), with a problem noted when
    /// the probe did not fault once per page.
    static func summarize(_ samples: [Double], faultsPerPage: Double? = nil) -> Measurement {
        guard !samples.isEmpty else { return .unavailable("no run completed") }
        var result = Measurement.value(max(median(samples), 0.1))
        if let faults = faultsPerPage, faults < 0.9 || faults > 1.1 {
            result.problem = "saw \(Calibration.format(faults, 2)) minor faults per page (expected 1)"
        }
        return result
    }

    /// Batch samples as ns per page.
    static func perPage(_ samples: UnsafeMutablePointer<Int64>, _ counts: UnsafeMutablePointer<Int64>, _ count: Int) -> [Double] {
        (0..<count).compactMap { counts[$0] > 0 ? Double(samples[$0]) / Double(counts[$0]) : nil }
    }

    /// Scratch space for batch samples of a `pages`-page probe (MAP_SHARED, so a
    /// fork child can fill it): `counts` follows `samples`.
    struct SampleBuffer {
        var base: UnsafeMutableRawPointer
        var pages: Int
        var capacity: Int
        var samples: UnsafeMutablePointer<Int64> { base.assumingMemoryBound(to: Int64.self) + 1 }
        var counts: UnsafeMutablePointer<Int64> { samples + capacity }
        /// Word 0: the number of batches a child reported.
        var reported: Int64 {
            get { base.load(as: Int64.self) }
            nonmutating set { base.storeBytes(of: newValue, as: Int64.self) }
        }

        init?(batches: Int) {
            capacity = batches
            pages = (8 * (1 + 2 * batches) + pageBytes - 1) / pageBytes
            guard let base = HostProbe.mapAnonymous(pages: pages, shared: true) else { return nil }
            self.base = base
        }
        func free() { HostProbe.unmap(base, pages: pages) }
    }

    // MARK: Probes

    /// Demand zero (write) or zero page (read): first touch of each page of a
    /// fresh mapping whose page tables already exist.
    static func firstTouch(_ plan: Plan, write: Bool) -> Measurement {
        let pages = plan.pages
        guard let buffer = SampleBuffer(batches: pages / batch + 1) else { return .unavailable("mmap failed (errno \(errno))") }
        defer { buffer.free() }
        var samples: [Double] = []
        var faults: Int64 = 0, touched = 0
        var sink: UInt64 = 0
        for run in 0...plan.runs {
            guard let base = mapAnonymous(pages: pages) else { return .unavailable("mmap failed (errno \(errno))") }
            sink &+= buildTables(base, pages: pages, write: write)
            let faults0 = minorFaults()
            let count = timedBatches(base, pages: pages, write: write, value: UInt8(truncatingIfNeeded: run | 1),
                                     skipTableHeads: true, into: buffer.samples, counts: buffer.counts)
            let faults1 = minorFaults()
            unmap(base, pages: pages)
            guard run > 0 else { continue }
            samples += perPage(buffer.samples, buffer.counts, count)
            faults += faults1 - faults0
            touched += visited(0, pages, skipTableHeads: true)
        }
        // The zero page reads as 0: the sum only keeps the reads.
        if sink == UInt64.max { return .unavailable("impossible sum") }
        return summarize(samples, faultsPerPage: Double(faults) / Double(max(touched, 1)))
    }

    /// COW reuse: the pages are written, the process forks, the child exits at
    /// once; after waitpid each page is mapped once again, so the parent's
    /// write through its write-protected PTE reuses the page (no copy).
    static func copyOnWriteReuse(_ plan: Plan) -> Measurement {
        let pages = plan.pages
        guard let buffer = SampleBuffer(batches: pages / batch + 1) else { return .unavailable("mmap failed (errno \(errno))") }
        defer { buffer.free() }
        var samples: [Double] = []
        var faults: Int64 = 0, touched = 0
        for run in 0...plan.runs {
            guard let base = mapAnonymous(pages: pages) else { return .unavailable("mmap failed (errno \(errno))") }
            defer { unmap(base, pages: pages) }
            _ = touch(base, 0, pages, write: true, value: 1, skipTableHeads: false)
            let child = fork()
            if child == 0 { _exit(0) }
            guard child > 0 else { return .unavailable("fork failed (errno \(errno))") }
            guard reap(child) else { return .unavailable("the fork child did not exit cleanly") }
            let faults0 = minorFaults()
            let count = timedBatches(base, pages: pages, write: true, value: UInt8(truncatingIfNeeded: run | 2),
                                     skipTableHeads: false, into: buffer.samples, counts: buffer.counts)
            let faults1 = minorFaults()
            guard run > 0 else { continue }
            samples += perPage(buffer.samples, buffer.counts, count)
            faults += faults1 - faults0
            touched += pages
        }
        return summarize(samples, faultsPerPage: Double(faults) / Double(max(touched, 1)))
    }

    /// COW copy: the pages are written, the process forks, and the child writes
    /// each page (still mapped by the parent, so copied). The child is
    /// single-threaded, so the old translation is flushed on its CPU only. It
    /// reports through MAP_SHARED memory and runs nothing but pointer code,
    /// clock_gettime, getrusage and _exit (safe after fork of a threaded process).
    static func copyOnWriteCopy(_ plan: Plan) -> Measurement {
        let pages = plan.pages
        guard let buffer = SampleBuffer(batches: pages / batch + 2) else { return .unavailable("mmap failed (errno \(errno))") }
        defer { buffer.free() }
        var samples: [Double] = []
        var faults: Int64 = 0, touched = 0
        for run in 0...plan.runs {
            guard let base = mapAnonymous(pages: pages) else { return .unavailable("mmap failed (errno \(errno))") }
            defer { unmap(base, pages: pages) }
            _ = touch(base, 0, pages, write: true, value: 1, skipTableHeads: false)
            buffer.reported = 0
            let child = fork()
            if child == 0 { copyingChild(base, pages: pages, value: UInt8(truncatingIfNeeded: run | 2), buffer: buffer) }
            guard child > 0 else { return .unavailable("fork failed (errno \(errno))") }
            guard reap(child), buffer.reported > 0 else { return .unavailable("the fork child did not report") }
            guard run > 0 else { continue }
            let count = Int(buffer.reported)
            // The child stores its fault count after the last batch.
            samples += perPage(buffer.samples, buffer.counts, count - 1)
            faults += buffer.samples[count - 1]
            touched += pages
        }
        return summarize(samples, faultsPerPage: Double(faults) / Double(max(touched, 1)))
    }

    /// The fork child of the COW copy probe: times its writes, reports, exits.
    @inline(never)
    static func copyingChild(_ base: UnsafeMutableRawPointer, pages: Int, value: UInt8, buffer: SampleBuffer) -> Never {
        let faults0 = minorFaults()
        let count = timedBatches(base, pages: pages, write: true, value: value, skipTableHeads: false,
                                 into: buffer.samples, counts: buffer.counts)
        let faults1 = minorFaults()
        buffer.samples[count] = faults1 &- faults0
        buffer.counts[count] = 0
        buffer.reported = Int64(count &+ 1)
        _exit(0)
    }

    /// memset and memcpy of 4 KiB blocks, timed per 64 blocks, over buffers as
    /// large as a fault probe's mapping (streaming through the caches as the
    /// fault path's zeroing and copying do), already faulted in.
    static func memoryOperations(_ plan: Plan) -> (zero: Measurement, copy: Measurement) {
        let pages = plan.pages
        guard let source = mapAnonymous(pages: pages), let target = mapAnonymous(pages: pages) else {
            let failed = Measurement.unavailable("mmap failed (errno \(errno))")
            return (failed, failed)
        }
        defer {
            unmap(source, pages: pages)
            unmap(target, pages: pages)
        }
        _ = touch(source, 0, pages, write: true, value: 3, skipTableHeads: false)
        _ = touch(target, 0, pages, write: true, value: 3, skipTableHeads: false)
        var zeroSamples: [Double] = [], copySamples: [Double] = []
        for run in 0...plan.runs {
            for first in stride(from: 0, to: pages, by: batch) {
                let end = min(first + batch, pages)
                let t0 = now()
                for page in first..<end { memset(target + page * pageBytes, 0, pageBytes) }
                let t1 = now()
                if run > 0 { zeroSamples.append((Double(t1 - t0) - clockOverhead) / Double(end - first)) }
            }
            for first in stride(from: 0, to: pages, by: batch) {
                let end = min(first + batch, pages)
                let t0 = now()
                for page in first..<end { memcpy(target + page * pageBytes, source + page * pageBytes, pageBytes) }
                let t1 = now()
                if run > 0 { copySamples.append((Double(t1 - t0) - clockOverhead) / Double(end - first)) }
            }
        }
        return (summarize(zeroSamples), summarize(copySamples))
    }

    /// Fork with `forkMiB` of populated private memory minus fork without it,
    /// timed in the parent (fork returns there once the child's page tables
    /// are copied); the child exits at once and is reaped outside the timing.
    static func forkPerMiB(_ plan: Plan) -> Measurement {
        let forks = 2 * plan.runs + 1
        func timedForks() -> [Double]? {
            var times: [Double] = []
            for _ in 0...forks {
                let t0 = now()
                let child = fork()
                if child == 0 { _exit(0) }
                let t1 = now()
                guard child > 0, reap(child) else { return nil }
                times.append(Double(t1 - t0))
            }
            return Array(times.dropFirst())
        }
        guard let small = timedForks() else { return .unavailable("fork failed (errno \(errno))") }
        let pages = plan.forkMiB * 256
        guard let base = mapAnonymous(pages: pages) else { return .unavailable("mmap failed (errno \(errno))") }
        defer { unmap(base, pages: pages) }
        _ = touch(base, 0, pages, write: true, value: 1, skipTableHeads: false)
        guard let large = timedForks() else { return .unavailable("fork failed (errno \(errno))") }
        let perMiB = (median(large) - median(small)) / Double(plan.forkMiB)
        guard perMiB > 0 else { return .unavailable("fork with \(plan.forkMiB) MiB was not slower than without (noise)") }
        return .value(perMiB)
    }

    /// MADV_DONTNEED of one page then a write to it (a demand-zero fault): alone,
    /// and with a second thread of the process spinning on another CPU. The
    /// difference is what one remote shootdown costs the initiator ([Amit19]'s
    /// benchmark). The measuring thread is pinned to the CPU it is on and the
    /// spinner to another one for the duration (the old affinity is restored).
    static func dontNeedProbes(_ plan: Plan) -> (alone: Measurement, shootdown: Measurement) {
        guard let base = mapAnonymous(pages: 2) else {
            let failed = Measurement.unavailable("mmap failed (errno \(errno))")
            return (failed, failed)
        }
        defer { unmap(base, pages: 2) }
        _ = touch(base, 0, 2, write: true, value: 1, skipTableHeads: false)
        let target = base + pageBytes
        let rounds = batch / 4

        // Pin this thread, and pick another CPU for the spinner.
        var other: Int? = nil
        var why = "sched_setaffinity or sched_getcpu not found in the C library"
        let affinity = Affinity.resolve()
        var saved = Affinity.CPUSet()
        var here = -1
        if let affinity {
            here = Int(affinity.currentCPU())
            if affinity.get(0, Affinity.CPUSet.bytes, &saved.words) != 0 {
                why = "sched_getaffinity failed (errno \(errno))"
            } else if here < 0 {
                why = "sched_getcpu failed"
            } else if let cpu = (0..<Affinity.CPUSet.bytes * 8).first(where: { $0 != here && saved.contains($0) }) {
                var pinned = Affinity.CPUSet([here])
                if affinity.set(0, Affinity.CPUSet.bytes, &pinned.words) == 0 {
                    other = cpu
                } else {
                    why = "sched_setaffinity failed (errno \(errno))"
                }
            } else {
                why = "needs two CPUs this process may run on"
            }
        }
        defer { if other != nil, let affinity { _ = affinity.set(0, Affinity.CPUSet.bytes, &saved.words) } }

        /// Batches of `rounds` rounds. With another CPU chosen, a batch is kept
        /// only when that CPU took a TLB-shootdown interrupt for every round
        /// (`interrupted`) or for none, as /proc/interrupts counts them.
        func runs(interrupted: Bool) -> (samples: [Double], batches: Int) {
            var samples: [Double] = []
            var batches = 0
            for run in 0...plan.runs {
                for _ in 0..<(plan.shootdownRounds / rounds) {
                    let before = other.flatMap { tlbShootdownInterrupts(cpu: $0) }
                    let t0 = now()
                    for round in 0..<rounds {
                        _ = madvise(target, pageBytes, MADV_DONTNEED)
                        target.storeBytes(of: UInt8(truncatingIfNeeded: round | 1), as: UInt8.self)
                    }
                    let t1 = now()
                    let after = other.flatMap { tlbShootdownInterrupts(cpu: $0) }
                    guard run > 0 else { continue }
                    batches += 1
                    if let before, let after {
                        let received = after - before
                        guard interrupted ? received >= Int64(rounds) : received == 0 else { continue }
                    }
                    samples.append((Double(t1 - t0) - clockOverhead) / Double(rounds))
                }
            }
            return (samples, batches)
        }
        let (aloneSamples, _) = runs(interrupted: false)
        guard !aloneSamples.isEmpty else {
            let failed = Measurement.unavailable("every batch interrupted another CPU even with one thread")
            return (failed, failed)
        }
        let alone = Measurement.value(median(aloneSamples))
        guard let other, let affinity else { return (alone, .unavailable(why)) }

        // The spinner's state, as Int64s: [0] stop, [8] started, [16] deadline
        // (ns), [24] the CPU to run on, [32] the CPU it found itself on.
        guard let state = mapAnonymous(pages: 1) else { return (alone, .unavailable("mmap failed (errno \(errno))")) }
        defer { unmap(state, pages: 1) }
        let budget = Int64(median(aloneSamples) * Double(plan.shootdownRounds * (plan.runs + 1)) * 20) + 2_000_000_000
        state.storeBytes(of: 0, toByteOffset: 0, as: Int64.self)
        state.storeBytes(of: 0, toByteOffset: 8, as: Int64.self)
        state.storeBytes(of: wallNow() + budget, toByteOffset: 16, as: Int64.self)
        state.storeBytes(of: Int64(other), toByteOffset: 24, as: Int64.self)
        state.storeBytes(of: -1, toByteOffset: 32, as: Int64.self)
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { context in
            // Spins in user mode on the other CPU, so the process's mm is live
            // there and each MADV_DONTNEED must interrupt it. The deadline bounds
            // the spin even if the stop flag were never seen.
            guard let state = context else { return nil }
            if let affinity = Affinity.resolve() {
                var set = Affinity.CPUSet([Int(state.load(fromByteOffset: 24, as: Int64.self))])
                _ = affinity.set(0, Affinity.CPUSet.bytes, &set.words)
                state.storeBytes(of: Int64(affinity.currentCPU()), toByteOffset: 32, as: Int64.self)
            }
            state.storeBytes(of: 1, toByteOffset: 8, as: Int64.self)
            let deadline = state.load(fromByteOffset: 16, as: Int64.self)
            while state.load(fromByteOffset: 0, as: Int64.self) == 0 && HostProbe.wallNow() < deadline {}
            return nil
        }, state)
        guard created == 0 else { return (alone, .unavailable("pthread_create failed (\(created))")) }
        let waitUntil = wallNow() + 1_000_000_000
        while state.load(fromByteOffset: 8, as: Int64.self) == 0 && wallNow() < waitUntil {}
        let started = state.load(fromByteOffset: 8, as: Int64.self) == 1
        let spinnerCPU = Int(state.load(fromByteOffset: 32, as: Int64.self))
        let (sharedSamples, batches) = started ? runs(interrupted: true) : ([], 0)
        state.storeBytes(of: 1, toByteOffset: 0, as: Int64.self)
        pthread_join(thread, nil)
        _ = affinity
        guard started else { return (alone, .unavailable("the second thread did not start")) }
        guard spinnerCPU != here else { return (alone, .unavailable("the second thread could not run on another CPU")) }
        guard !sharedSamples.isEmpty else {
            return (alone, .unavailable("no batch interrupted CPU \(other) on every round (it was busy with other work)"))
        }
        let shared = median(sharedSamples)
        guard let aloneTime = alone.nanoseconds, shared > aloneTime else {
            return (alone, .unavailable("no slower with a second thread on CPU \(spinnerCPU)"))
        }
        var result = Measurement.value(shared - aloneTime)
        if tlbShootdownInterrupts(cpu: other) == nil {
            result.problem = "/proc/interrupts unreadable: batches not checked for the interrupt"
        } else if sharedSamples.count * 2 < batches {
            result.problem = "only \(sharedSamples.count) of \(batches) batches interrupted CPU \(other) on every round (it was busy with other work)"
        }
        return (alone, result)
    }
}

extension HostProbe {
    /// The TLB-shootdown interrupts `cpu` has taken ("TLB:" in /proc/interrupts).
    static func tlbShootdownInterrupts(cpu: Int) -> Int64? {
        guard case .success(let text) = Files.read("/proc/interrupts") else { return nil }
        var column: Int? = nil
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let index = column else {
                column = fields.firstIndex(of: Substring("CPU\(cpu)"))
                if column == nil { return nil }
                continue
            }
            if fields.first == "TLB:", index + 1 < fields.count { return Int64(fields[index + 1]) }
        }
        return nil
    }
}

/// sched_setaffinity, sched_getaffinity and sched_getcpu, looked up in the C
/// library at run time (the Glibc module does not export these GNU calls).
struct Affinity {
    typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeMutableRawPointer?) -> Int32
    typealias GetCPU = @convention(c) () -> Int32
    var set: SetAffinity
    var get: SetAffinity
    var currentCPU: GetCPU

    static func resolve() -> Affinity? {
        guard let handle = dlopen(nil, RTLD_NOW),
              let set = dlsym(handle, "sched_setaffinity"),
              let get = dlsym(handle, "sched_getaffinity"),
              let cpu = dlsym(handle, "sched_getcpu") else { return nil }
        return Affinity(set: unsafeBitCast(set, to: SetAffinity.self), get: unsafeBitCast(get, to: SetAffinity.self),
                        currentCPU: unsafeBitCast(cpu, to: GetCPU.self))
    }

    /// A `cpu_set_t` (1024 CPUs).
    struct CPUSet {
        static let bytes = 128
        var words = [UInt64](repeating: 0, count: bytes / 8)
        init() {}
        init(_ cpus: [Int]) {
            for cpu in cpus where cpu >= 0 && cpu < Self.bytes * 8 { words[cpu / 64] |= 1 << UInt64(cpu % 64) }
        }
        func contains(_ cpu: Int) -> Bool { cpu >= 0 && cpu < Self.bytes * 8 && words[cpu / 64] & (1 << UInt64(cpu % 64)) != 0 }
    }
}

// MARK: - The model

/// Each operation run through `System` as a tiny trace would run it; the
/// prediction is the cycle delta on core 0 (per page where the probe is a pass
/// over pages, less a second pass over the same pages as on the host).
enum ModelProbe {
    static let base: UInt64 = 0x4000_0000
    static let passPages = HostProbe.batch

    static func predictAll(_ configuration: Configuration) -> [Calibration.Operation: Double] {
        var result: [Calibration.Operation: Double] = [:]
        for operation in Calibration.Operation.allCases { result[operation] = cycles(operation, configuration) }
        return result
    }

    /// The model's cycles for one `operation` under `configuration`.
    static func cycles(_ operation: Calibration.Operation, _ configuration: Configuration) -> Double {
        switch operation {
        case .demandZero: return firstTouch(configuration, .write)
        case .zeroPage: return firstTouch(configuration, .read)
        case .cowReuse: return copyOnWrite(configuration, childExits: true)
        case .cowCopy: return copyOnWrite(configuration, childExits: false)
        case .zero: return Double(configuration.costs[.frameZero])
        case .copy: return Double(configuration.costs[.frameCopy])
        case .forkPerMiB: return Double(Int64(forkCycles(configuration, pages: 512 + 1)) - Int64(forkCycles(configuration, pages: 1))) / 2
        case .dontNeed: return dontNeedRound(configuration, remote: false)
        case .shootdown: return dontNeedRound(configuration, remote: true) - dontNeedRound(configuration, remote: false)
        }
    }

    static func page(_ index: Int) -> VirtualAddress { VirtualAddress(base + UInt64(index) * Paging.pageSize) }

    static func system(_ configuration: Configuration, cores: Int = 1) -> System {
        var c = configuration
        c.cores = cores
        c.frames = 65_536
        c.zeroPage = true
        c.fork = .cow
        c.shootdown = .ipi
        return System(configuration: c)
    }

    /// Core 0's cycles for one access to each page of `pages`.
    static func pass(_ system: inout System, _ kind: AccessKind, _ pages: Range<Int>) -> Int64 {
        let start = system.machine.cores[0].clock
        for index in pages { _ = system.access(core: CoreID(0), kind, page(index), store: 0) }
        return Int64(system.machine.cores[0].clock - start)
    }

    /// A pass over untouched pages minus a second pass, per page; page 0 was
    /// touched first so the page tables exist.
    static func firstTouch(_ configuration: Configuration, _ kind: AccessKind) -> Double {
        var s = system(configuration)
        let core = CoreID(0)
        let process = s.createProcess()
        s.contextSwitch(core: core, to: process)
        s.map(core: core, page(0), pages: 1024, [.read, .write])
        _ = s.access(core: core, kind, page(0))
        let pages = 1..<(1 + passPages)
        let first = pass(&s, kind, pages)
        let second = pass(&s, kind, pages)
        return Double(first - second) / Double(passPages)
    }

    /// Writes after a fork: in the child (copy), or in the parent once the
    /// child has exited (reuse). Page 0 is written first, untimed.
    static func copyOnWrite(_ configuration: Configuration, childExits: Bool) -> Double {
        var s = system(configuration)
        let core = CoreID(0)
        let parent = s.createProcess()
        s.contextSwitch(core: core, to: parent)
        s.map(core: core, page(0), pages: 1024, [.read, .write])
        _ = pass(&s, .write, 0..<(1 + passPages))
        guard let child = s.fork(core: core) else { return 0 }
        s.contextSwitch(core: core, to: child)
        if childExits {
            s.exit(core: core)
            s.contextSwitch(core: core, to: parent)
        }
        _ = s.access(core: core, .write, page(0))
        let pages = 1..<(1 + passPages)
        let first = pass(&s, .write, pages)
        let second = pass(&s, .write, pages)
        return Double(first - second) / Double(passPages)
    }

    /// Fork of a process with `pages` populated pages.
    static func forkCycles(_ configuration: Configuration, pages: Int) -> UInt64 {
        var s = system(configuration)
        let core = CoreID(0)
        let process = s.createProcess()
        s.contextSwitch(core: core, to: process)
        s.map(core: core, page(0), pages: UInt64(pages), [.read, .write])
        _ = pass(&s, .write, 0..<pages)
        let start = s.machine.cores[0].clock
        _ = s.fork(core: core)
        return s.machine.cores[0].clock - start
    }

    /// MADV_DONTNEED + touch as the model has it (unmap the page, map it again,
    /// write it: a demand-zero fault), per round, on core 0; with `remote` the
    /// process also runs on core 1, which must then be shot down.
    static func dontNeedRound(_ configuration: Configuration, remote: Bool) -> Double {
        var s = system(configuration, cores: 2)
        let process = s.createProcess()
        s.contextSwitch(core: CoreID(0), to: process)
        if remote { s.contextSwitch(core: CoreID(1), to: process) }
        // Pages 0-7 keep the page tables alive; page 8 is the one dropped.
        s.map(core: CoreID(0), page(0), pages: 8, [.read, .write])
        s.map(core: CoreID(0), page(8), pages: 1, [.read, .write])
        _ = s.access(core: CoreID(0), .write, page(0))
        _ = s.access(core: CoreID(0), .write, page(8))
        if remote { _ = s.access(core: CoreID(1), .read, page(0)) }
        let rounds = 16
        let start = s.machine.cores[0].clock
        for _ in 0..<rounds {
            s.unmap(core: CoreID(0), page(8), pages: 1)
            s.map(core: CoreID(0), page(8), pages: 1, [.read, .write])
            _ = s.access(core: CoreID(0), .write, page(8))
        }
        return Double(s.machine.cores[0].clock - start) / Double(rounds)
    }
}

// MARK: - Fitting

/// Fits the fault-path keys to measured cycles, one rule per key, in order
/// (docs/calibration.md, "Fitting"). The one-core probes are linear in every
/// cost, so each key is solved from two model runs (the key at 0 and at 1000).
enum Fitting {
    struct Change {
        var key: String
        var from: UInt64
        var to: UInt64
    }

    struct Result {
        var configuration: Configuration
        var changes: [Change] = []
        var notes: [String] = []
    }

    /// The fault path scaled together: delivery, the handler's base cost, return.
    static let faultPath: [CostKey] = [.faultEntry, .kernelFault, .faultExit]

    static func setting(_ configuration: Configuration, _ values: [CostKey: UInt64]) -> Configuration {
        var c = configuration
        for (key, value) in values { c.costs[key] = value }
        return c
    }

    /// The value of `key` that makes the model's `operation` cost `target`
    /// cycles (unclamped), or nil when `key` does not affect it.
    static func solve(_ key: CostKey, _ operation: Calibration.Operation, target: Double, in configuration: Configuration) -> Double? {
        let at0 = ModelProbe.cycles(operation, setting(configuration, [key: 0]))
        let at1000 = ModelProbe.cycles(operation, setting(configuration, [key: 1000]))
        let slope = (at1000 - at0) / 1000
        guard slope > 1e-9 else { return nil }
        return (target - at0) / slope
    }

    static func fit(_ preset: Configuration, measuredCycles m: [Calibration.Operation: Double]) -> Result {
        var result = Result(configuration: preset)
        func change(_ key: CostKey, _ value: Double) {
            let to = UInt64(max(0, min(value.rounded(), Double(Configuration.Limits.cost.upperBound))))
            result.configuration.costs[key] = to
        }

        // 1. Scale fault.entry, kernel.fault and fault.exit by one factor s, the
        //    relative least-squares fit of the two faults that allocate nothing
        //    (zero page, COW reuse): model_i(s) = a_i + s * f_i.
        var numerator = 0.0, denominator = 0.0
        for operation in [Calibration.Operation.zeroPage, .cowReuse] {
            guard let measured = m[operation], measured > 0 else { continue }
            let full = ModelProbe.cycles(operation, result.configuration)
            let rest = ModelProbe.cycles(operation, setting(result.configuration, Dictionary(uniqueKeysWithValues: faultPath.map { ($0, 0) })))
            let f = full - rest
            numerator += (f / measured) * (1 - rest / measured)
            denominator += (f / measured) * (f / measured)
        }
        if denominator > 0 {
            let scale = max(numerator / denominator, 0.01)
            for key in faultPath { change(key, Double(preset.costs[key]) * scale) }
        }

        // 2-4. frame.zero from the measured 4 KiB memset; frame.alloc from the
        //    demand-zero fault (what it costs beyond the scaled fault path and
        //    the zeroing: Linux's allocation plus the new page's memcg charge,
        //    rmap and LRU bookkeeping); frame.copy from the COW copy fault (what
        //    it costs beyond the fault path, that allocation, two PTE writes and
        //    the local INVLPG). When that leaves frame.alloc or frame.copy
        //    negative (the two faults disagree, or noise), the other way round:
        //    frame.copy from the measured memcpy, frame.alloc from the COW copy
        //    fault, frame.zero from the demand-zero fault.
        let before = result.configuration
        if let zero = m[.zero] { change(.frameZero, zero) }
        var alloc: Double? = nil, copy: Double? = nil
        if let demandZero = m[.demandZero], let a = solve(.frameAlloc, .demandZero, target: demandZero, in: result.configuration) {
            alloc = a
            change(.frameAlloc, a)
        }
        if let cowCopy = m[.cowCopy], let c = solve(.frameCopy, .cowCopy, target: cowCopy, in: result.configuration) {
            copy = c
            change(.frameCopy, c)
        } else if let c = m[.copy] {
            change(.frameCopy, c)
        }
        if (alloc ?? 0) < 0 || (copy ?? 0) < 0 {
            result.configuration = before
            if let c = m[.copy] { change(.frameCopy, c) }
            if let cowCopy = m[.cowCopy], let a = solve(.frameAlloc, .cowCopy, target: cowCopy, in: result.configuration) {
                change(.frameAlloc, a)
                if a < 0 { result.notes.append("the COW copy fault costs less than the fitted fault path plus a 4 KiB memcpy; frame.alloc = 0") }
            }
            if let demandZero = m[.demandZero], let z = solve(.frameZero, .demandZero, target: demandZero, in: result.configuration) {
                change(.frameZero, z)
                if z < 0 { result.notes.append("the demand-zero fault costs less than the fitted fault path and allocation; frame.zero = 0") }
            }
            result.notes.append("fitting rule 2 (frame.copy from memcpy, frame.alloc from the COW copy fault, frame.zero from the demand-zero fault): "
                + "rule 1 left frame.\((alloc ?? 0) < 0 ? "alloc" : "copy") negative")
        }

        // 5. fork.pte from fork per MiB (256 PTEs, plus the page-table pages at
        //    the fitted alloc + zero).
        if let fork = m[.forkPerMiB], let perPTE = solve(.forkPTE, .forkPerMiB, target: fork, in: result.configuration) {
            change(.forkPTE, perPTE)
            if perPTE < 0 { result.notes.append("fork per MiB is less than its page-table pages cost in the fitted model; fork.pte = 0") }
        }

        for key in CostKey.allCases where result.configuration.costs[key] != preset.costs[key] {
            result.changes.append(Change(key: key.name, from: preset.costs[key], to: result.configuration.costs[key]))
        }
        return result
    }
}
