import MMUHardware
import MMUKernel

// What calibration reads from the model and changes in it, each in one place.

/// Core `core`'s clock, in cycles.
func clock(_ system: System, core: Int) -> UInt64 {
    system.machine.cores[core].clock
}

/// The cost of `key` under `configuration`, in cycles.
func cost(_ configuration: Configuration, _ key: CostKey) -> UInt64 {
    configuration.value(of: key.name).flatMap { UInt64($0) } ?? 0
}

/// `configuration` with the costs in `values` (each clamped to what `set` accepts).
func withCosts(_ configuration: Configuration, _ values: [CostKey: UInt64]) -> Configuration {
    var changed = configuration
    for (key, value) in values.sorted(by: { $0.key.name < $1.key.name }) {
        // Within Configuration.Limits.cost: `set` cannot refuse it.
        try? changed.set(key.name, String(min(value, Configuration.Limits.cost.upperBound)))
    }
    return changed
}

/// Each operation run through `System` as a tiny trace would run it; the
/// prediction is the cycle delta on core 0 (per page where the probe is a pass
/// over pages, less a second pass over the same pages as on the host).
public enum ModelProbe {
    static let base: UInt64 = 0x4000_0000
    static let passPages = HostProbe.batch

    /// Every operation's cycles under `configuration`.
    public static func predictAll(_ configuration: Configuration) -> [Calibration.Operation: Double] {
        var result: [Calibration.Operation: Double] = [:]
        for operation in Calibration.Operation.allCases { result[operation] = cycles(operation, configuration) }
        return result
    }

    /// The model's cycles for one `operation` under `configuration`.
    public static func cycles(_ operation: Calibration.Operation, _ configuration: Configuration) -> Double {
        switch operation {
        case .demandZero: return firstTouch(configuration, .write)
        case .zeroPage: return firstTouch(configuration, .read)
        case .cowReuse: return copyOnWrite(configuration, childExits: true)
        case .cowCopy: return copyOnWrite(configuration, childExits: false)
        case .zero: return Double(cost(configuration, .frameZero))
        case .copy: return Double(cost(configuration, .frameCopy))
        case .forkPerMiB: return Double(Int64(forkCycles(configuration, pages: 512 + 1)) - Int64(forkCycles(configuration, pages: 1))) / 2
        case .dontNeed: return dontNeedRound(configuration, remote: false)
        case .shootdown: return dontNeedRound(configuration, remote: true) - dontNeedRound(configuration, remote: false)
        }
    }

    static func page(_ index: Int) -> VirtualAddress { VirtualAddress(base + UInt64(index) * Paging.pageSize) }

    /// The machine the probes run on: `cores` cores, 256 MiB, the shared zero
    /// page, COW fork, IPI shootdowns.
    static func system(_ configuration: Configuration, cores: Int = 1) -> System {
        var c = configuration
        // Constants every configuration accepts: `set` cannot refuse them.
        for (key, value) in [("cores", String(cores)), ("frames", "65536"), ("zero_page", "on"), ("fork", "cow"), ("shootdown", "ipi")] {
            try? c.set(key, value)
        }
        return System(configuration: c)
    }

    /// Core 0's cycles for one access to each page of `pages`.
    static func pass(_ system: inout System, _ kind: AccessKind, _ pages: Range<Int>) -> Int64 {
        let start = clock(system, core: 0)
        for index in pages { _ = system.access(core: CoreID(0), kind, page(index), store: 0) }
        return Int64(clock(system, core: 0) - start)
    }

    /// A pass over untouched pages minus a second pass, per page; page 0 was
    /// touched first so the page tables exist.
    static func firstTouch(_ configuration: Configuration, _ kind: AccessKind) -> Double {
        var s = system(configuration)
        let core = CoreID(0)
        _ = start(&s, pages: 1024)
        _ = s.access(core: core, kind, page(0))
        return firstPassExtra(&s, kind)
    }

    /// A process on core 0 with `pages` pages mapped read-write from page 0.
    static func start(_ system: inout System, pages: UInt64) -> ProcessID {
        let process = system.createProcess()
        system.contextSwitch(core: CoreID(0), to: process)
        system.map(core: CoreID(0), page(0), pages: pages, [.read, .write])
        return process
    }

    /// A pass over pages 1...passPages minus a second pass over them, per page.
    static func firstPassExtra(_ system: inout System, _ kind: AccessKind) -> Double {
        let pages = 1..<(1 + passPages)
        let first = pass(&system, kind, pages)
        let second = pass(&system, kind, pages)
        return Double(first - second) / Double(passPages)
    }

    /// Writes after a fork: in the child (copy), or in the parent once the
    /// child has exited (reuse). Page 0 is written first, untimed.
    static func copyOnWrite(_ configuration: Configuration, childExits: Bool) -> Double {
        var s = system(configuration)
        let core = CoreID(0)
        let parent = start(&s, pages: 1024)
        _ = pass(&s, .write, 0..<(1 + passPages))
        guard let child = s.fork(core: core) else { return 0 }
        s.contextSwitch(core: core, to: child)
        if childExits {
            s.exit(core: core)
            s.contextSwitch(core: core, to: parent)
        }
        _ = s.access(core: core, .write, page(0))
        return firstPassExtra(&s, .write)
    }

    /// Fork of a process with `pages` populated pages.
    static func forkCycles(_ configuration: Configuration, pages: Int) -> UInt64 {
        var s = system(configuration)
        let core = CoreID(0)
        _ = start(&s, pages: UInt64(pages))
        _ = pass(&s, .write, 0..<pages)
        let start = clock(s, core: 0)
        _ = s.fork(core: core)
        return clock(s, core: 0) - start
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
        let start = clock(s, core: 0)
        for _ in 0..<rounds {
            s.unmap(core: CoreID(0), page(8), pages: 1)
            s.map(core: CoreID(0), page(8), pages: 1, [.read, .write])
            _ = s.access(core: CoreID(0), .write, page(8))
        }
        return Double(clock(s, core: 0) - start) / Double(rounds)
    }
}

/// The THP operations as the model runs them: `thp madvise`, a region of
/// 1 + `hugeSpans` 2 MiB spans advised `hugepage`, one access at the start
/// of each span; span 0 is done first, untimed (it builds the page tables,
/// takes the huge zero page or the child's first fault), and the prediction
/// is the mean cycles of the same access to spans 1...hugeSpans.
extension ModelProbe {
    static let hugeSpans = 4
    static let spanPages = UInt64(512)

    /// Every THP operation's cycles under `configuration`.
    public static func predictAllHuge(_ configuration: Configuration) -> [Calibration.HugeOperation: Double] {
        var result: [Calibration.HugeOperation: Double] = [:]
        for operation in Calibration.HugeOperation.allCases { result[operation] = cycles(operation, configuration) }
        return result
    }

    static func span(_ index: Int) -> VirtualAddress { page(index * Int(spanPages)) }

    /// One access to the start of each span in `spans`, on core 0.
    static func spanPass(_ system: inout System, _ kind: AccessKind, _ spans: Range<Int>) -> Int64 {
        let start = clock(system, core: 0)
        for index in spans { _ = system.access(core: CoreID(0), kind, span(index), store: 1) }
        return Int64(clock(system, core: 0) - start)
    }

    /// The model's cycles for one THP `operation` under `configuration`.
    public static func cycles(_ operation: Calibration.HugeOperation, _ configuration: Configuration) -> Double {
        var c = configuration
        // A value `thp` always accepts: `set` cannot refuse it.
        try? c.set("thp", "madvise")
        var s = system(c)
        let core = CoreID(0)
        let spans = 1 + hugeSpans
        let parent = start(&s, pages: UInt64(spans) * spanPages)
        s.madvise(core: core, page(0), pages: UInt64(spans) * spanPages, .hugepage)
        let timed = 1..<spans
        func perSpan(_ kind: AccessKind) -> Double {
            _ = spanPass(&s, kind, 0..<1)
            return Double(spanPass(&s, kind, timed)) / Double(hugeSpans)
        }
        switch operation {
        case .thpFault:
            return perSpan(.write)
        case .hugeZeroRead:
            return perSpan(.read)
        case .hugeZeroWrite:
            _ = spanPass(&s, .read, 0..<spans)
            return perSpan(.write)
        case .thpSplitCopy, .thpReuse:
            _ = spanPass(&s, .write, 0..<spans)
            guard let child = s.fork(core: core) else { return 0 }
            s.contextSwitch(core: core, to: child)
            if operation == .thpSplitCopy { return perSpan(.write) }
            _ = spanPass(&s, .write, 0..<spans)
            s.exit(core: core)
            s.contextSwitch(core: core, to: parent)
            return perSpan(.write)
        }
    }
}
