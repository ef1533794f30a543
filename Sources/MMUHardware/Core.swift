/// CR3 with CR4.PCIDE: the root table of the current address space (its
/// PML4, or its PML5 with five-level paging) and its PCID.
public struct ControlRegister3: Hashable, Sendable {
    public var pml4: FrameNumber
    public var pcid: PCID
    public init(pml4: FrameNumber, pcid: PCID) {
        self.pml4 = pml4
        self.pcid = pcid
    }
}

/// Where a translation attempt ended.
public enum TranslationOutcome: Sendable {
    case translated(PhysicalAddress)
    /// The walker raised #PF with this error code; CR2 is the address translated.
    case pageFault(PageFaultErrorCode)
    /// A guest's walk found no nested mapping that permits the access: a VM
    /// exit, whose exit qualification is in the core's `exitQualification`
    /// (kept out of this enum so a translation returns in registers).
    case eptViolation
}

/// One logical processor: its clock, TLBs, paging-structure caches and CR3.
///
/// TLBs by page size: the L1 data TLB is three arrays (4 KiB `l1d`, 2 MiB
/// `l1d2M`, 1 GiB `l1d1G`), the L1 instruction TLB two (`l1i`, `l1i2M`), the
/// L2 TLB a shared 4 KiB + 2 MiB array (`l2`) and a 1 GiB array (`l2OneGig`).
///
/// Software reaches a core only as software reaches real hardware: through
/// `Machine.execute` (accesses, which may raise #PF), the instructions a
/// kernel has (INVLPG, full flushes, CR3 writes; INVLPGB on the machine), and
/// the cycles its own code costs (`charge`). Everything else is read-only.
public struct Core: Sendable {
    public let id: CoreID
    public internal(set) var l1d: TranslationLookasideBuffer
    public internal(set) var l1i: TranslationLookasideBuffer
    public internal(set) var l2: TranslationLookasideBuffer
    public internal(set) var l1d2M: TranslationLookasideBuffer
    public internal(set) var l1d1G: TranslationLookasideBuffer
    public internal(set) var l1i2M: TranslationLookasideBuffer
    public internal(set) var l2OneGig: TranslationLookasideBuffer
    public internal(set) var pml5eCache: PagingStructureCache
    public internal(set) var pml4eCache: PagingStructureCache
    public internal(set) var pdpteCache: PagingStructureCache
    public internal(set) var pdeCache: PagingStructureCache
    /// Guest-physical to host-physical translations, tagged by VPID (the
    /// nested TLB), and the nested paging-structure caches: a guest's
    /// two-dimensional walk only.
    public internal(set) var nestedTLB: TranslationLookasideBuffer
    public internal(set) var nestedPML5ECache: PagingStructureCache
    public internal(set) var nestedPML4ECache: PagingStructureCache
    public internal(set) var nestedPDPTECache: PagingStructureCache
    public internal(set) var nestedPDECache: PagingStructureCache
    /// The VM this core runs (its VMCS), nil while it runs the host.
    public internal(set) var vmcs: VirtualMachineControls?
    /// The last VM exit's EPT violation (the VMCS's exit-qualification and
    /// guest-address fields).
    public internal(set) var exitQualification: EPTViolation?
    /// The loaded address space; nil while the core runs no user process.
    public internal(set) var cr3: ControlRegister3?
    public internal(set) var account = CycleAccount()
    public internal(set) var statistics = CoreStatistics()
    public internal(set) var log: EventLog
    /// Where page-table reads hit (used unless `cost.walk.ref` is set).
    public internal(set) var pageTableLines: PageTableLineCache
    public let costs: CostModel
    /// CR4.PCIDE: when off, every CR3 write flushes the non-global entries.
    public let pcidEnabled: Bool
    /// The level CR3 points at: PML4, or PML5 with five-level paging (CR4.LA57).
    public let rootLevel: PagingLevel
    let pagingStructureCachesEnabled: Bool
    let nestedPagingStructureCachesEnabled: Bool

    public init(id: CoreID, geometry: TLBGeometry, costs: CostModel, pcidEnabled: Bool, logEvents: Bool = false,
                pagingLevels: Int = 4) {
        rootLevel = PagingLevel.root(levels: pagingLevels)
        let addressBits: UInt64 = pagingLevels == 5 ? 57 : 48
        pml5eCache = PagingStructureCache(level: .pml5, entries: geometry.pml5eCacheEntries, addressBits: addressBits)
        self.id = id
        l1d = TranslationLookasideBuffer(entries: geometry.l1dEntries, ways: geometry.l1dWays)
        l1i = TranslationLookasideBuffer(entries: geometry.l1iEntries, ways: geometry.l1iWays)
        l2 = TranslationLookasideBuffer(entries: geometry.l2Entries, ways: geometry.l2Ways)
        l1d2M = TranslationLookasideBuffer(entries: geometry.l1d2MEntries, ways: geometry.l1d2MWays)
        l1d1G = TranslationLookasideBuffer(entries: geometry.l1d1GEntries, ways: geometry.l1d1GWays)
        l1i2M = TranslationLookasideBuffer(entries: geometry.l1i2MEntries, ways: geometry.l1i2MWays)
        l2OneGig = TranslationLookasideBuffer(entries: geometry.l2OneGEntries, ways: geometry.l2OneGWays)
        pml4eCache = PagingStructureCache(level: .pml4, entries: geometry.pml4eCacheEntries, addressBits: addressBits)
        pdpteCache = PagingStructureCache(level: .pdpt, entries: geometry.pdpteCacheEntries, addressBits: addressBits)
        pdeCache = PagingStructureCache(level: .pd, entries: geometry.pdeCacheEntries, addressBits: addressBits)
        pagingStructureCachesEnabled = geometry.hasPagingStructureCaches
        nestedTLB = TranslationLookasideBuffer(entries: geometry.nestedTLBEntries, ways: geometry.nestedTLBWays)
        // Guest-physical addresses are keyed on 52 bits (MAXPHYADDR), whatever the nested levels.
        nestedPML5ECache = PagingStructureCache(level: .pml5, entries: geometry.nestedPML5ECacheEntries, addressBits: 57)
        nestedPML4ECache = PagingStructureCache(level: .pml4, entries: geometry.nestedPML4ECacheEntries, addressBits: 57)
        nestedPDPTECache = PagingStructureCache(level: .pdpt, entries: geometry.nestedPDPTECacheEntries, addressBits: 57)
        nestedPDECache = PagingStructureCache(level: .pd, entries: geometry.nestedPDECacheEntries, addressBits: 57)
        nestedPagingStructureCachesEnabled = geometry.hasNestedPagingStructureCaches
        pageTableLines = PageTableLineCache(geometry: geometry)
        self.costs = costs
        self.pcidEnabled = pcidEnabled
        self.log = EventLog(enabled: logEvents)
    }

    public var clock: CycleCount { account.clock }
    /// Whether events are being recorded.
    public var isLogging: Bool { log.isEnabled }

    // MARK: Charging

    /// Charges `times` x the cost of `key`, filed under its category or
    /// `category`: the one way work moves the clock.
    public mutating func charge(_ key: CostKey, times: UInt64 = 1, as category: CycleCategory? = nil) {
        let cycles = costs[key] &* times
        let filed = category ?? key.category
        if log.isEnabled { recordCharge(key, cycles, filed) }
        account.charge(cycles, to: filed)
    }
    mutating func recordCharge(_ key: CostKey, _ cycles: CycleCount, _ category: CycleCategory) {
        log.record(id, clock, .charge(key, cycles, category))
    }

    /// `charge` of one `key` under its own category, with the log's state given.
    @inline(__always) mutating func charge(_ key: CostKey, logging: Bool) {
        let cycles = costs[key]
        if logging { recordCharge(key, cycles, key.category) }
        account.charge(cycles, to: key.category)
    }

    /// Moves the clock forward to `time`, filing the gap under `wait`.
    public mutating func wait(until time: CycleCount) {
        let now = clock
        if time > now { note(.wait(time - now)) }
        account.wait(until: time)
    }

    // MARK: Events

    /// Opens a span of this core's time (event logging only).
    public mutating func begin(_ span: Event.Span) { note(.begin(span)) }
    /// Closes the innermost span opened with `begin`.
    public mutating func end(_ span: Event.Span) { note(.end(span)) }

    public mutating func note(_ kind: @autoclosure () -> Event.Kind) {
        if log.isEnabled { log.record(id, clock, kind()) }
    }

    /// Turns event recording on or off (a run may log only part of a trace).
    public mutating func setLogging(_ on: Bool) { log.isEnabled = on }

    /// Hands over the events recorded since the last drain.
    public mutating func drainEvents() -> [Event] { log.drain() }

    // MARK: Retiring

    /// The access completes (its data moved): `cost.access`, counted in
    /// `accesses`, and the `accessDone` event with the value read or stored.
    @inline(__always)
    mutating func retire(_ kind: AccessKind, _ address: VirtualAddress, _ physical: PhysicalAddress,
                         _ value: UInt64, logging: Bool) {
        charge(.access, logging: logging)
        statistics.accesses &+= 1
        if logging { log.record(id, clock, .accessDone(kind, address, physical, value)) }
    }

    /// A #PF is delivered to the operating system (counted in `faults.pf`).
    mutating func deliverPageFault() { statistics.pageFaults &+= 1 }
}
