import MMUHardware

/// The emulated kernel: the software side of a `System`. Its state is in
/// parts named after Linux's (`FrameAllocator` for the page allocator,
/// `ProcessTable` of `AddressSpace`s, `Scheduler`, the deferred-invalidation
/// queues of `DeferredShootdown`), and its work is done by the parts' code:
/// `PageFaultHandler.swift`, `Fork.swift`, `MemoryMapping.swift`,
/// `PageTableEditor.swift`, the shootdown strategies. It drives the hardware
/// only through `Machine`: page-table stores to memory, INVLPG, flushes, CR3
/// writes, INVLPGB, and the cycles its own code costs.
public struct Kernel: Sendable {
    public let configuration: Configuration
    public internal(set) var frames: FrameAllocator
    public internal(set) var processes: ProcessTable
    public internal(set) var scheduler: Scheduler
    /// Invalidations queued by the `deferred` strategy, and the frames they hold.
    var deferred: DeferredShootdown.Queues
    /// What the kernel counted, per core.
    public internal(set) var statistics: [KernelStatistics]
    /// Frames zeroed as set-up work no core pays for (each `process`'s PML4):
    /// counted in the `pages.zeroed` total, in no core's.
    public internal(set) var setupPagesZeroed: UInt64 = 0
    /// The huge zero page's first frame, once taken (Linux's `huge_zero_folio`).
    var hugeZero: FrameNumber?
    /// The hypervisor's VMs and their nested tables (the host kernel's part).
    public internal(set) var hypervisor = Hypervisor()
    /// Set on a guest's kernel: which VM it runs in.
    public let guest: GuestIdentity?
    /// While a guest's kernel runs, the host's kernel lent to it (its one
    /// element), so the guest's stores can raise EPT violations to the
    /// hypervisor (`System.inGuest`). Empty otherwise.
    var lentHost: [Kernel] = []
    /// Set when the host had no frame for a store the guest kernel made (the
    /// store was lost): the process it worked for is killed when it returns.
    var hostOutOfMemory = false
    /// The coherence checker (`--check-coherence`), when on.
    var checker: CoherenceChecker?
    /// Whether the checker is on, as a plain flag the access path reads.
    /// (The host's kernel forwards a guest core's translations to its guest's checker.)
    public internal(set) var observesTranslations = false
    #if MMUSIM_FAULT_INJECTION
    /// Deliberate bugs, for tests that show the checkers catch them.
    var defects: KernelDefects = []
    #endif

    public init(configuration: Configuration, guest: GuestIdentity? = nil) {
        self.configuration = configuration
        self.guest = guest
        frames = FrameAllocator(frameCount: configuration.frames)
        processes = ProcessTable(pcidEnabled: configuration.pcid, cores: configuration.cores, vpid: guest?.controls.vpid ?? 0)
        scheduler = Scheduler(cores: configuration.cores)
        deferred = DeferredShootdown.Queues(cores: configuration.cores)
        statistics = [KernelStatistics](repeating: KernelStatistics(), count: configuration.cores)
    }

    /// The level of every address space's root table: PML4, or PML5 with five levels.
    var rootLevel: PagingLevel { PagingLevel.root(levels: configuration.pagingLevels) }

    /// Whether deliberate defect `defect` is injected (always false in a
    /// build without fault injection: the checks compile away).
    @inline(__always) func injects(_ defect: KernelDefects) -> Bool {
        #if MMUSIM_FAULT_INJECTION
        return defects.contains(defect)
        #else
        return false
        #endif
    }

    // MARK: Frames

    /// Takes a frame and zeroes it (`cost.frame.alloc`, `cost.frame.zero`).
    mutating func allocateZeroedFrame(_ use: FrameUse, on core: CoreID, machine: inout Machine) -> FrameNumber? {
        guard let frame = allocateFrame(use, on: core, machine: &machine) else { return nil }
        zeroFrame(frame, on: core, machine: &machine)
        return frame
    }

    /// Takes a block of 2^`order` frames (`cost.frame.alloc` once).
    mutating func allocateFrame(_ use: FrameUse, order: Int = 0, on core: CoreID, machine: inout Machine) -> FrameNumber? {
        guard let frame = frames.allocate(use, order: order) else { return nil }
        if checker != nil { checkReuse(frame, order: order, by: core, machine: machine) }
        machine[core].charge(.frameAlloc)
        machine.note(.allocateFrame(frame), on: core)
        return frame
    }

    /// Zeroes a frame for a process (`cost.frame.zero`, `pages.zeroed`).
    mutating func zeroFrame(_ frame: FrameNumber, on core: CoreID, machine: inout Machine) {
        machine[core].charge(.frameZero)
        statistics[core.rawValue].pagesZeroed &+= 1
        machine.note(.zeroFrame(frame), on: core)
        prepareWrite(frame, on: core, machine: &machine)
        if !injects(.skipZeroFill) { machine.zero(frame) }
        if checker != nil { checker?.checkZeroed(frame, by: core, machine: machine) }
    }

    /// Copies `source` into `destination` for a process (`cost.frame.copy`, `pages.copied`).
    mutating func copyFrame(_ source: FrameNumber, into destination: FrameNumber, for address: VirtualAddress,
                            on core: CoreID, machine: inout Machine) {
        machine[core].charge(.frameCopy)
        statistics[core.rawValue].pagesCopied &+= 1
        machine.note(.copyFrame(into: destination, for: address), on: core)
        prepareWrite(destination, on: core, machine: &machine)
        machine.copy(source, to: destination)
    }

    /// The coherence checker's look at a block about to be handed out. On
    /// the host: any usable translation to it, a VM's entries that its next
    /// VM entry flushes excepted. In a guest: its VM's translations to the
    /// host frames that back the block.
    mutating func checkReuse(_ frame: FrameNumber, order: Int, by core: CoreID, machine: Machine) {
        let block = frame..<FrameNumber(frame.rawValue + 1 << UInt64(order))
        guard let guest else {
            let vms = hypervisor.machines
            checker?.checkReuse(of: block, by: core, machine: machine, scheduler: scheduler, pcid: configuration.pcid,
                                usable: { other, pcid in
                                    let vpid = Int(pcid.vpid)
                                    return vpid == 0 || vpid > vms.count || !vms[vpid - 1].flushAtEntry[other.rawValue]
                                })
            return
        }
        let vpid = guest.controls.vpid
        for f in block.lowerBound.rawValue..<block.upperBound.rawValue {
            // A host frame shared by same-page merging is mapped through other guest frames too.
            guard let host = machine.hostFrame(of: FrameNumber(f)), host.writable else { continue }
            checker?.checkReuse(of: host.frame..<FrameNumber(host.frame.rawValue + 1), by: core, machine: machine,
                                scheduler: scheduler, pcid: configuration.pcid, usable: { _, pcid in pcid.vpid == vpid },
                                checkPagingStructures: false)
        }
    }

    // MARK: Processes

    /// `process`: a new, empty address space. Its PML4 is set-up work that no
    /// core pays for. Out of frames, the process starts dead (OOM-killed).
    mutating func createProcess(machine: inout Machine) -> ProcessID {
        guard let pml4 = frames.allocate(.pageTable) else { return processes.addDead() }
        prepareWrite(pml4, on: nil, machine: &machine)
        machine.zero(pml4)
        setupPagesZeroed += 1
        return processes.add(pml4: pml4)
    }

    /// Out of frames: SIGKILL the process (`faults.oom`), free its frames; the
    /// run goes on.
    mutating func outOfMemory(_ process: ProcessID, on core: CoreID, machine: inout Machine) {
        statistics[core.rawValue].outOfMemoryKills &+= 1
        machine.note(.outOfMemoryKill(process), on: core)
        tearDown(process, machine: &machine)
    }
}

/// The kernel's entry points for what the hardware raises.
extension Kernel: ExceptionHandler {
    public mutating func handlePageFault(_ fault: PageFault, on core: CoreID, machine: inout Machine) -> FaultResolution {
        if let vm = guestOf(core, machine) { return forwardPageFault(fault, to: vm, on: core, machine: &machine) }
        let resolution = PageFaultHandler.handle(fault, on: core, kernel: &self, machine: &machine)
        if resolution == .retry { machine.note(.retry(fault.cr2), on: core) }
        return resolution
    }

    /// #GP on a non-canonical address, delivered as SIGSEGV.
    public mutating func handleGeneralProtection(_ address: VirtualAddress, on core: CoreID, machine: inout Machine) {
        if let vm = guestOf(core, machine) { return forwardGeneralProtection(address, to: vm, on: core, machine: &machine) }
        machine[core].begin(.pageFault)
        defer { machine[core].end(.pageFault) }
        machine[core].charge(.faultEntry)
        machine[core].charge(.kernelFault)
        statistics[core.rawValue].segmentationFaults &+= 1
        machine.note(.segmentationFault(address, errorCode: 0), on: core)
        machine[core].charge(.faultExit)
    }

    /// An EPT violation on a core running this guest kernel's VM: the
    /// host's hypervisor handles it (a VM exit and entry around host
    /// demand-zero or host copy-on-write). With no host frame left, the
    /// process that faulted is killed.
    @inline(never)
    public mutating func handleEPTViolation(_ violation: EPTViolation, on core: CoreID, machine: inout Machine) -> FaultResolution {
        guard let vm = guestOf(core, machine) else { return .skipInstruction }
        if resolveNestedFault(vm: vm, guestFrame: violation.guestFrame, write: violation.kind == .write,
                              violation: violation, on: core, machine: &machine) {
            return .retry
        }
        // No host frame left: the guest process that faulted is killed.
        return withGuest(vm, core: core, machine: &machine) { guest, machine in
            if let process = guest.scheduler[core] { guest.outOfMemory(process, on: core, machine: &machine) }
            return .processKilled
        }
    }

    public mutating func observe(_ address: VirtualAddress, _ kind: AccessKind, translatedTo physical: PhysicalAddress,
                                 on core: CoreID, machine: Machine) {
        if let vm = guestOf(core, machine) { return forwardObservation(address, kind, physical, to: vm, on: core, machine: machine) }
        guard var checking = checker else { return }
        checker = nil
        checking.checkTranslation(core: core, address, kind, physical, kernel: self, machine: machine)
        checker = checking
    }
}

/// A host kernel's hand-over of a guest core's exceptions to the guest's
/// kernel (out of line: the host's own fault path stays as it was).
extension Kernel {
    @inline(never)
    mutating func forwardPageFault(_ fault: PageFault, to vm: Int, on core: CoreID, machine: inout Machine) -> FaultResolution {
        withGuest(vm, core: core, machine: &machine) { guest, machine in guest.handlePageFault(fault, on: core, machine: &machine) }
    }

    @inline(never)
    mutating func forwardGeneralProtection(_ address: VirtualAddress, to vm: Int, on core: CoreID, machine: inout Machine) {
        withGuest(vm, core: core, machine: &machine) { guest, machine in
            guest.handleGeneralProtection(address, on: core, machine: &machine)
        }
    }

    @inline(never)
    mutating func forwardObservation(_ address: VirtualAddress, _ kind: AccessKind, _ physical: PhysicalAddress, to vm: Int,
                                     on core: CoreID, machine: Machine) {
        var machine = machine
        withGuest(vm, core: nil, machine: &machine) { guest, machine in
            guest.observe(address, kind, translatedTo: physical, on: core, machine: machine)
        }
    }
}
