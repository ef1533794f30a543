#if canImport(Glibc)
import Glibc
#endif

/// The host measurements: real mmap, madvise, fork and page touches timed with
/// the thread's CPU clock around short batches (64 pages), so that neither time
/// spent preempted nor an odd slow batch moves the median.
public enum HostProbe {
    /// How much each probe does.
    public struct Plan: Sendable {
        /// Pages per fault probe's mapping (and per memset/memcpy buffer).
        public var pages: Int
        /// Timed runs per probe, after one untimed warm-up run.
        public var runs: Int
        /// Populated MiB for the fork probe.
        public var forkMiB: Int
        /// MADV_DONTNEED + touch rounds per shootdown run.
        public var shootdownRounds: Int
        /// 2 MiB spans per THP probe region (HostTHPProbe.swift).
        public var hugePages: Int

        /// The full plan (a few seconds), or with `quick` fewer and smaller probes (about a second).
        public init(quick: Bool) {
            pages = quick ? 2048 : 8192
            runs = quick ? 3 : 12
            forkMiB = quick ? 32 : 128
            shootdownRounds = quick ? 400 : 2000
            hugePages = quick ? 8 : 32
        }
    }

    /// Pages (or 4 KiB blocks, or shootdown rounds) per timed batch.
    public static let batch = 64
    static let pageBytes = 4096

    /// One operation as measured, or why it could not be.
    public struct Measurement: Sendable, Equatable {
        /// Mean ns per operation (the median batch), nil when unavailable.
        public var nanoseconds: Double?
        /// Why the value is missing or doubtful.
        public var problem: String?

        public static func value(_ ns: Double) -> Measurement { Measurement(nanoseconds: ns, problem: nil) }
        public static func unavailable(_ why: String) -> Measurement { Measurement(nanoseconds: nil, problem: "unavailable: " + why) }
    }

    /// Runs every probe on this host.
    public static func measureAll(_ plan: Plan) -> [Calibration.Operation: Measurement] {
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
        public var pages: Int
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

}
