/// One memory operation a program issues: an 8-byte load or store, a 1-byte
/// instruction fetch, or a trace record that only names the bytes it touches.
public struct MemoryOperation: Sendable {
    public var kind: AccessKind
    public var address: VirtualAddress
    /// Bytes the operation covers (at least 1); every page they touch is translated.
    public var size: UInt64
    /// Whether data moves (a load's or store's bytes, a fetch's byte); a trace
    /// record without data only translates.
    public var movesData: Bool
    /// The value a store writes.
    public var value: UInt64

    @inlinable public init(kind: AccessKind, address: VirtualAddress, size: UInt64, movesData: Bool, value: UInt64 = 0) {
        self.kind = kind
        self.address = address
        self.size = max(size, 1)
        self.movesData = movesData
        self.value = value
    }

    /// `r`: an 8-byte little-endian load.
    @inlinable public static func load(_ address: VirtualAddress) -> Self {
        Self(kind: .read, address: address, size: 8, movesData: true)
    }
    /// `w`: an 8-byte little-endian store of `value`.
    @inlinable public static func store(_ address: VirtualAddress, _ value: UInt64) -> Self {
        Self(kind: .write, address: address, size: 8, movesData: true, value: value)
    }
    /// `x`: a 1-byte instruction fetch.
    @inlinable public static func fetch(_ address: VirtualAddress) -> Self {
        Self(kind: .fetch, address: address, size: 1, movesData: true)
    }
    /// A memory-trace record (Lackey, ChampSim): `bytes` from `address`, no data.
    @inlinable public static func reference(_ kind: AccessKind, _ address: VirtualAddress, bytes: UInt64) -> Self {
        Self(kind: kind, address: address, size: bytes, movesData: false)
    }
}

/// A #PF as the processor delivers it (SDM 4.7): the error code and CR2.
public struct PageFault: Sendable {
    public var errorCode: PageFaultErrorCode
    /// The linear address that faulted.
    public var cr2: VirtualAddress
    public init(errorCode: PageFaultErrorCode, cr2: VirtualAddress) {
        self.errorCode = errorCode
        self.cr2 = cr2
    }
    /// The kind of access that faulted, as the error code tells it.
    public var kind: AccessKind {
        errorCode.contains(.instructionFetch) ? .fetch : errorCode.contains(.write) ? .write : .read
    }
}

/// What the operating system did about an exception.
public enum FaultResolution: Sendable {
    /// The mapping was fixed (or was already fine): retry the access from the L1 TLB.
    case retry
    /// The access is abandoned and the program goes on (a signal whose handler
    /// skips the instruction).
    case skipInstruction
    /// The program was killed.
    case processKilled
}

/// How an operation ended.
public enum ExecutionOutcome: Sendable, Equatable {
    /// It retired; the value read (for a store, the value stored; 0 without data).
    case completed(UInt64)
    case instructionSkipped
    case processKilled
    /// The core runs no user code (no CR3 loaded).
    case idle
}

/// The operating system's entry points for what an access can raise (its
/// IDT entries, in effect). The machine calls them in the middle of an
/// access; the handler changes the machine only as software can.
public protocol ExceptionHandler {
    /// #PF on `core`: the handler may edit page tables in memory and
    /// invalidate translations, then says whether the access is retried.
    mutating func handlePageFault(_ fault: PageFault, on core: CoreID, machine: inout Machine) -> FaultResolution
    /// #GP for a non-canonical address: the access is abandoned.
    mutating func handleGeneralProtection(_ address: VirtualAddress, on core: CoreID, machine: inout Machine)
    /// An EPT violation on `core` (a VM exit): the hypervisor may back or
    /// remap the guest-physical page and invalidate nested translations,
    /// then says whether the access is retried.
    mutating func handleEPTViolation(_ violation: EPTViolation, on core: CoreID, machine: inout Machine) -> FaultResolution
    /// Whether `observe` is called after every translation (a checker is on).
    var observesTranslations: Bool { get }
    /// A translation `core` is about to use (checkers only).
    mutating func observe(_ address: VirtualAddress, _ kind: AccessKind, translatedTo physical: PhysicalAddress,
                          on core: CoreID, machine: Machine)
}

/// The hardware of the emulated machine: physical memory and its cores.
public struct Machine: Sendable {
    public internal(set) var memory: PhysicalMemory
    public internal(set) var cores: [Core]
    /// Whose physical frames kernel code addresses (nil: the host's).
    public private(set) var softwareView: VirtualMachineControls?

    /// Translations of one page in a row that may fault before the access is
    /// abandoned: a sound handler resolves a page in one or two faults, and
    /// the bound keeps a kernel bug from hanging a run.
    public static let faultsPerPageLimit = 8

    /// The highest bit of a canonical address that the bits above must copy:
    /// 47 with four-level paging, 56 with five (SDM 3.3.7.1).
    public let canonicalTopBit: UInt64

    public init(frames: Int, cores: Int, geometry: TLBGeometry, costs: CostModel, pcidEnabled: Bool, logEvents: Bool = false,
                pagingLevels: Int = 4) {
        memory = PhysicalMemory(frameCount: frames)
        canonicalTopBit = pagingLevels == 5 ? 56 : 47
        self.cores = (0..<cores).map {
            Core(id: CoreID($0), geometry: geometry, costs: costs, pcidEnabled: pcidEnabled, logEvents: logEvents,
                 pagingLevels: pagingLevels)
        }
    }

    /// The core `id`, to run kernel work on it: charges, INVLPG, flushes, CR3 writes.
    public subscript(id: CoreID) -> Core {
        get { cores[id.rawValue] }
        _modify { yield &cores[id.rawValue] }
    }

    // MARK: The access path

    /// Executes `operation` on `core`, start to end: for each page it
    /// touches, look up the TLBs, walk on a miss, deliver a #PF to `os` and
    /// retry from the L1 TLB until the page translates; then move the data
    /// and retire. A non-canonical address is a #GP.
    public mutating func execute<OS: ExceptionHandler>(_ operation: MemoryOperation, on core: CoreID,
                                                       os: inout OS) -> ExecutionOutcome {
        if cores[core.rawValue].log.isEnabled { return executeLogging(operation, on: core, os: &os) }
        // An L1 hit on one page goes the short way while nothing watches translations.
        var l1Missed = false
        if !os.observesTranslations {
            switch cores[core.rawValue].translateByL1Hit(operation.address, bytes: operation.size, operation.kind,
                                                         canonicalTopBit: canonicalTopBit) {
            case .translated(let physical):
                return .completed(operation.movesData ? moveData(operation, physical, physical, crossesPage: false) : 0)
            case .missed: l1Missed = true
            case .other: break
            }
        }
        return executeWithoutLog(operation, on: core, os: &os, l1Missed: l1Missed)
    }

    /// `execute` while event logging is off (out of line: the L1 hit above
    /// keeps a small frame); with `l1Missed`, the first translation starts
    /// after the L1's lookup, which already missed.
    @inline(never)
    mutating func executeWithoutLog<OS: ExceptionHandler>(_ operation: MemoryOperation, on core: CoreID,
                                                          os: inout OS, l1Missed: Bool) -> ExecutionOutcome {
        execute(operation, on: core, os: &os, logging: false, l1Missed: l1Missed)
    }

    /// `execute` wrapped in its event span.
    @inline(never)
    mutating func executeLogging<OS: ExceptionHandler>(_ operation: MemoryOperation, on core: CoreID,
                                                       os: inout OS) -> ExecutionOutcome {
        guard cores[core.rawValue].cr3 != nil else { return .idle }
        self[core].begin(.access)
        self[core].note(.access(operation.kind, operation.address))
        defer { self[core].end(.access) }
        return execute(operation, on: core, os: &os, logging: true)
    }

    /// `execute`, compiled twice: with `logging` a constant, the copy that
    /// runs while event logging is off has no event code at all.
    @inline(__always)
    mutating func execute<OS: ExceptionHandler>(_ operation: MemoryOperation, on core: CoreID,
                                                os: inout OS, logging: Bool, l1Missed: Bool = false) -> ExecutionOutcome {
        let c = core.rawValue
        guard cores[c].cr3 != nil else { return .idle }
        let kind = operation.kind, address = operation.address
        let last = VirtualAddress(address.rawValue &+ (operation.size &- 1))
        let top = canonicalTopBit
        guard address.isCanonical(topBit: top), last.isCanonical(topBit: top), last.rawValue >= address.rawValue else {
            cores[c].note(.generalProtection(address))
            os.handleGeneralProtection(address, on: core, machine: &self)
            return .instructionSkipped
        }
        // Translate every page the operation touches, the first one first.
        var first = PhysicalAddress(rawValue: 0), second = first
        var page = address
        var pages = 0
        // Without a log or a checker, the last page's translation retires the access too.
        let retireWithTranslation = !logging && !os.observesTranslations
        while true {
            let physical: PhysicalAddress
            let isLast = page.pageNumber == last.pageNumber
            switch translate(page, kind, on: core, os: &os, logging: logging, retiring: retireWithTranslation && isLast,
                             l1Missed: l1Missed && pages == 0) {
            case .translated(let pa): physical = pa
            case .abandoned(let outcome): return outcome
            }
            if pages == 0 { first = physical } else if pages == 1 { second = physical }
            pages &+= 1
            guard !isLast else { break }
            page = VirtualAddress((page.pageNumber &+ 1) << Paging.pageShift)
        }
        let value = operation.movesData ? moveData(operation, first, second, crossesPage: pages > 1) : 0
        if !retireWithTranslation { cores[c].retire(kind, address, first, value, logging: logging) }
        return .completed(value)
    }

    /// Where the translation of one page of an operation ended.
    @usableFromInline enum PageTranslation {
        case translated(PhysicalAddress)
        /// The operation goes no further.
        case abandoned(ExecutionOutcome)
    }

    /// Translates one page on `core`, delivering each #PF to `os` until it
    /// translates; a fault the handler does not resolve abandons the
    /// operation, and so does one fault too many (skipped, as a SIGSEGV'd one).
    @inline(__always)
    mutating func translate<OS: ExceptionHandler>(_ address: VirtualAddress, _ kind: AccessKind, on core: CoreID,
                                                  os: inout OS, logging: Bool, retiring: Bool,
                                                  l1Missed: Bool = false) -> PageTranslation {
        var faults = 0
        // Only the first attempt may skip the L1's lookup: a retry after a fault starts over.
        var skipL1 = l1Missed && !logging
        while true {
            let outcome = skipL1 ? cores[core.rawValue].translateAfterCleanL1Miss(address, kind, memory: &memory, retiring: retiring)
                                 : cores[core.rawValue].translate(address, kind, memory: &memory, logging: logging, retiring: retiring)
            skipL1 = false
            switch outcome {
            case .translated(let physical):
                if os.observesTranslations { os.observe(address, kind, translatedTo: physical, on: core, machine: self) }
                return .translated(physical)
            case .pageFault(let code):
                cores[core.rawValue].deliverPageFault()
                switch os.handlePageFault(PageFault(errorCode: code, cr2: address), on: core, machine: &self) {
                case .retry:
                    faults += 1
                    if faults == Self.faultsPerPageLimit { return .abandoned(.instructionSkipped) }
                case .skipInstruction: return .abandoned(.instructionSkipped)
                case .processKilled: return .abandoned(.processKilled)
                }
            case .eptViolation:
                guard let violation = cores[core.rawValue].exitQualification else { return .abandoned(.instructionSkipped) }
                switch os.handleEPTViolation(violation, on: core, machine: &self) {
                case .retry:
                    faults += 1
                    if faults == Self.faultsPerPageLimit { return .abandoned(.instructionSkipped) }
                case .skipInstruction: return .abandoned(.instructionSkipped)
                case .processKilled: return .abandoned(.processKilled)
                }
            }
        }
    }

    /// Loads or stores the operation's bytes at the translated addresses
    /// (`second` is the next page's frame when the bytes cross a page).
    @inline(__always)
    mutating func moveData(_ operation: MemoryOperation, _ first: PhysicalAddress, _ second: PhysicalAddress,
                           crossesPage: Bool) -> UInt64 {
        guard !crossesPage else { return moveData(operation, acrossPages: first, second) }
        switch operation.kind {
        case .write: memory.write64(first, operation.value); return operation.value
        case .read: return memory.read64(first)
        case .fetch: return UInt64(memory.readByte(first))
        }
    }

    /// `moveData` for bytes that cross into the next page, one byte at a time.
    @inline(never)
    mutating func moveData(_ operation: MemoryOperation, acrossPages first: PhysicalAddress, _ second: PhysicalAddress) -> UInt64 {
        let kind = operation.kind
        let firstPageBytes = Paging.pageSize - operation.address.pageOffset
        var result: UInt64 = 0
        for i in 0..<operation.size {
            let pa = i < firstPageBytes ? PhysicalAddress(rawValue: first.rawValue + i)
                                        : PhysicalAddress(rawValue: second.rawValue + (i - firstPageBytes))
            if kind == .write {
                memory.writeByte(pa, UInt8(truncatingIfNeeded: operation.value >> (8 * i)))
            } else {
                result |= UInt64(memory.readByte(pa)) << (8 * i)
            }
        }
        return kind == .write ? operation.value : result
    }

    // MARK: What the kernel does to memory and to every core
    //
    // Kernel code addresses memory by the frames of its own physical space:
    // host frames, or (while `softwareView` holds a VM's controls) that
    // guest's frames, each reached through the VM's nested tables as the
    // guest kernel's own loads and stores would be. A guest frame with no
    // nested mapping reads as zeros; the guest kernel has the hypervisor
    // back a frame before it writes it (`Kernel.prepareWrite`).

    /// Sets whose physical frames kernel code addresses: nil for the host's,
    /// or a VM's guest-physical frames.
    public mutating func setSoftwareView(_ view: VirtualMachineControls?) { softwareView = view }

    /// The host frame backing frame `frame` of the software view (itself
    /// on the host), and whether the nested tables let software write it;
    /// nil when a guest frame has no nested mapping. A software walk of the
    /// nested tables: no charge, no A/D bit, no TLB.
    public func hostFrame(of frame: FrameNumber) -> (frame: FrameNumber, writable: Bool)? {
        guard let view = softwareView else { return (frame, true) }
        return Self.nestedLeaf(of: frame, in: view, memory: memory)
    }

    /// The nested leaf for guest frame `frame` of the VM `controls` describe:
    /// its host frame and whether it is writable; nil when not present.
    public static func nestedLeaf(of frame: FrameNumber, in controls: VirtualMachineControls,
                                  memory: PhysicalMemory) -> (frame: FrameNumber, writable: Bool)? {
        guard let (_, _, entry) = nestedEntry(of: frame, in: controls, memory: memory), entry.isPresent else { return nil }
        return (entry.frame, entry.has(.writable))
    }

    /// Where the nested PTE for guest frame `frame` sits (table, index) and
    /// the entry, present or not; nil when a nested table on the way is missing.
    public static func nestedEntry(of frame: FrameNumber, in controls: VirtualMachineControls,
                                   memory: PhysicalMemory) -> (table: FrameNumber, index: UInt64, entry: PageTableEntry)? {
        let address = VirtualAddress(frame.rawValue << Paging.pageShift)
        var table = controls.nestedRoot
        var level = controls.nestedRootLevel
        while true {
            let index = address.index(at: level)
            let entry = memory.readEntry(table, index)
            guard let below = level.below else { return (table, index, entry) }
            guard entry.isPresent else { return nil }
            table = entry.frame
            level = below
        }
    }

    /// The host frame software writes for `frame` (the kernel made it writable first).
    @inline(__always) func writableHostFrame(_ frame: FrameNumber) -> FrameNumber? {
        guard softwareView != nil else { return frame }
        guard let host = hostFrame(of: frame), host.writable else { return nil }
        return host.frame
    }

    /// Kernel code's read-only view of page tables (host or guest frames, by `softwareView`).
    public var pageTables: PageTables { PageTables(memory: memory, view: softwareView) }

    /// Page-table entries as kernel code reads them, apart from the machine.
    public struct PageTables: Sendable {
        public let memory: PhysicalMemory
        public let view: VirtualMachineControls?
        public init(memory: PhysicalMemory, view: VirtualMachineControls?) {
            self.memory = memory
            self.view = view
        }
        public func readEntry(_ table: FrameNumber, _ index: UInt64) -> PageTableEntry {
            guard let view else { return memory.readEntry(table, index) }
            guard let host = Machine.nestedLeaf(of: table, in: view, memory: memory) else { return .empty }
            return memory.readEntry(host.frame, index)
        }
    }

    /// The page-table entry at `index` of `table`, as kernel code reads it.
    public func readEntry(_ table: FrameNumber, _ index: UInt64) -> PageTableEntry {
        guard softwareView != nil else { return memory.readEntry(table, index) }
        guard let host = hostFrame(of: table) else { return .empty }
        return memory.readEntry(host.frame, index)
    }

    /// A store by kernel code on `core` to entry `index` of the paging
    /// structure in `table` (its line comes into that core's caches).
    public mutating func storeEntry(_ entry: PageTableEntry, in table: FrameNumber, at index: UInt64, from core: CoreID) {
        guard let host = writableHostFrame(table) else { return }
        cores[core.rawValue].storeToPageTable(host, index)
        memory.writeEntry(host, index, entry)
    }

    /// The same store with no core's caches involved: the walker's own
    /// write-protect by fork (`cost.fork.pte` covers it) and set-up work.
    @inline(__always)
    public mutating func storeEntry(_ entry: PageTableEntry, in table: FrameNumber, at index: UInt64) {
        guard let host = writableHostFrame(table) else { return }
        memory.writeEntry(host, index, entry)
    }

    /// Zeroes a frame's contents.
    public mutating func zero(_ frame: FrameNumber) {
        guard let host = writableHostFrame(frame) else { return }
        memory.zero(host)
    }

    /// Copies a frame's 4 KiB into another.
    public mutating func copy(_ source: FrameNumber, to destination: FrameNumber) {
        guard let to = writableHostFrame(destination) else { return }
        if softwareView != nil && hostFrame(of: source) == nil { memory.zero(to); return }
        memory.copy(from: hostFrame(of: source)?.frame ?? source, to: to)
    }

    /// Whether every byte of `frame` (of the software view) is zero.
    public func isZero(_ frame: FrameNumber) -> Bool {
        guard let host = hostFrame(of: frame) else { return true }
        return memory.isZero(host.frame)
    }

    /// INVLPGB as every core sees it: each page of `pages` (nil: every
    /// entry) of `pcid` is dropped on every core, the initiator's included,
    /// with no charge on any (the initiator pays for the instruction and TLBSYNC).
    public mutating func broadcastInvalidation(pages: [VirtualPageNumber]?, pcid: PCID) {
        for c in cores.indices {
            if let pages {
                for page in pages { cores[c].receiveBroadcastInvalidation(page.address, pcid: pcid) }
            } else {
                cores[c].receiveBroadcastInvalidation(nil, pcid: pcid)
            }
        }
    }

    /// Turns event recording on or off on every core.
    public mutating func setLogging(_ on: Bool) {
        for c in cores.indices { cores[c].setLogging(on) }
    }
}
