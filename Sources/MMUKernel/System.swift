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
    public internal(set) var machine: Machine
    /// The host's kernel (with the hypervisor, which owns every VM's nested tables).
    public internal(set) var kernel: Kernel
    /// Each VM's guest kernel, by VM index (`vm` directives in order); the
    /// hypervisor keeps them.
    public var guests: [Kernel] { kernel.hypervisor.guests }
    /// Each VM's identifier as the trace names it (`vm VMID FRAMES`), by index.
    public private(set) var vmIDs: [UInt64] = []

    public init(configuration: Configuration, logEvents: Bool = false) {
        machine = Machine(frames: configuration.frames, cores: configuration.cores,
                          geometry: configuration.geometry, costs: configuration.costs,
                          pcidEnabled: configuration.pcid, logEvents: logEvents, pagingLevels: configuration.pagingLevels)
        kernel = Kernel(configuration: configuration)
    }

    /// Whether the run has virtual machines (then it reports their statistics).
    public var hasVirtualMachines: Bool { !kernel.hypervisor.guests.isEmpty }

    /// The VM `core` is in (nil: the host), as its loaded VMCS says.
    public func vm(on core: CoreID) -> Int? { kernel.guestOf(core, machine) }

    public var configuration: Configuration { kernel.configuration }
    public var coreCount: Int { machine.cores.count }
    /// The process each core runs (nil: idle); a guest's process by its
    /// handle (`guestProcess(vm:_:)`).
    public var current: [ProcessID?] {
        guard hasVirtualMachines else { return kernel.scheduler.current }
        return (0..<coreCount).map { c in
            guard let vm = vm(on: CoreID(c)) else { return kernel.scheduler.current[c] }
            return kernel.hypervisor.guests[vm].scheduler.current[c].map { Self.guestProcess(vm: vm, $0) }
        }
    }
    public var frames: FrameAllocator { kernel.frames }
    public var processes: ProcessTable { kernel.processes }

    public func isAlive(_ process: ProcessID) -> Bool {
        guard let (vm, local) = Self.splitGuestProcess(process) else { return kernel.processes.isAlive(process) }
        return guests.indices.contains(vm) && guests[vm].processes.isAlive(local)
    }

    // MARK: Accesses

    /// One trace access: an 8-byte load or store, or a 1-byte fetch. An access
    /// that crosses a page translates both pages.
    @inline(__always) public mutating func access(core: CoreID, _ kind: AccessKind, _ address: VirtualAddress, store value: UInt64 = 0) -> AccessResult {
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
    @inline(__always) public mutating func touch(core: CoreID, _ kind: AccessKind, _ address: VirtualAddress, bytes: UInt64) -> AccessResult {
        return Self.result(machine.execute(.reference(kind, address, bytes: bytes), on: core, os: &kernel))
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

    /// `process PID vm VMID`: a new address space inside VM `vm`, its root
    /// table a frame of the guest's own pool.
    public mutating func createProcess(inVM vm: Int) -> ProcessID {
        Self.guestProcess(vm: vm, inGuest(vm, core: nil) { guest, machine in guest.createProcess(machine: &machine) })
    }

    /// `switch CORE PID|idle`. A switch to a process of another VM, or
    /// between a VM and the host, loads that VM's VMCS (or none) and pays
    /// `cost.vm.switch` before the switch itself; the context left forgets
    /// the core with no charge (a descheduled vCPU). `idle` keeps the core in
    /// its context. Entering a VM does the INVEPT a shootdown left for the core.
    public mutating func contextSwitch(core: CoreID, to process: ProcessID?) {
        guard let process else {
            if let vm = vm(on: core) {
                inGuest(vm, core: core) { guest, machine in guest.contextSwitch(core: core, to: nil, machine: &machine) }
            } else {
                kernel.contextSwitch(core: core, to: nil, machine: &machine)
            }
            return
        }
        let target = Self.splitGuestProcess(process)
        let from = vm(on: core)
        if target?.vm != from {
            machine[core].charge(.vmSwitch)
            if let from { kernel.hypervisor.guests[from].deschedule(core) } else { kernel.deschedule(core) }
            machine[core].loadVMCS(target.map { kernel.hypervisor.machines[$0.vm].controls })
            if let vm = target?.vm { NestedShootdown.flushAtEntry(vm: vm, on: core, kernel: &kernel, machine: &machine) }
        }
        if let (vm, local) = target {
            inGuest(vm, core: core) { guest, machine in guest.contextSwitch(core: core, to: local, machine: &machine) }
        } else {
            kernel.contextSwitch(core: core, to: process, machine: &machine)
        }
    }

    /// `tick CORE`.
    public mutating func tick(core: CoreID) {
        onCore(core) { kernel, machine in kernel.tick(core: core, machine: &machine) }
    }

    /// `map`: a new region of the core's process (hugetlb when `pageSize`
    /// is 2 MiB or 1 GiB); false when it overlaps one.
    @discardableResult
    public mutating func map(core: CoreID, _ address: VirtualAddress, pages: UInt64, _ permissions: RegionPermissions,
                             pageSize: PageSize = .size4K) -> Bool {
        onCore(core) { kernel, machine in
            kernel.map(core: core, address, pages: pages, permissions, pageSize: pageSize, machine: &machine)
        }
    }

    /// `madvise … hugepage|nohugepage`.
    public mutating func madvise(core: CoreID, _ address: VirtualAddress, pages: UInt64, _ advice: HugePageAdvice) {
        onCore(core) { kernel, machine in kernel.madvise(core: core, address, pages: pages, advice, machine: &machine) }
    }

    /// `unmap`.
    public mutating func unmap(core: CoreID, _ address: VirtualAddress, pages: UInt64) {
        onCore(core) { kernel, machine in kernel.unmap(core: core, address, pages: pages, machine: &machine) }
    }

    /// `protect`.
    public mutating func protect(core: CoreID, _ address: VirtualAddress, pages: UInt64, _ permissions: RegionPermissions) {
        onCore(core) { kernel, machine in kernel.protect(core: core, address, pages: pages, permissions, machine: &machine) }
    }

    /// `fork`: the child, which runs nowhere (nil when the core is idle).
    public mutating func fork(core: CoreID) -> ProcessID? {
        guard let vm = vm(on: core) else { return kernel.fork(core: core, machine: &machine) }
        return inGuest(vm, core: core) { guest, machine in guest.fork(core: core, machine: &machine) }
            .map { Self.guestProcess(vm: vm, $0) }
    }

    /// `exit`.
    public mutating func exit(core: CoreID) {
        onCore(core) { kernel, machine in kernel.exit(core: core, machine: &machine) }
    }

    // MARK: Virtual machines

    /// `vm VMID FRAMES`: a guest of `frames` guest-physical frames, its
    /// kernel, and an empty nested root in host memory. Nil when the host has
    /// no frame for the root or every VPID is taken.
    public mutating func createVirtualMachine(id: UInt64, frames: Int) -> Int? {
        guard let vm = kernel.createVirtualMachine(frames: frames, machine: &machine) else { return nil }
        vmIDs.append(id)
        var configuration = kernel.configuration
        configuration.frames = frames
        var guest = Kernel(configuration: configuration,
                           guest: GuestIdentity(vm: vm, controls: kernel.hypervisor.machines[vm].controls))
        // The slot the host's kernel is lent into while the guest's runs.
        guest.lentHost = [Kernel.vacant]
        if kernel.observesTranslations {
            guest.checker = CoherenceChecker()
            guest.observesTranslations = true
        }
        kernel.hypervisor.guests.append(guest)
        return vm
    }

    /// `ksm [CORE]`: one same-page-merging pass over every VM, run by `core`.
    public mutating func mergeSamePages(core: CoreID) {
        SamePageMerging.scan(on: core, kernel: &kernel, machine: &machine)
    }

    /// The handle of process `local` of VM `vm`, as `current`, `fork` and
    /// `createProcess(inVM:)` give it: the VM above the low 32 bits.
    public static func guestProcess(vm: Int, _ local: ProcessID) -> ProcessID {
        ProcessID(rawValue: (vm + 1) << 32 | local.rawValue)
    }

    /// The VM and process a guest handle stands for (nil: a host process).
    public static func splitGuestProcess(_ process: ProcessID) -> (vm: Int, local: ProcessID)? {
        let vm = process.rawValue >> 32
        guard vm > 0 else { return nil }
        return (vm - 1, ProcessID(rawValue: process.rawValue & 0xFFFF_FFFF))
    }

    /// Runs `body` with the kernel of the context `core` is in.
    mutating func onCore<R>(_ core: CoreID, _ body: (inout Kernel, inout Machine) -> R) -> R {
        guard let vm = vm(on: core) else { return body(&kernel, &machine) }
        return inGuest(vm, core: core, body)
    }

    /// Runs guest `vm`'s kernel (`Kernel.withGuest`).
    mutating func inGuest<R>(_ vm: Int, core: CoreID?, _ body: (inout Kernel, inout Machine) -> R) -> R {
        kernel.withGuest(vm, core: core, machine: &machine, body)
    }

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
            for vm in guests.indices {
                kernel.hypervisor.guests[vm].checker = newValue ? (guests[vm].checker ?? CoherenceChecker()) : nil
                kernel.hypervisor.guests[vm].observesTranslations = newValue
            }
        }
    }

    /// Hands over the coherence violations found so far.
    public mutating func drainCoherenceViolations() -> [CoherenceViolation] {
        var all = kernel.checker?.drain() ?? []
        for vm in guests.indices { all += kernel.hypervisor.guests[vm].checker?.drain() ?? [] }
        return all
    }

    /// Translations the coherence checker has checked.
    public var translationsChecked: UInt64 {
        guests.reduce(kernel.checker?.translationsChecked ?? 0) { $0 + ($1.checker?.translationsChecked ?? 0) }
    }

    // MARK: Statistics

    /// The value of statistic `name` (`NAME` for a total, `coreN.NAME` per
    /// core), or nil for a name that is no statistic of this run.
    public func statistic(_ name: String) -> UInt64? {
        if let (id, statistic) = Statistic.resolveGuest(name) {
            guard let vm = vmIDs.firstIndex(of: UInt64(id)) else { return nil }
            return statistic.value(in: self, vm: vm)
        }
        guard let (statistic, core) = Statistic.resolve(name, cores: coreCount) else { return nil }
        return statistic.value(in: self, core: core)
    }

    /// Whether `name` is a statistic of a run with `cores` cores (`vmN.KEY`
    /// names any VM's; whether VM N exists is the trace's to check).
    public static func isStatisticName(_ name: String, cores: Int) -> Bool {
        Statistic.resolve(name, cores: cores) != nil || Statistic.resolveGuest(name) != nil
    }

    /// The statistics this run reports in each core's and the totals'
    /// lists: `Statistic.all`, and `Statistic.virtualization` after it when
    /// the run has VMs.
    public var reportedStatistics: [Statistic] {
        hasVirtualMachines ? Statistic.all + Statistic.virtualization : Statistic.all
    }

    /// Every statistic name this run reports: totals, then `coreN.NAME` per
    /// core, then `vmN.NAME` per VM.
    public var statisticNames: [String] {
        let reported = reportedStatistics
        return reported.map(\.name)
            + (0..<coreCount).flatMap { c in reported.filter { $0.scope == .perCore }.map { "core\(c).\($0.name)" } }
            + vmIDs.flatMap { id in Statistic.guestKernel.map { "vm\(id).\($0.name)" } }
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
