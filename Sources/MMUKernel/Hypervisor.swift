import MMUHardware

/// One guest as the hypervisor keeps it (KVM's `struct kvm`): its VMCS
/// fields (VPID, the root of its nested tables in host memory), the size of
/// its guest-physical space, and the cores that must flush its translations
/// at their next VM entry.
public struct VirtualMachine: Sendable {
    public let controls: VirtualMachineControls
    /// Guest-physical 4 KiB frames.
    public let frames: Int
    /// Cores that may still hold this VM's translations from before its last
    /// INVEPT shootdown, which did not reach them because they were not
    /// running it: they flush at their next VM entry (KVM's
    /// `KVM_REQ_TLB_FLUSH`).
    var flushAtEntry: [Bool]
}

/// The hypervisor: a host-side part of the kernel (KVM's `arch/x86/kvm/mmu`)
/// that owns every VM's nested page tables in host memory and backs guest
/// frames lazily from the host's frame pool. Its work is here: the EPT
/// violation handler (host demand-zero, host copy-on-write), INVEPT
/// shootdowns (`NestedShootdown`), and same-page merging (`SamePageMerging`).
public struct Hypervisor: Sendable {
    public internal(set) var machines: [VirtualMachine] = []
    /// Each VM's guest kernel, by VM index.
    public internal(set) var guests: [Kernel] = []

    /// The leaf flags of a nested entry the hypervisor installs. Nested
    /// walks are user-mode accesses (APM 15.25.5), so U/S is set; D marks a
    /// frame written through this mapping.
    static let leafFlags: PageTableEntry.Flags = [.present, .user, .accessed]
    static let tableFlags: PageTableEntry.Flags = [.present, .writable, .user, .accessed]
}

/// A step of the hypervisor, in the event log of the core it ran on.
public enum HypervisorEvent: SoftwareEvent, Equatable {
    case vmExit(EPTViolation)
    case hostDemandZero(guestFrame: FrameNumber, hostFrame: FrameNumber)
    case hostCopyOnWriteCopy(guestFrame: FrameNumber, into: FrameNumber)
    case hostCopyOnWriteReuse(guestFrame: FrameNumber, hostFrame: FrameNumber)
    case invept(vpid: UInt16)
    case samePageMerge(guestFrame: FrameNumber, into: FrameNumber)
    case vmEntry
    /// The host had no frame for a guest kernel's store: the VM is killed.
    case virtualMachineKilled(vpid: UInt16)

    public var name: String {
        switch self {
        case .vmExit: return "VM exit (EPT violation)"
        case .hostDemandZero: return "host demand-zero"
        case .hostCopyOnWriteCopy: return "host cow copy"
        case .hostCopyOnWriteReuse: return "host cow reuse"
        case .invept: return "INVEPT shootdown"
        case .samePageMerge: return "ksm merge"
        case .vmEntry: return "VM entry"
        case .virtualMachineKilled: return "VM killed (host out of memory)"
        }
    }
    public var address: VirtualAddress {
        switch self {
        case .vmExit(let violation): return violation.guestLinear
        case .hostDemandZero(let g, _), .hostCopyOnWriteCopy(let g, _), .hostCopyOnWriteReuse(let g, _),
             .samePageMerge(let g, _):
            return VirtualAddress(g.rawValue << Paging.pageShift)
        case .invept, .vmEntry, .virtualMachineKilled: return VirtualAddress(0)
        }
    }
    public var detail: UInt64 {
        switch self {
        case .vmExit(let violation): return violation.guestPhysical
        case .hostDemandZero(_, let h), .hostCopyOnWriteCopy(_, let h), .hostCopyOnWriteReuse(_, let h),
             .samePageMerge(_, let h):
            return h.rawValue
        case .invept(let vpid), .virtualMachineKilled(let vpid): return UInt64(vpid)
        case .vmEntry: return 0
        }
    }
}

extension Machine {
    mutating func note(_ event: @autoclosure () -> HypervisorEvent, on core: CoreID) {
        if cores[core.rawValue].isLogging { self[core].note(.software(event())) }
    }
}

extension Kernel {
    /// The level of every VM's nested root.
    var nestedRootLevel: PagingLevel { PagingLevel.root(levels: configuration.nestedLevels) }

    // MARK: VMs

    /// `vm VMID FRAMES`: a guest-physical space of `frames` frames and an
    /// empty nested root (set-up work no core pays for). Nil when the host
    /// has no frame left for the root, or every VPID is taken.
    mutating func createVirtualMachine(frames count: Int, machine: inout Machine) -> Int? {
        guard hypervisor.machines.count < Int(VirtualMachineControls.maximumVPID),
              let root = frames.allocate(.pageTable) else { return nil }
        machine.zero(root)
        setupPagesZeroed &+= 1
        let vpid = UInt16(hypervisor.machines.count + 1)
        let controls = VirtualMachineControls(vpid: vpid, nestedRoot: root, nestedRootLevel: nestedRootLevel)
        hypervisor.machines.append(VirtualMachine(controls: controls, frames: count,
                                                  flushAtEntry: [Bool](repeating: false, count: configuration.cores)))
        return hypervisor.machines.count - 1
    }

    /// Where the nested entry for guest frame `frame` of VM `vm` sits, and
    /// the entry; nil when a nested table on the way is missing.
    func nestedLeaf(_ vm: Int, _ frame: FrameNumber, machine: Machine) -> (table: FrameNumber, index: UInt64, entry: PageTableEntry)? {
        Machine.nestedEntry(of: frame, in: hypervisor.machines[vm].controls, memory: machine.memory)
    }

    // MARK: EPT violations

    /// An EPT violation (or a guest kernel's store to a frame the nested
    /// tables do not let it write) on `core`: a VM exit, the handler, a VM
    /// entry. The handler backs a missing guest frame with a zeroed host
    /// frame (host demand-zero) or, for a write to a read-only one, reuses
    /// it when no other mapping shares it or copies it into a new frame and
    /// shoots the old translation down (host copy-on-write), by section 2's
    /// rules one level down. With no core (set-up work) nothing is charged.
    /// False when the host is out of frames.
    mutating func resolveNestedFault(vm: Int, guestFrame: FrameNumber, write: Bool, violation: EPTViolation?,
                                     on core: CoreID?, machine: inout Machine) -> Bool {
        let view = machine.softwareView
        machine.setSoftwareView(nil)
        defer { machine.setSoftwareView(view) }
        if let core {
            machine[core].begin(.eptViolation)
            machine[core].charge(.vmExit)
            if let violation { machine.note(.vmExit(violation), on: core) }
            machine[core].charge(.kernelFault)
            statistics[core.rawValue].eptFaults &+= 1
        }
        let resolved = resolveNestedEntry(vm: vm, guestFrame: guestFrame, write: write, on: core, machine: &machine)
        if let core {
            machine[core].charge(.vmEntry)
            machine.note(.vmEntry, on: core)
            machine[core].end(.eptViolation)
        }
        return resolved
    }

    private mutating func resolveNestedEntry(vm: Int, guestFrame: FrameNumber, write: Bool, on core: CoreID?,
                                             machine: inout Machine) -> Bool {
        let existing = nestedLeaf(vm, guestFrame, machine: machine)
        guard let (table, index, entry) = existing, entry.isPresent else {
            return hostDemandZero(vm: vm, guestFrame: guestFrame, write: write, on: core, machine: &machine)
        }
        guard write && !entry.has(.writable) else { return true }  // spurious: already allowed
        let old = entry.frame
        if frames.referenceCount(old) == 1 {
            // The last mapping of the frame keeps it (no copy, no invalidation).
            writeNestedEntry(PageTableEntry(frame: old, flags: Hypervisor.leafFlags.union([.writable, .dirty])),
                             table, index, on: core, machine: &machine)
            if let core {
                statistics[core.rawValue].eptCowReuseFaults &+= 1
                machine.note(.hostCopyOnWriteReuse(guestFrame: guestFrame, hostFrame: old), on: core)
            }
            return true
        }
        guard let copy = takeHostFrame(.data, zeroed: false, on: core, machine: &machine) else { return false }
        if let core {
            machine[core].charge(.frameCopy)
            statistics[core.rawValue].pagesCopied &+= 1
            statistics[core.rawValue].eptCowCopyFaults &+= 1
            machine.note(.hostCopyOnWriteCopy(guestFrame: guestFrame, into: copy), on: core)
        }
        machine.copy(old, to: copy)
        writeNestedEntry(.empty, table, index, on: core, machine: &machine)
        NestedShootdown.invalidate(vm: vm, initiator: core, kernel: &self, machine: &machine)
        writeNestedEntry(PageTableEntry(frame: copy, flags: Hypervisor.leafFlags.union([.writable, .dirty])),
                         table, index, on: core, machine: &machine)
        if frames.drop(old) { frames.free(old) }
        return true
    }

    /// Backs guest frame `guestFrame` with a fresh zeroed host frame, the
    /// nested tables on the way allocated as needed.
    private mutating func hostDemandZero(vm: Int, guestFrame: FrameNumber, write: Bool, on core: CoreID?,
                                         machine: inout Machine) -> Bool {
        let controls = hypervisor.machines[vm].controls
        let address = VirtualAddress(guestFrame.rawValue << Paging.pageShift)
        var table = controls.nestedRoot
        var level = controls.nestedRootLevel
        while let below = level.below {
            let index = address.index(at: level)
            var entry = machine.memory.readEntry(table, index)
            if !entry.isPresent {
                guard let frame = takeHostFrame(.pageTable, zeroed: true, on: core, machine: &machine) else { return false }
                entry = PageTableEntry(frame: frame, flags: Hypervisor.tableFlags)
                writeNestedEntry(entry, table, index, on: core, machine: &machine)
            }
            table = entry.frame
            level = below
        }
        guard let frame = takeHostFrame(.data, zeroed: true, on: core, machine: &machine) else { return false }
        var flags = Hypervisor.leafFlags.union(.writable)
        if write { flags.insert(.dirty) }
        writeNestedEntry(PageTableEntry(frame: frame, flags: flags), table, address.index(at: .pt), on: core, machine: &machine)
        if let core {
            statistics[core.rawValue].eptDemandZeroFaults &+= 1
            machine.note(.hostDemandZero(guestFrame: guestFrame, hostFrame: frame), on: core)
        }
        return true
    }

    /// A host frame for the hypervisor: charged on `core` as the kernel's
    /// own are (`cost.frame.alloc`, and `cost.frame.zero` when `zeroed`), or
    /// free of charge as set-up work.
    private mutating func takeHostFrame(_ use: FrameUse, zeroed: Bool, on core: CoreID?, machine: inout Machine) -> FrameNumber? {
        if let core {
            return zeroed ? allocateZeroedFrame(use, on: core, machine: &machine)
                          : allocateFrame(use, on: core, machine: &machine)
        }
        guard let frame = frames.allocate(use) else { return nil }
        if zeroed { machine.zero(frame); setupPagesZeroed &+= 1 }
        return frame
    }

    /// A store to a nested table (`cost.pte.write` on `core`).
    mutating func writeNestedEntry(_ entry: PageTableEntry, _ table: FrameNumber, _ index: UInt64, on core: CoreID?,
                                   machine: inout Machine) {
        guard let core else { return machine.storeEntry(entry, in: table, at: index) }
        machine[core].charge(.pteWrite)
        machine.storeEntry(entry, in: table, at: index, from: core)
    }
}

extension Kernel {
    /// A kernel that stands in a slot while the one it holds is lent out
    /// (never run; copying it shares its storage, so no allocation).
    static let vacant: Kernel = {
        var configuration = Configuration()
        configuration.frames = 2
        configuration.cores = 1
        return Kernel(configuration: configuration)
    }()

    /// Runs guest `vm`'s kernel (this is the host's): kernel code then
    /// addresses the VM's guest-physical frames, and this kernel is lent to
    /// the guest's so that its stores, and the accesses it handles, can raise
    /// EPT violations to the hypervisor. Both moves are swaps: no copy. A
    /// store the host had no frame for kills the process `core` runs in the
    /// guest.
    mutating func withGuest<R>(_ vm: Int, core: CoreID?, machine: inout Machine,
                               _ body: (inout Kernel, inout Machine) -> R) -> R {
        var guest = Kernel.vacant
        swap(&guest, &hypervisor.guests[vm])
        swap(&self, &guest.lentHost[0])
        machine.setSoftwareView(guest.guest?.controls)
        let result = body(&guest, &machine)
        let lostStore = guest.hostOutOfMemory
        guest.hostOutOfMemory = false
        machine.setSoftwareView(nil)
        swap(&self, &guest.lentHost[0])
        swap(&guest, &hypervisor.guests[vm])
        if lostStore { killVirtualMachine(vm, on: core, machine: &machine) }
        return result
    }

    /// The host ran out of frames for a store the guest's kernel made: the
    /// store is lost, so the guest's memory no longer matches its kernel, and
    /// the VM is killed, as Linux's OOM killer kills the process that runs it
    /// (`faults.oom` on the host's count). Every process of the guest ends
    /// with no teardown through its memory; its pool is empty again; every
    /// host frame that backed it and every nested table below the root go
    /// back to the host's pool; every core drops the VM's translations, and
    /// the cores running it go idle. A later `process … vm` starts afresh in
    /// the empty VM.
    mutating func killVirtualMachine(_ vm: Int, on core: CoreID?, machine: inout Machine) {
        if let core {
            statistics[core.rawValue].outOfMemoryKills &+= 1
            machine.note(.virtualMachineKilled(vpid: hypervisor.machines[vm].controls.vpid), on: core)
        }
        var guest = hypervisor.guests[vm]
        for process in guest.processes.ids where guest.processes.isAlive(process) { guest.processes.end(process) }
        guest.frames = FrameAllocator(frameCount: guest.configuration.frames)
        guest.scheduler = Scheduler(cores: guest.configuration.cores)
        guest.deferred = DeferredShootdown.Queues(cores: guest.configuration.cores)
        guest.hugeZero = nil
        hypervisor.guests[vm] = guest
        let controls = hypervisor.machines[vm].controls
        var dataFrames: [FrameNumber] = []
        var tableFrames: [FrameNumber] = []
        PageTableVisitor.forEach(in: machine.memory, root: controls.nestedRoot, level: controls.nestedRootLevel) { slot, entry in
            if slot.isLeaf(entry) { dataFrames.append(entry.frame) } else { tableFrames.append(entry.frame) }
            return .descend
        }
        for index in 0..<Paging.entriesPerTable { machine.storeEntry(.empty, in: controls.nestedRoot, at: index) }
        release(dataFrames: dataFrames, tableFrames: tableFrames, hold: false)
        for c in machine.cores.indices {
            let id = CoreID(c)
            machine[id].receiveNestedInvalidation(vpid: controls.vpid)
            if machine.cores[c].vmcs?.vpid == controls.vpid { machine[id].loadCR3(nil) }
            hypervisor.machines[vm].flushAtEntry[c] = false
        }
    }

    /// The guest a core's exception belongs to, when this host kernel
    /// receives it for a core running a VM.
    @inline(__always) func guestOf(_ core: CoreID, _ machine: Machine) -> Int? {
        guard guest == nil, let vpid = machine.cores[core.rawValue].vmcs?.vpid else { return nil }
        return Int(vpid) - 1
    }
}
