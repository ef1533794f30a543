#if canImport(Glibc)
import Glibc
#endif

extension Calibration {
    /// One transparent-huge-page operation measured on the host and predicted
    /// by the model, one per 2 MiB of a 2 MiB-aligned `MADV_HUGEPAGE` mapping.
    public enum HugeOperation: Int, CaseIterable, Sendable {
        /// First write to an untouched advised 2 MiB: a huge page allocated and zeroed.
        case thpFault
        /// First read of an untouched advised 2 MiB: the huge zero page mapped.
        case hugeZeroRead
        /// A write to a 2 MiB mapped to the huge zero page.
        case hugeZeroWrite
        /// A fork child's write to a huge page its parent maps: split + 4 KiB COW copy.
        case thpSplitCopy
        /// The parent's write to its huge page once the child has exited: reuse.
        case thpReuse

        public var name: String {
            switch self {
            case .thpFault: return "THP first-touch fault"
            case .hugeZeroRead: return "huge-zero read fault"
            case .hugeZeroWrite: return "write after huge-zero read"
            case .thpSplitCopy: return "COW write, child (split + copy)"
            case .thpReuse: return "COW write, parent after exit"
            }
        }
    }
}

/// The THP probes: Linux's `do_huge_pmd_anonymous_page`, the huge zero page,
/// `do_huge_pmd_wp_page` (split + `wp_page_copy`, or reuse), timed one 2 MiB
/// at a time on this host, with the kernel's own counters beside the times.
extension HostProbe {
    static let hugeBytes = 2 << 20
    static let thpDirectory = "/sys/kernel/mm/transparent_hugepage/"

    /// What the kernel counted over a probe's timed runs (deltas; nil when
    /// the file could not be read).
    public struct HugeCounts: Sendable, Equatable {
        /// Timed operations (one per 2 MiB).
        public var operations = 0
        /// Minor faults (getrusage; the child's own in the child).
        public var minorFaults: Int64? = 0
        /// `/proc/vmstat` thp_fault_alloc: huge pages allocated at fault.
        public var thpFaultAlloc: Int64? = 0
        /// `/proc/vmstat` thp_split_pmd: huge mappings split.
        public var thpSplitPMD: Int64? = 0
        /// `/proc/vmstat` thp_zero_page_alloc: the huge zero page allocated.
        public var thpZeroPageAlloc: Int64? = 0
        /// `/proc/self/smaps_rollup` AnonHugePages growth, in KiB (parent only).
        public var anonHugeKiB: Int64? = 0
        /// Advised 2 MiB spans whose second 4 KiB page then read without a
        /// fault (the huge zero page maps all 512); huge-zero read probe only.
        public var hugeZeroMapped: Int? = nil

        public init() {}

        /// "32 ops, 32 faults, thp_fault_alloc +32, AnonHugePages +65536 kB".
        public var summary: String {
            func delta(_ value: Int64?) -> String { value.map { ($0 >= 0 ? "+" : "") + String($0) } ?? "?" }
            var parts = ["\(operations) ops", "\(minorFaults.map(String.init) ?? "?") faults",
                         "thp_fault_alloc \(delta(thpFaultAlloc))", "thp_split_pmd \(delta(thpSplitPMD))"]
            if let thpZeroPageAlloc, thpZeroPageAlloc != 0 { parts.append("thp_zero_page_alloc \(delta(thpZeroPageAlloc))") }
            if let anonHugeKiB, anonHugeKiB != 0 { parts.append("AnonHugePages \(delta(anonHugeKiB)) kB") }
            if let hugeZeroMapped { parts.append("\(hugeZeroMapped) huge-zero mapped") }
            return parts.joined(separator: ", ")
        }

        static func + (a: HugeCounts, b: HugeCounts) -> HugeCounts {
            func sum<T: AdditiveArithmetic>(_ x: T?, _ y: T?) -> T? { x.flatMap { x in y.map { x + $0 } } }
            var c = HugeCounts()
            c.operations = a.operations + b.operations
            c.minorFaults = sum(a.minorFaults, b.minorFaults)
            c.thpFaultAlloc = sum(a.thpFaultAlloc, b.thpFaultAlloc)
            c.thpSplitPMD = sum(a.thpSplitPMD, b.thpSplitPMD)
            c.thpZeroPageAlloc = sum(a.thpZeroPageAlloc, b.thpZeroPageAlloc)
            c.anonHugeKiB = sum(a.anonHugeKiB, b.anonHugeKiB)
            c.hugeZeroMapped = a.hugeZeroMapped == nil && b.hugeZeroMapped == nil ? nil : (a.hugeZeroMapped ?? 0) + (b.hugeZeroMapped ?? 0)
            return c
        }
    }

    /// One THP operation as measured: the median ns per 2 MiB and the counts.
    public struct HugeMeasurement: Sendable, Equatable {
        public var time: Measurement
        public var counts: HugeCounts

        public init(time: Measurement, counts: HugeCounts = HugeCounts()) {
            self.time = time
            self.counts = counts
        }
    }

    /// The kernel's counters at one moment.
    struct CounterSnapshot {
        var vmstat: [String: Int64]?
        var anonHugeKiB: Int64?
        var minorFaults: Int64

        static func now(smaps: Bool = true) -> CounterSnapshot {
            CounterSnapshot(vmstat: HostFile.read("/proc/vmstat").map(parseVMStat),
                            anonHugeKiB: smaps ? HostFile.read("/proc/self/smaps_rollup").flatMap(parseAnonHuge) : nil,
                            minorFaults: HostProbe.minorFaults())
        }

        /// The counts from `self` to `later`, over `operations` operations.
        func counts(to later: CounterSnapshot, operations: Int) -> HugeCounts {
            func delta(_ name: String) -> Int64? {
                guard let a = vmstat?[name], let b = later.vmstat?[name] else { return nil }
                return b - a
            }
            var c = HugeCounts()
            c.operations = operations
            c.minorFaults = later.minorFaults - minorFaults
            c.thpFaultAlloc = delta("thp_fault_alloc")
            c.thpSplitPMD = delta("thp_split_pmd")
            c.thpZeroPageAlloc = delta("thp_zero_page_alloc")
            c.anonHugeKiB = anonHugeKiB.flatMap { a in later.anonHugeKiB.map { $0 - a } }
            return c
        }
    }

    /// `/proc/vmstat`'s "name value" lines.
    static func parseVMStat(_ text: String) -> [String: Int64] {
        var values: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, let value = Int64(fields[1]) { values[String(fields[0])] = value }
        }
        return values
    }

    /// The `AnonHugePages:   2048 kB` line of `/proc/self/smaps_rollup`, in KiB.
    static func parseAnonHuge(_ text: String) -> Int64? {
        for line in text.split(separator: "\n") where line.hasPrefix("AnonHugePages:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int64($0) }
        }
        return nil
    }

    /// Why THP cannot be probed on this host (from the `enabled` setting's
    /// text, nil when missing), or nil when it can.
    static func thpRefusal(enabled: String?) -> String? {
        guard let enabled else { return "no transparent huge pages on this host (\(thpDirectory)enabled is missing)" }
        if enabled.contains("[never]") { return "THP is [never] on this host (\(thpDirectory)enabled)" }
        guard enabled.contains("[always]") || enabled.contains("[madvise]") else {
            return "cannot read the THP mode from \(thpDirectory)enabled"
        }
        return nil
    }

    /// A 2 MiB-aligned anonymous region of `hugePages` × 2 MiB advised
    /// MADV_HUGEPAGE: `mapping` is what to unmap, `base` the aligned start.
    struct HugeRegion {
        var mapping: UnsafeMutableRawPointer
        var length: Int
        var base: UnsafeMutableRawPointer
        var hugePages: Int

        init?(hugePages: Int) {
            length = (hugePages + 1) * HostProbe.hugeBytes
            guard let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                  address != UnsafeMutableRawPointer(bitPattern: -1) else { return nil }
            mapping = address
            let misalignment = Int(bitPattern: address) & (HostProbe.hugeBytes - 1)
            base = address + (misalignment == 0 ? 0 : HostProbe.hugeBytes - misalignment)
            self.hugePages = hugePages
            guard madvise(base, hugePages * HostProbe.hugeBytes, MADV_HUGEPAGE) == 0 else {
                _ = munmap(address, length)
                return nil
            }
        }

        func free() { _ = munmap(mapping, length) }
    }

    /// Times one access at `offset` in each 2 MiB of `0..<hugePages` into
    /// `samples` (raw ns, clock overhead not taken off); plain pointer code,
    /// as it also runs in a fork child.
    @inline(never)
    static func timedHugeTouches(_ base: UnsafeMutableRawPointer, hugePages: Int, offset: Int, write: Bool, value: UInt8,
                                 into samples: UnsafeMutablePointer<Int64>) -> UInt64 {
        var sum: UInt64 = 0
        var i = 0
        while i < hugePages {
            let address = base + (i &* hugeBytes &+ offset)
            let t0 = now()
            if write { address.storeBytes(of: value, as: UInt8.self) } else { sum &+= UInt64(address.load(as: UInt8.self)) }
            let t1 = now()
            samples[i] = t1 &- t0
            i &+= 1
        }
        return sum
    }

    /// The fork child of the split probe: times one write per 2 MiB, stores
    /// its minor faults after the samples, and exits.
    @inline(never)
    static func splittingChild(_ base: UnsafeMutableRawPointer, hugePages: Int, value: UInt8, buffer: SampleBuffer) -> Never {
        let faults0 = minorFaults()
        _ = timedHugeTouches(base, hugePages: hugePages, offset: 0, write: true, value: value, into: buffer.samples)
        buffer.samples[hugePages] = minorFaults() &- faults0
        buffer.reported = Int64(hugePages &+ 1)
        _exit(0)
    }

    /// The THP probes, each over `plan.hugePages` 2 MiB spans per run:
    /// first-touch writes; fork, the child's writes (split + copy), the
    /// parent's writes after the child exited (reuse); on a second region
    /// huge-zero reads, then writes. Every row is unavailable when THP is off.
    public static func measureHugePages(_ plan: Plan) -> [Calibration.HugeOperation: HugeMeasurement] {
        let enabled = HostFile.read(thpDirectory + "enabled")
        if let refusal = thpRefusal(enabled: enabled) {
            return Dictionary(uniqueKeysWithValues: Calibration.HugeOperation.allCases.map {
                ($0, HugeMeasurement(time: .unavailable(refusal)))
            })
        }
        var samples: [Calibration.HugeOperation: [Double]] = [:]
        var counts: [Calibration.HugeOperation: HugeCounts] = [:]
        var problem: Measurement? = nil
        let n = plan.hugePages
        guard let buffer = SampleBuffer(batches: n + 2) else { return allRows(mmapFailed()) }
        defer { buffer.free() }
        let overhead = Int64(clockOverhead)
        func record(_ operation: Calibration.HugeOperation, _ run: Int, _ c: HugeCounts) {
            guard run > 0 else { return }
            samples[operation, default: []] += (0..<n).map { Double(max(buffer.samples[$0] - overhead, 1)) }
            counts[operation] = (counts[operation] ?? HugeCounts()) + c
        }
        var sink: UInt64 = 0
        for run in 0...plan.runs {
            let value = UInt8(truncatingIfNeeded: run | 1)
            guard let region = HugeRegion(hugePages: n) else { problem = mmapFailed(); break }
            defer { region.free() }
            // First touch.
            var before = CounterSnapshot.now()
            sink &+= timedHugeTouches(region.base, hugePages: n, offset: 0, write: true, value: value, into: buffer.samples)
            record(.thpFault, run, before.counts(to: .now(), operations: n))
            // Fork: the child writes (split + 4 KiB copy), then the parent after it exited (reuse).
            buffer.reported = 0
            before = CounterSnapshot.now(smaps: false)
            let child = fork()
            if child == 0 { splittingChild(region.base, hugePages: n, value: value &+ 1, buffer: buffer) }
            guard child > 0 else { problem = .unavailable("fork failed (errno \(errno))"); break }
            guard reap(child), buffer.reported == Int64(n + 1) else { problem = .unavailable("the fork child did not report"); break }
            var c = before.counts(to: .now(smaps: false), operations: n)
            c.minorFaults = buffer.samples[n]
            c.anonHugeKiB = nil
            record(.thpSplitCopy, run, c)
            before = CounterSnapshot.now()
            sink &+= timedHugeTouches(region.base, hugePages: n, offset: 0, write: true, value: value &+ 2, into: buffer.samples)
            record(.thpReuse, run, before.counts(to: .now(), operations: n))
            // The huge zero page: reads, then writes, on a fresh region.
            guard let zero = HugeRegion(hugePages: n) else { problem = mmapFailed(); break }
            defer { zero.free() }
            before = CounterSnapshot.now()
            sink &+= timedHugeTouches(zero.base, hugePages: n, offset: 0, write: false, value: 0, into: buffer.samples)
            var reads = before.counts(to: .now(), operations: n)
            // A huge zero mapping covers the 2 MiB: a read of its second page takes no fault.
            var mapped = 0
            for i in 0..<n {
                let faults0 = minorFaults()
                sink &+= UInt64((zero.base + i * hugeBytes + pageBytes).load(as: UInt8.self))
                if minorFaults() == faults0 { mapped += 1 }
            }
            reads.hugeZeroMapped = mapped
            record(.hugeZeroRead, run, reads)
            before = CounterSnapshot.now()
            sink &+= timedHugeTouches(zero.base, hugePages: n, offset: 0, write: true, value: value, into: buffer.samples)
            record(.hugeZeroWrite, run, before.counts(to: .now(), operations: n))
        }
        if let problem { return allRows(problem) }
        if sink == UInt64.max { return allRows(.unavailable("impossible sum")) }
        let zeroPage = HostFile.read(thpDirectory + "use_zero_page")
        var result: [Calibration.HugeOperation: HugeMeasurement] = [:]
        for operation in Calibration.HugeOperation.allCases {
            let c = counts[operation] ?? HugeCounts()
            let time = summarize(samples[operation] ?? [])
            result[operation] = HugeMeasurement(time: hugeVerdict(operation, time, c, useZeroPage: zeroPage), counts: c)
        }
        return result
    }

    static func allRows(_ measurement: Measurement) -> [Calibration.HugeOperation: HugeMeasurement] {
        Dictionary(uniqueKeysWithValues: Calibration.HugeOperation.allCases.map { ($0, HugeMeasurement(time: measurement)) })
    }

    /// `time`, or skipped when `counts` show the operation did not take the
    /// huge path it names (no huge page allocated, no split, no huge zero page).
    static func hugeVerdict(_ operation: Calibration.HugeOperation, _ time: Measurement, _ counts: HugeCounts,
                            useZeroPage: String?) -> Measurement {
        guard time.nanoseconds != nil else { return time }
        let ops = Int64(max(counts.operations, 1))
        func skipped(_ why: String) -> Measurement {
            Measurement(nanoseconds: nil, problem: "skipped: \(why) (\(counts.summary))")
        }
        switch operation {
        case .thpFault:
            let huge = (counts.anonHugeKiB ?? 0) / 2048
            if huge <= 0 && (counts.thpFaultAlloc ?? 0) <= 0 { return skipped("the counters show no huge page was used") }
            if huge < ops / 2 { return skipped("only \(huge) of \(ops) writes got a huge page") }
        case .thpSplitCopy:
            if (counts.thpSplitPMD ?? 0) < ops / 2 { return skipped("the counters show no huge mapping was split") }
        case .thpReuse:
            if (counts.thpSplitPMD ?? 0) > ops / 2 || (counts.anonHugeKiB ?? 0) < 0 {
                return skipped("the parent's huge pages were split, not reused")
            }
        case .hugeZeroRead:
            if let flag = useZeroPage, flag.hasPrefix("0") { return skipped("the huge zero page is off (use_zero_page 0)") }
            if Int64(counts.hugeZeroMapped ?? 0) < ops / 2 { return skipped("the reads mapped 4 KiB zero pages, not the huge zero page") }
        case .hugeZeroWrite:
            if (counts.thpFaultAlloc ?? 0) <= 0 && (counts.thpSplitPMD ?? 0) <= 0 {
                return skipped("the counters show no huge page allocated and no split")
            }
            if (counts.thpFaultAlloc ?? 0) < ops / 2 {
                var noted = time
                noted.problem = "the kernel split the huge zero mapping (Linux < 6.12) instead of allocating a huge page"
                return noted
            }
        }
        return time
    }
}
