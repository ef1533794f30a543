#if canImport(Glibc)
import Glibc
#endif

/// The MADV_DONTNEED probes: one thread alone, and with a second thread on
/// another CPU that each round must shoot down.
extension HostProbe {
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

    /// The TLB-shootdown interrupts `cpu` has taken ("TLB:" in /proc/interrupts).
    static func tlbShootdownInterrupts(cpu: Int) -> Int64? {
        guard let text = HostFile.read("/proc/interrupts") else { return nil }
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
