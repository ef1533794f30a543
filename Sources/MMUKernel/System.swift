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

/// A running system: the emulated hardware and the small kernel on it.
///
/// The kernel's state (frames, address spaces, which process each core runs)
/// lives beside the hardware; the kernel touches TLBs only through the core's
/// instructions (INVLPG, flushes, CR3 writes) and the hardware raises #PF.
public struct System: Sendable {
    public let configuration: Configuration
    public var machine: Machine
    public internal(set) var frames: FrameAllocator
    public internal(set) var processes: [AddressSpace] = []
    /// The process each core runs (nil: idle).
    public internal(set) var current: [ProcessID?]
    var freePCIDs: [UInt16] = []
    var nextPCID: UInt16 = 1
    /// Deferred invalidations waiting on each core (SPEC 3, `deferred`).
    var deferredQueues: [[DeferredInvalidation]]
    /// Frames held until every target of a deferred shootdown has invalidated.
    var deferredBatches: [DeferredBatch] = []
    /// Frames zeroed as set-up work no core pays for (each `process`'s PML4):
    /// counted in the `pages.zeroed` total, in no core's.
    public internal(set) var setupPagesZeroed: UInt64 = 0
    /// Whether the coherence checker runs (off: one branch per translation).
    public var checksCoherence = false
    var coherenceViolations: [CoherenceViolation] = []
    /// Deliberate bugs, for tests that show the checkers catch them.
    var defects: KernelDefects = []

    public init(configuration: Configuration, logEvents: Bool = false) {
        self.configuration = configuration
        machine = Machine(frames: configuration.frames, cores: configuration.cores,
                          geometry: configuration.geometry, costs: configuration.costs,
                          pcidEnabled: configuration.pcid, logEvents: logEvents)
        frames = FrameAllocator(frameCount: configuration.frames)
        current = [ProcessID?](repeating: nil, count: configuration.cores)
        deferredQueues = [[DeferredInvalidation]](repeating: [], count: configuration.cores)
    }

    public var coreCount: Int { machine.cores.count }

    // MARK: Processes and scheduling

    /// `process`: a new, empty address space. Its PML4 is set-up work that no
    /// core pays for. Out of frames, the process starts dead (OOM-killed).
    public mutating func createProcess() -> ProcessID {
        let id = ProcessID(rawValue: processes.count)
        let pcid = allocatePCID()
        if let pml4 = frames.allocate(.pageTable) {
            machine.memory.zero(pml4)
            setupPagesZeroed += 1
            processes.append(AddressSpace(pml4: pml4, pcid: pcid, cores: coreCount))
        } else {
            var dead = AddressSpace(pml4: .zeroPage, pcid: pcid, cores: coreCount)
            dead.isAlive = false
            processes.append(dead)
            releasePCID(pcid)
        }
        return id
    }

    mutating func allocatePCID() -> PCID {
        guard configuration.pcid else { return .none }
        if let reused = freePCIDs.popLast() { return PCID(reused) }
        let pcid = PCID(nextPCID)
        if nextPCID < PCID.maximum { nextPCID += 1 }
        return pcid
    }
    mutating func releasePCID(_ pcid: PCID) {
        if configuration.pcid && pcid != .none { freePCIDs.append(pcid.rawValue) }
    }

    public func isAlive(_ process: ProcessID) -> Bool {
        processes.indices.contains(process.rawValue) && processes[process.rawValue].isAlive
    }

    /// `switch CORE PID|idle`: a context switch (`cost.switch`, CR3 write
    /// included). Deferred invalidations queued for the core are done here.
    public mutating func contextSwitch(core: CoreID, to process: ProcessID?) {
        let c = core.rawValue
        machine.cores[c].begin(.contextSwitch)
        defer { machine.cores[c].end(.contextSwitch) }
        machine.cores[c].charge(.contextSwitch)
        machine.cores[c].statistics.switches &+= 1
        machine.cores[c].note(.kernel("switch", VirtualAddress(0), UInt64(process?.rawValue ?? -1 & 0xFFFF)))
        runDeferredInvalidations(core: core)
        guard process != current[c] else { return }
        if let process, isAlive(process) {
            current[c] = process
            if !configuration.pcid {
                // The CR3 write flushes every PCID-0 entry this core held.
                for p in processes.indices { processes[p].mayCache[c] = false }
            }
            processes[process.rawValue].mayCache[c] = true
            machine.cores[c].loadCR3(processes[process.rawValue].cr3)
        } else {
            current[c] = nil
            machine.cores[c].loadCR3(nil)
        }
    }

    /// `tick CORE`: a timer interrupt; deferred invalidations are done here.
    public mutating func tick(core: CoreID) {
        machine.cores[core.rawValue].begin(.tick)
        defer { machine.cores[core.rawValue].end(.tick) }
        runDeferredInvalidations(core: core)
    }

    // MARK: Accesses

    /// One trace access: an 8-byte load or store, or a 1-byte fetch. An access
    /// that crosses a page translates both pages.
    ///
    /// The common case costs two calls into the core: `translate` (an L1 TLB
    /// hit stays inside it) and `retire`. With event logging on, the access
    /// is wrapped in its span; with it off, no event is built.
    public mutating func access(core: CoreID, _ kind: AccessKind, _ address: VirtualAddress, store value: UInt64 = 0) -> AccessResult {
        let c = core.rawValue
        guard current[c] != nil else { return .idle }
        if machine.cores[c].log.isEnabled { return accessLogging(core: core, kind, address, store: value) }
        return performAccess(core: core, kind, address, store: value)
    }

    /// `access` wrapped in its event span.
    @inline(never)
    mutating func accessLogging(core: CoreID, _ kind: AccessKind, _ address: VirtualAddress, store value: UInt64) -> AccessResult {
        let c = core.rawValue
        machine.cores[c].begin(.access)
        machine.cores[c].note(.access(kind, address))
        defer { machine.cores[c].end(.access) }
        return performAccess(core: core, kind, address, store: value)
    }

    @inline(__always)
    mutating func performAccess(core: CoreID, _ kind: AccessKind, _ address: VirtualAddress, store value: UInt64) -> AccessResult {
        let c = core.rawValue
        let width: UInt64 = kind == .fetch ? 1 : 8
        let lastByte = VirtualAddress(address.rawValue &+ (width - 1))
        guard address.isCanonical, lastByte.isCanonical, lastByte.rawValue >= address.rawValue else {
            generalProtection(core: core, address)
            return .segmentationFault
        }
        let firstPageBytes = min(width, Paging.pageSize - address.pageOffset)
        var attempts = 8
        if firstPageBytes == width && !checksCoherence {
            // The common case: one page and no checker between translation and
            // data, so the core does the whole access in one call.
            switch machine.cores[c].execute(kind, address, store: value, memory: &machine.memory) {
            case .completed(let result): return .completed(result)
            case .pageFault(let code):
                switch handlePageFault(core: core, code, cr2: address) {
                case .retry:
                    machine.cores[c].note(.kernel("retry", address, 0))
                    attempts -= 1
                case .segmentationFault: return .segmentationFault
                case .killed: return .killed
                }
            }
        }
        let first: PhysicalAddress
        switch translate(core: core, address, kind, attempts: attempts) {
        case .translated(let pa): first = pa
        case .segmentationFault: return .segmentationFault
        case .killed: return .killed
        }
        var result: UInt64
        if firstPageBytes == width {
            if kind == .write {
                machine.memory.write64(first, value)
                result = value
            } else if kind == .read {
                result = machine.memory.read64(first)
            } else {
                result = UInt64(machine.memory.readByte(first))
            }
        } else {
            let secondAddress = VirtualAddress((address.pageNumber + 1) << Paging.pageShift)
            let second: PhysicalAddress
            switch translate(core: core, secondAddress, kind) {
            case .translated(let pa): second = pa
            case .segmentationFault: return .segmentationFault
            case .killed: return .killed
            }
            result = 0
            for i in 0..<width {
                let pa = i < firstPageBytes
                    ? PhysicalAddress(rawValue: first.rawValue + i)
                    : PhysicalAddress(rawValue: second.rawValue + (i - firstPageBytes))
                if kind == .write {
                    machine.memory.writeByte(pa, UInt8(truncatingIfNeeded: value >> (8 * i)))
                } else {
                    result |= UInt64(machine.memory.readByte(pa)) << (8 * i)
                }
            }
            if kind == .write { result = value }
        }
        machine.cores[c].retire(kind, address, first, result)
        return .completed(result)
    }

    /// A sized access with no data (a memory-trace record: Lackey, ChampSim):
    /// translates every page the `bytes` from `address` touch, each with its own
    /// lookups, walks and faults, and counts one access (`cost.access` once).
    public mutating func touch(core: CoreID, _ kind: AccessKind, _ address: VirtualAddress, bytes: UInt64) -> AccessResult {
        let c = core.rawValue
        guard current[c] != nil else { return .idle }
        if machine.cores[c].log.isEnabled { return touchLogging(core: core, kind, address, bytes: bytes) }
        return performTouch(core: core, kind, address, bytes: bytes)
    }

    /// `touch` wrapped in its event span.
    @inline(never)
    mutating func touchLogging(core: CoreID, _ kind: AccessKind, _ address: VirtualAddress, bytes: UInt64) -> AccessResult {
        let c = core.rawValue
        machine.cores[c].begin(.access)
        machine.cores[c].note(.access(kind, address))
        defer { machine.cores[c].end(.access) }
        return performTouch(core: core, kind, address, bytes: bytes)
    }

    @inline(__always)
    mutating func performTouch(core: CoreID, _ kind: AccessKind, _ address: VirtualAddress, bytes: UInt64) -> AccessResult {
        let c = core.rawValue
        let last = VirtualAddress(address.rawValue &+ (max(bytes, 1) - 1))
        guard address.isCanonical, last.isCanonical, last.rawValue >= address.rawValue else {
            generalProtection(core: core, address)
            return .segmentationFault
        }
        var page = address
        var physical = PhysicalAddress(rawValue: 0)
        while true {
            switch translate(core: core, page, kind) {
            case .translated(let pa): if page == address { physical = pa }
            case .segmentationFault: return .segmentationFault
            case .killed: return .killed
            }
            guard page.pageNumber < last.pageNumber else { break }
            page = VirtualAddress((page.pageNumber + 1) << Paging.pageShift)
        }
        machine.cores[c].retire(kind, address, physical, 0)
        return .completed(0)
    }

    enum PageTranslation {
        case translated(PhysicalAddress)
        case segmentationFault
        case killed
    }

    /// Translates one page, delivering each #PF to the kernel and retrying.
    /// A handled fault resolves the page; more than a few in a row (8 tries in
    /// all, `attempts` of them left here) would be a kernel bug, and the bound
    /// keeps a bug from hanging the run.
    mutating func translate(core: CoreID, _ address: VirtualAddress, _ kind: AccessKind, attempts: Int = 8) -> PageTranslation {
        for _ in 0..<attempts {
            switch machine.cores[core.rawValue].translate(address, kind, memory: &machine.memory) {
            case .translated(let pa):
                if checksCoherence { checkTranslation(core: core, address, kind, pa) }
                return .translated(pa)
            case .pageFault(let code):
                switch handlePageFault(core: core, code, cr2: address) {
                case .retry:
                    machine.cores[core.rawValue].note(.kernel("retry", address, 0))
                    continue
                case .segmentationFault: return .segmentationFault
                case .killed: return .killed
                }
            }
        }
        return .segmentationFault
    }

    /// #GP on a non-canonical address, delivered as SIGSEGV.
    mutating func generalProtection(core: CoreID, _ address: VirtualAddress) {
        let c = core.rawValue
        machine.cores[c].note(.generalProtection(address))
        machine.cores[c].begin(.pageFault)
        defer { machine.cores[c].end(.pageFault) }
        machine.cores[c].charge(.faultEntry)
        machine.cores[c].charge(.kernelFault)
        machine.cores[c].statistics.segmentationFaults &+= 1
        machine.cores[c].note(.kernel("SIGSEGV", address, 0))
        machine.cores[c].charge(.faultExit)
    }

    // MARK: Page tables

    /// The PT frame covering `address` in `process`, or nil when some level is missing.
    func leafTable(_ process: ProcessID, _ address: VirtualAddress) -> FrameNumber? {
        var table = processes[process.rawValue].pml4
        var level = PagingLevel.pml4
        while level != .pt {
            let entry = machine.memory.readEntry(table, address.index(at: level))
            guard entry.isPresent else { return nil }
            table = entry.frame
            level = level.below ?? .pt
        }
        return table
    }

    /// The flags of an upper-level entry the kernel writes (Linux's `_PAGE_TABLE`).
    static let tableEntryFlags: PageTableEntry.Flags = [.present, .writable, .user, .accessed]

    /// Allocates the missing page-table pages down to the PT covering `address`,
    /// each at `cost.frame.alloc + cost.frame.zero + cost.pte.write` on `core`.
    /// Nil when out of frames.
    mutating func ensureLeafTable(_ process: ProcessID, _ address: VirtualAddress, core: CoreID) -> FrameNumber? {
        var table = processes[process.rawValue].pml4
        var level = PagingLevel.pml4
        while level != .pt {
            defer { level = level.below ?? .pt }
            let index = address.index(at: level)
            var entry = machine.memory.readEntry(table, index)
            if !entry.isPresent {
                guard let frame = allocateZeroedFrame(.pageTable, core: core) else { return nil }
                entry = PageTableEntry(frame: frame, flags: Self.tableEntryFlags)
                writeEntry(table, index, entry, core: core, address)
            }
            table = entry.frame
        }
        return table
    }

    /// Takes a frame and zeroes it (`cost.frame.alloc`, `cost.frame.zero`).
    mutating func allocateZeroedFrame(_ use: FrameUse, core: CoreID) -> FrameNumber? {
        guard let frame = allocateFrame(use, core: core) else { return nil }
        zeroFrame(frame, core: core)
        return frame
    }

    mutating func allocateFrame(_ use: FrameUse, core: CoreID) -> FrameNumber? {
        guard let frame = frames.allocate(use) else { return nil }
        if checksCoherence { checkReuse(of: frame, by: core) }
        machine.cores[core.rawValue].charge(.frameAlloc)
        machine.cores[core.rawValue].note(.kernel("alloc frame", VirtualAddress(0), frame.rawValue))
        return frame
    }

    mutating func zeroFrame(_ frame: FrameNumber, core: CoreID) {
        machine.cores[core.rawValue].charge(.frameZero)
        machine.cores[core.rawValue].statistics.pagesZeroed &+= 1
        machine.cores[core.rawValue].note(.kernel("zero frame", VirtualAddress(0), frame.rawValue))
        if !defects.contains(.skipZeroFill) { machine.memory.zero(frame) }
        if checksCoherence { checkZeroed(frame, by: core) }
    }

    /// A PTE write by the kernel (`cost.pte.write`).
    mutating func writeEntry(_ table: FrameNumber, _ index: UInt64, _ entry: PageTableEntry, core: CoreID, _ address: VirtualAddress) {
        machine.cores[core.rawValue].charge(.pteWrite)
        machine.cores[core.rawValue].note(.kernel("pte write", address, entry.rawValue))
        machine.cores[core.rawValue].storeToPageTable(table, index)
        machine.memory.writeEntry(table, index, entry)
    }

    /// The leaf PTE the kernel installs for `frame` in `region`.
    static func leafEntry(_ frame: FrameNumber, in region: Region, writable: Bool, copyOnWrite: Bool) -> PageTableEntry {
        var flags: PageTableEntry.Flags = [.present, .user, .accessed]
        if writable { flags.formUnion([.writable, .dirty]) }
        if copyOnWrite { flags.insert(.copyOnWrite) }
        if !region.permissions.contains(.execute) { flags.insert(.noExecute) }
        return PageTableEntry(frame: frame, flags: flags)
    }
}
