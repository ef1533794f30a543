import MMUHardware

/// How one trace access ended.
public enum AccessResult: Hashable, Sendable {
    /// The access completed; the value read (for a store, the value stored).
    case completed(UInt64)
    /// SIGSEGV: no effect, not retried, the process keeps running.
    case segmentationFault
    /// The process was killed (out of frames) during the access.
    case killed
    /// The core runs no process.
    case idle
}

/// A running system: the emulated hardware (`machine`) and the small kernel
/// on it (`kernel`), side by side. Accesses run on the machine, which calls
/// the kernel's exception entry points; system calls run in the kernel,
/// which drives the machine as software does. Everything is a value,
/// mutated in place under one owner on one thread.
public struct System: Sendable {
    public private(set) var machine: Machine
    public private(set) var kernel: Kernel

    public init(configuration: Configuration, logEvents: Bool = false) {
        machine = Machine(frames: configuration.frames, cores: configuration.cores,
                          geometry: configuration.geometry, costs: configuration.costs,
                          pcidEnabled: configuration.pcid, logEvents: logEvents, pagingLevels: configuration.pagingLevels)
        kernel = Kernel(configuration: configuration)
    }

    public var configuration: Configuration { kernel.configuration }
    public var coreCount: Int { machine.cores.count }
    /// The process each core runs (nil: idle).
    public var current: [ProcessID?] { kernel.scheduler.current }
    public var frames: FrameAllocator { kernel.frames }
    public var processes: ProcessTable { kernel.processes }

    public func isAlive(_ process: ProcessID) -> Bool { kernel.processes.isAlive(process) }

    // MARK: Accesses

    /// One trace access: an 8-byte load or store, or a 1-byte fetch. An access
    /// that crosses a page translates both pages.
    public mutating func access(core: CoreID, _ kind: AccessKind, _ address: VirtualAddress, store value: UInt64 = 0) -> AccessResult {
        let operation: MemoryOperation
        switch kind {
        case .read: operation = .load(address)
        case .write: operation = .store(address, value)
        case .fetch: operation = .fetch(address)
        }
        return Self.result(machine.execute(operation, on: core, os: &kernel))
    }

    /// A sized access with no data (a memory-trace record: Lackey, ChampSim):
    /// translates every page the `bytes` from `address` touch, each with its own
    /// lookups, walks and faults, and counts one access (`cost.access` once).
    public mutating func touch(core: CoreID, _ kind: AccessKind, _ address: VirtualAddress, bytes: UInt64) -> AccessResult {
        Self.result(machine.execute(.reference(kind, address, bytes: bytes), on: core, os: &kernel))
    }

    @inline(__always) static func result(_ outcome: ExecutionOutcome) -> AccessResult {
        switch outcome {
        case .completed(let value): return .completed(value)
        case .instructionSkipped: return .segmentationFault
        case .processKilled: return .killed
        case .idle: return .idle
        }
    }

    // MARK: Processes, scheduling and system calls

    /// `process`: a new, empty address space (its PML4 is set-up work no core
    /// pays for). Out of frames, the process starts dead.
    public mutating func createProcess() -> ProcessID { kernel.createProcess(machine: &machine) }

    /// `switch CORE PID|idle`.
    public mutating func contextSwitch(core: CoreID, to process: ProcessID?) {
        kernel.contextSwitch(core: core, to: process, machine: &machine)
    }

    /// `tick CORE`.
    public mutating func tick(core: CoreID) { kernel.tick(core: core, machine: &machine) }

    /// `map`: a new region of the core's process (hugetlb when `pageSize`
    /// is 2 MiB or 1 GiB); false when it overlaps one.
    @discardableResult
    public mutating func map(core: CoreID, _ address: VirtualAddress, pages: UInt64, _ permissions: RegionPermissions,
                             pageSize: PageSize = .size4K) -> Bool {
        kernel.map(core: core, address, pages: pages, permissions, pageSize: pageSize, machine: &machine)
    }

    /// `madvise … hugepage|nohugepage`.
    public mutating func madvise(core: CoreID, _ address: VirtualAddress, pages: UInt64, _ advice: HugePageAdvice) {
        kernel.madvise(core: core, address, pages: pages, advice, machine: &machine)
    }

    /// `unmap`.
    public mutating func unmap(core: CoreID, _ address: VirtualAddress, pages: UInt64) {
        kernel.unmap(core: core, address, pages: pages, machine: &machine)
    }

    /// `protect`.
    public mutating func protect(core: CoreID, _ address: VirtualAddress, pages: UInt64, _ permissions: RegionPermissions) {
        kernel.protect(core: core, address, pages: pages, permissions, machine: &machine)
    }

    /// `fork`: the child, which runs nowhere (nil when the core is idle).
    public mutating func fork(core: CoreID) -> ProcessID? { kernel.fork(core: core, machine: &machine) }

    /// `exit`.
    public mutating func exit(core: CoreID) { kernel.exit(core: core, machine: &machine) }

    // MARK: Events and checks

    /// Turns event recording on or off on `core` (nil: every core).
    public mutating func setLogging(_ on: Bool, core: CoreID? = nil) {
        if let core { machine[core].setLogging(on) } else { machine.setLogging(on) }
    }

    /// The events `core` recorded since the last drain.
    public mutating func drainEvents(core: CoreID) -> [Event] { machine[core].drainEvents() }

    /// Whether the coherence checker runs (off: one branch per translation).
    public var checksCoherence: Bool {
        get { kernel.observesTranslations }
        set {
            kernel.checker = newValue ? (kernel.checker ?? CoherenceChecker()) : nil
            kernel.observesTranslations = newValue
        }
    }

    /// Hands over the coherence violations found so far.
    public mutating func drainCoherenceViolations() -> [CoherenceViolation] {
        kernel.checker?.drain() ?? []
    }

    /// Translations the coherence checker has checked.
    public var translationsChecked: UInt64 { kernel.checker?.translationsChecked ?? 0 }

    // MARK: Statistics

    /// The value of statistic `name` (`NAME` for a total, `coreN.NAME` per
    /// core), or nil for a name that is no statistic of this run.
    public func statistic(_ name: String) -> UInt64? {
        guard let (statistic, core) = Statistic.resolve(name, cores: coreCount) else { return nil }
        return statistic.value(in: self, core: core)
    }

    /// Whether `name` is a statistic of a run with `cores` cores.
    public static func isStatisticName(_ name: String, cores: Int) -> Bool {
        Statistic.resolve(name, cores: cores) != nil
    }

    /// Every statistic name this run reports: totals, then `coreN.NAME` per core.
    public var statisticNames: [String] {
        Statistic.all.map(\.name) + (0..<coreCount).flatMap { c in Statistic.perCore.map { "core\(c).\($0.name)" } }
    }
}

#if MMUSIM_FAULT_INJECTION
extension System {
    /// Deliberate bugs (tests only).
    var defects: KernelDefects {
        get { kernel.defects }
        set { kernel.defects = newValue }
    }
}
#endif
