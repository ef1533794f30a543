/// CR3 with CR4.PCIDE: the root table of the current address space and its PCID.
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
}

/// One logical processor: its clock, TLBs, paging-structure caches and CR3.
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
    public internal(set) var pml4eCache: PagingStructureCache
    public internal(set) var pdpteCache: PagingStructureCache
    public internal(set) var pdeCache: PagingStructureCache
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
    let pagingStructureCachesEnabled: Bool

    public init(id: CoreID, geometry: TLBGeometry, costs: CostModel, pcidEnabled: Bool, logEvents: Bool = false) {
        self.id = id
        l1d = TranslationLookasideBuffer(entries: geometry.l1dEntries, ways: geometry.l1dWays)
        l1i = TranslationLookasideBuffer(entries: geometry.l1iEntries, ways: geometry.l1iWays)
        l2 = TranslationLookasideBuffer(entries: geometry.l2Entries, ways: geometry.l2Ways)
        pml4eCache = PagingStructureCache(level: .pml4, entries: geometry.pml4eCacheEntries)
        pdpteCache = PagingStructureCache(level: .pdpt, entries: geometry.pdpteCacheEntries)
        pdeCache = PagingStructureCache(level: .pd, entries: geometry.pdeCacheEntries)
        pagingStructureCachesEnabled = geometry.hasPagingStructureCaches
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

    // MARK: Translation

    /// Translates `address` for a user-mode access of `kind`: L1 TLB, L2 TLB,
    /// then a walk. A walk that faults invalidates the address's entries (SDM
    /// 4.10.4.2) and fills nothing.
    public mutating func translate(_ address: VirtualAddress, _ kind: AccessKind,
                                   memory: inout PhysicalMemory) -> TranslationOutcome {
        translate(address, kind, memory: &memory, logging: log.isEnabled)
    }

    /// `translate` for the access path. With `retiring`, a translation that
    /// succeeds also retires the access (`cost.access`, `accesses`) in the
    /// same call: the machine asks for it when nothing can happen between
    /// this translation and the retirement that a charge's place would change
    /// (the last page, no event log, no checker), saving a second call into the core.
    @inline(__always)
    mutating func translate(_ address: VirtualAddress, _ kind: AccessKind, memory: inout PhysicalMemory,
                            logging: Bool, retiring: Bool) -> TranslationOutcome {
        let outcome = translate(address, kind, memory: &memory, logging: logging)
        if retiring, case .translated = outcome {
            charge(.access, logging: false)
            statistics.accesses &+= 1
        }
        return outcome
    }

    /// The L1 hit path: a slot from the TLB and the physical address read
    /// from its entry; a miss goes on out of line.
    @inline(__always)
    mutating func translate(_ address: VirtualAddress, _ kind: AccessKind,
                            memory: inout PhysicalMemory, logging: Bool) -> TranslationOutcome {
        guard let cr3 else { return .pageFault(.user) }
        charge(.tlbL1, logging: logging)
        let level: Event.TLBLevel = kind == .fetch ? .l1i : .l1d
        let probe = kind == .fetch ? l1i.search(address, pcid: cr3.pcid, for: kind) : l1d.search(address, pcid: cr3.pcid, for: kind)
        switch probe {
        case .hit(let slot):
            if kind == .fetch { statistics.l1iHits &+= 1 } else { statistics.l1dHits &+= 1 }
            if logging { log.record(id, clock, .tlbHit(level, address)) }
            return .translated(kind == .fetch ? l1i.physicalAddress(at: slot, of: address)
                                              : l1d.physicalAddress(at: slot, of: address))
        case .miss(let fillAt):
            return translateAfterL1Miss(address, kind, cr3, l1Slot: fillAt, dropped: false, memory: &memory)
        case .dropped:
            return translateAfterL1Miss(address, kind, cr3, l1Slot: nil, dropped: true, memory: &memory)
        }
    }

    /// The rest of a translation once the L1 TLB missed (or dropped its
    /// entry): the L2 TLB, then a walk. `l1Slot` is where the L1 fill goes
    /// (nil: search), valid since nothing touches the L1 before that fill.
    @inline(never)
    mutating func translateAfterL1Miss(_ address: VirtualAddress, _ kind: AccessKind, _ cr3: ControlRegister3,
                                       l1Slot: TranslationLookasideBuffer.Slot?, dropped: Bool,
                                       memory: inout PhysicalMemory) -> TranslationOutcome {
        let pcid = cr3.pcid
        let level1: Event.TLBLevel = kind == .fetch ? .l1i : .l1d
        if kind == .fetch { statistics.l1iMisses &+= 1 } else { statistics.l1dMisses &+= 1 }
        note(dropped ? .tlbDropped(level1, address) : .tlbMiss(level1, address))
        var l2Slot: TranslationLookasideBuffer.Slot? = nil
        if l2.isEnabled {
            charge(.tlbL2)
            switch l2.probe(address, pcid: pcid, for: kind) {
            case .hit(let slot):
                statistics.l2Hits &+= 1
                note(.tlbHit(.l2, address))
                let translation = l2.translation(at: slot)
                fillL1(address, kind, translation, pcid, at: l1Slot)
                return .translated(translation.physicalAddress(of: address))
            case .miss(let fillAt):
                statistics.l2Misses &+= 1
                note(.tlbMiss(.l2, address))
                l2Slot = fillAt
            case .dropped:
                statistics.l2Misses &+= 1
                note(.tlbDropped(.l2, address))
            }
        }
        return walk(address, kind, cr3, l1Slot: l1Slot, l2Slot: l2Slot, memory: &memory)
    }

    @inline(__always) mutating func fillL1(_ address: VirtualAddress, _ kind: AccessKind, _ translation: Translation,
                                           _ pcid: PCID, at slot: TranslationLookasideBuffer.Slot?) {
        if kind == .fetch {
            l1i.insert(address, translation, pcid: pcid, at: slot)
        } else {
            l1d.insert(address, translation, pcid: pcid, at: slot)
        }
    }

    /// The paging-structure caches' answer for a walk: where it starts, and
    /// the slot each cache that missed fills.
    struct WalkStart {
        var start: PageWalker.Start
        var pml4eSlot: PagingStructureCache.Slot? = nil
        var pdpteSlot: PagingStructureCache.Slot? = nil
        var pdeSlot: PagingStructureCache.Slot? = nil
    }

    /// The longest paging-structure-cache match for `address`: PDE, then
    /// PDPTE, then PML4E cache.
    mutating func walkStart(_ address: VirtualAddress, _ cr3: ControlRegister3) -> WalkStart {
        var result = WalkStart(start: .root(cr3.pml4))
        guard pagingStructureCachesEnabled else { return result }
        charge(.walkPSC)
        switch pdeCache.probe(address, pcid: cr3.pcid) {
        case .hit(let table, let rights):
            result.start = .init(level: .pt, table: table, rights: rights)
        case .miss(let pde):
            result.pdeSlot = pde
            switch pdpteCache.probe(address, pcid: cr3.pcid) {
            case .hit(let table, let rights):
                result.start = .init(level: .pd, table: table, rights: rights)
            case .miss(let pdpte):
                result.pdpteSlot = pdpte
                switch pml4eCache.probe(address, pcid: cr3.pcid) {
                case .hit(let table, let rights):
                    result.start = .init(level: .pdpt, table: table, rights: rights)
                case .miss(let pml4e):
                    result.pml4eSlot = pml4e
                }
            }
        }
        if result.start.level != .pml4 {
            statistics.pscHits &+= 1
            note(.pscHit(result.start.level, address))
        }
        return result
    }

    /// A page walk after both TLBs missed. Nothing touches the TLBs or the
    /// paging-structure caches between their probes and the fills here, so
    /// each fill goes straight to the slot its probe chose.
    mutating func walk(_ address: VirtualAddress, _ kind: AccessKind, _ cr3: ControlRegister3,
                       l1Slot: TranslationLookasideBuffer.Slot? = nil, l2Slot: TranslationLookasideBuffer.Slot? = nil,
                       memory: inout PhysicalMemory) -> TranslationOutcome {
        let logging = log.isEnabled
        if logging { begin(.walk) }
        defer { if logging { end(.walk) } }
        statistics.walks &+= 1
        let cached = walkStart(address, cr3)
        let walk = PageWalker.walk(address, kind, from: cached.start, memory: &memory)
        statistics.walkRefs &+= UInt64(walk.references)
        // Charge each reference: flat, or where its line hits.
        let flat = costs.flatWalkReference
        for i in 0..<walk.references {
            let step = walk[i]
            if flat {
                charge(.walkRef)
            } else {
                charge(pageTableLines.read(PageTableLineCache.line(step.table, step.index)).cost)
            }
            if logging { note(.walkReference(step)) }
        }
        switch walk.outcome {
        case .fault(let code):
            note(.pageFault(code, cr2: address))
            invalidateForPageFault(address, pcid: cr3.pcid)
            return .pageFault(code)
        case .translation(let translation):
            if walk.accessedDirtyBitsSet > 0 { charge(.walkAD, times: UInt64(walk.accessedDirtyBitsSet)) }
            note(.walkDone(address, translation, accessedDirtyBitsSet: walk.accessedDirtyBitsSet))
            if pagingStructureCachesEnabled && walk.references > 1 {
                // Every upper-level entry read fills its cache, whose probe missed.
                var rights = cached.start.rights
                for i in 0..<(walk.references - 1) {
                    let step = walk[i]
                    rights.formIntersection(AccessRights.granted(by: step.entry))
                    let table = step.entry.frame
                    switch step.level {
                    case .pml4: pml4eCache.fill(address, table: table, rights: rights, pcid: cr3.pcid, at: cached.pml4eSlot)
                    case .pdpt: pdpteCache.fill(address, table: table, rights: rights, pcid: cr3.pcid, at: cached.pdpteSlot)
                    case .pd: pdeCache.fill(address, table: table, rights: rights, pcid: cr3.pcid, at: cached.pdeSlot)
                    case .pt: break
                    }
                }
            }
            l2.insert(address, translation, pcid: cr3.pcid, at: l2Slot)
            fillL1(address, kind, translation, cr3.pcid, at: l1Slot)
            return .translated(translation.physicalAddress(of: address))
        }
    }

    /// What a #PF drops on the faulting core: the address's TLB entries and the
    /// paging-structure-cache entries it would use, for the current PCID.
    mutating func invalidateForPageFault(_ address: VirtualAddress, pcid: PCID) {
        l1d.invalidate(address, pcid: pcid)
        l1i.invalidate(address, pcid: pcid)
        l2.invalidate(address, pcid: pcid)
        pml4eCache.invalidate(address, pcid: pcid)
        pdpteCache.invalidate(address, pcid: pcid)
        pdeCache.invalidate(address, pcid: pcid)
    }

    // MARK: Instructions the kernel uses

    /// INVLPG (or INVPCID individual-address when `pcid` is not the current one):
    /// drops the page's TLB entries tagged `pcid` (and global ones for the page)
    /// and every paging-structure-cache entry tagged `pcid` (SDM 4.10.4.1).
    public mutating func invalidatePage(_ address: VirtualAddress, pcid: PCID, as category: CycleCategory = .kernel) {
        charge(.invlpg, as: category)
        statistics.invlpgs &+= 1
        note(.invlpg(address, pcid))
        removePage(address, pcid: pcid)
    }

    /// What an individual-address invalidation removes, by whatever instruction:
    /// the page's TLB entries tagged `pcid` (and global ones) and every
    /// paging-structure-cache entry of `pcid`.
    mutating func removePage(_ address: VirtualAddress, pcid: PCID) {
        l1d.invalidate(address, pcid: pcid)
        l1i.invalidate(address, pcid: pcid)
        l2.invalidate(address, pcid: pcid)
        pml4eCache.flush(pcid: pcid)
        pdpteCache.flush(pcid: pcid)
        pdeCache.flush(pcid: pcid)
    }

    /// INVPCID single-context (nil: all contexts): a full flush of the
    /// non-global entries tagged `pcid`, TLBs and paging-structure caches alike.
    public mutating func flush(pcid: PCID?, as category: CycleCategory = .kernel) {
        charge(.tlbFlush, as: category)
        statistics.tlbFlushes &+= 1
        note(.flush(pcid))
        removeTranslations(pcid: pcid)
    }

    /// The entries of an address space that no longer exists, dropped with
    /// no instruction and no charge (its PCID is retired; the kernel may hand
    /// it out again only once no core holds entries tagged with it).
    public mutating func retirePCID(_ pcid: PCID) {
        removeTranslations(pcid: pcid)
    }

    mutating func removeTranslations(pcid: PCID?) {
        l1d.flush(pcid: pcid)
        l1i.flush(pcid: pcid)
        l2.flush(pcid: pcid)
        pml4eCache.flush(pcid: pcid)
        pdpteCache.flush(pcid: pcid)
        pdeCache.flush(pcid: pcid)
    }

    /// MOV to CR3 (its cost is part of `cost.switch`). With PCIDs off it flushes
    /// every non-global entry (counted in `tlb.flushes`); with PCIDs on the old
    /// entries stay, tagged with their PCID. Nil leaves the core with no user
    /// address space.
    public mutating func loadCR3(_ value: ControlRegister3?) {
        cr3 = value
        guard let value else { return }
        note(.cr3Write(value.pml4, value.pcid))
        if !pcidEnabled {
            statistics.tlbFlushes &+= 1
            note(.flush(nil))
            removeTranslations(pcid: nil)
        }
    }

    /// A store to a paging-structure entry by the kernel on this core brings
    /// its line into this core's caches (its cost is `cost.pte.write`).
    mutating func storeToPageTable(_ frame: FrameNumber, _ index: UInt64) {
        if !costs.flatWalkReference { pageTableLines.write(PageTableLineCache.line(frame, index)) }
    }

    /// What a broadcast invalidation (INVLPGB) does to this core: drops the
    /// page's entries tagged `pcid` and the PSC entries of `pcid`, with no
    /// instruction executed here (no charge, not counted as INVLPG); or, for
    /// a full flush (nil address), every entry of `pcid`, counted in
    /// `tlb.flushes`.
    mutating func receiveBroadcastInvalidation(_ address: VirtualAddress?, pcid: PCID) {
        if let address {
            note(.broadcastInvalidation(address, pcid))
            removePage(address, pcid: pcid)
        } else {
            statistics.tlbFlushes &+= 1
            removeTranslations(pcid: pcid)
        }
    }

    // MARK: What checkers may read

    /// Whether this core may still translate `address` under `pcid` without a
    /// walk (a valid TLB entry for it in L1D, L1I or L2).
    public func caches(_ address: VirtualAddress, pcid: PCID) -> Bool {
        l1d.holds(address, pcid: pcid) || l1i.holds(address, pcid: pcid) || l2.holds(address, pcid: pcid)
    }

    /// A TLB entry of this core that translates to `frame`, if any: its page
    /// address and PCID.
    public func cachedTranslation(to frame: FrameNumber) -> (address: VirtualAddress, pcid: PCID)? {
        l1d.entry(mapping: frame) ?? l1i.entry(mapping: frame) ?? l2.entry(mapping: frame)
    }

    /// Whether a paging-structure-cache entry of this core points to the table in `frame`.
    public func cachesPagingStructure(in frame: FrameNumber) -> Bool {
        pml4eCache.references(frame) || pdpteCache.references(frame) || pdeCache.references(frame)
    }
}
