#if canImport(Glibc)
import Glibc
#endif

/// The probes of the fault paths, zeroing and copying, and fork.
extension HostProbe {
    /// Per-page batch samples and minor faults over a probe's timed runs.
    struct Tally {
        var samples: [Double] = []
        var faults: Int64 = 0
        var touched = 0

        /// Adds one run: `batches` batches of `buffer`, `faults` minor faults over `pages` pages.
        mutating func add(_ buffer: SampleBuffer, batches: Int, faults: Int64, pages: Int) {
            samples += perPage(buffer.samples, buffer.counts, batches)
            self.faults += faults
            touched += pages
        }

        /// The median per page, with a note when a page did not fault once.
        var measurement: Measurement { summarize(samples, faultsPerPage: Double(faults) / Double(max(touched, 1))) }
    }

    /// `timedBatches` over all of `0..<pages`, with the minor faults it took.
    static func timedFaults(_ base: UnsafeMutableRawPointer, pages: Int, write: Bool, value: UInt8, skipTableHeads: Bool,
                            _ buffer: SampleBuffer) -> (batches: Int, faults: Int64) {
        let faults0 = minorFaults()
        let count = timedBatches(base, pages: pages, write: write, value: value, skipTableHeads: skipTableHeads,
                                 into: buffer.samples, counts: buffer.counts)
        return (count, minorFaults() - faults0)
    }

    static func mmapFailed() -> Measurement { .unavailable("mmap failed (errno \(errno))") }

    /// Demand zero (write) or zero page (read): first touch of each page of a
    /// fresh mapping whose page tables already exist.
    static func firstTouch(_ plan: Plan, write: Bool) -> Measurement {
        let pages = plan.pages
        guard let buffer = SampleBuffer(batches: pages / batch + 1) else { return mmapFailed() }
        defer { buffer.free() }
        var tally = Tally()
        var sink: UInt64 = 0
        for run in 0...plan.runs {
            guard let base = mapAnonymous(pages: pages) else { return mmapFailed() }
            sink &+= buildTables(base, pages: pages, write: write)
            let timed = timedFaults(base, pages: pages, write: write, value: UInt8(truncatingIfNeeded: run | 1),
                                    skipTableHeads: true, buffer)
            unmap(base, pages: pages)
            guard run > 0 else { continue }
            tally.add(buffer, batches: timed.batches, faults: timed.faults, pages: visited(0, pages, skipTableHeads: true))
        }
        // The zero page reads as 0: the sum only keeps the reads.
        if sink == UInt64.max { return .unavailable("impossible sum") }
        return tally.measurement
    }

    /// Calls `body` once per run (run 0 is the untimed warm-up) with a fresh
    /// mapping of `plan.pages` pages, each page written once; returns the
    /// first problem `body` reports, or nil.
    static func overWrittenMappings(_ plan: Plan, _ body: (_ run: Int, _ base: UnsafeMutableRawPointer) -> Measurement?) -> Measurement? {
        for run in 0...plan.runs {
            guard let base = mapAnonymous(pages: plan.pages) else { return mmapFailed() }
            defer { unmap(base, pages: plan.pages) }
            _ = touch(base, 0, plan.pages, write: true, value: 1, skipTableHeads: false)
            if let problem = body(run, base) { return problem }
        }
        return nil
    }

    /// COW reuse: the pages are written, the process forks, the child exits at
    /// once; after waitpid each page is mapped once again, so the parent's
    /// write through its write-protected PTE reuses the page (no copy).
    static func copyOnWriteReuse(_ plan: Plan) -> Measurement {
        guard let buffer = SampleBuffer(batches: plan.pages / batch + 1) else { return mmapFailed() }
        defer { buffer.free() }
        var tally = Tally()
        let problem = overWrittenMappings(plan) { run, base in
            let child = fork()
            if child == 0 { _exit(0) }
            guard child > 0 else { return .unavailable("fork failed (errno \(errno))") }
            guard reap(child) else { return .unavailable("the fork child did not exit cleanly") }
            let timed = timedFaults(base, pages: plan.pages, write: true, value: UInt8(truncatingIfNeeded: run | 2),
                                    skipTableHeads: false, buffer)
            if run > 0 { tally.add(buffer, batches: timed.batches, faults: timed.faults, pages: plan.pages) }
            return nil
        }
        return problem ?? tally.measurement
    }

    /// COW copy: the pages are written, the process forks, and the child writes
    /// each page (still mapped by the parent, so copied). The child is
    /// single-threaded, so the old translation is flushed on its CPU only. It
    /// reports through MAP_SHARED memory and runs nothing but pointer code,
    /// clock_gettime, getrusage and _exit (safe after fork of a threaded process).
    static func copyOnWriteCopy(_ plan: Plan) -> Measurement {
        guard let buffer = SampleBuffer(batches: plan.pages / batch + 2) else { return mmapFailed() }
        defer { buffer.free() }
        var tally = Tally()
        let problem = overWrittenMappings(plan) { run, base in
            buffer.reported = 0
            let child = fork()
            if child == 0 { copyingChild(base, pages: plan.pages, value: UInt8(truncatingIfNeeded: run | 2), buffer: buffer) }
            guard child > 0 else { return .unavailable("fork failed (errno \(errno))") }
            guard reap(child), buffer.reported > 0 else { return .unavailable("the fork child did not report") }
            // The child stores its fault count after the last batch.
            let count = Int(buffer.reported)
            if run > 0 { tally.add(buffer, batches: count - 1, faults: buffer.samples[count - 1], pages: plan.pages) }
            return nil
        }
        return problem ?? tally.measurement
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
}
