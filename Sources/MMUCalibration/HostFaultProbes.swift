#if canImport(Glibc)
import Glibc
#endif

/// The probes of the fault paths, zeroing and copying, and fork.
extension HostProbe {
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
}
