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

/// Where an access that `Core.execute` started ended.
public enum ExecutionOutcome: Sendable {
    /// The access retired; the value read (for a store, the value stored).
    case completed(UInt64)
    /// The translation raised #PF with this error code; no data moved.
    case pageFault(PageFaultErrorCode)
}

/// One logical processor: its clock, TLBs, paging-structure caches and CR3.
///
/// The core offers the kernel only what hardware offers: translation (which may
/// raise #PF), INVLPG/INVPCID, full flushes and CR3 writes.
public struct Core: Sendable {
    public let id: CoreID
    public var l1d: TranslationLookasideBuffer
    public var l1i: TranslationLookasideBuffer
    public var l2: TranslationLookasideBuffer
    public var pml4eCache: PagingStructureCache
    public var pdpteCache: PagingStructureCache
    public var pdeCache: PagingStructureCache
    /// The loaded address space; nil while the core runs no user process.
    public private(set) var cr3: ControlRegister3?
    public private(set) var account = CycleAccount()
    public var statistics = CoreStatistics()
    public var log: EventLog
    /// Where page-table reads hit (used unless `cost.walk.ref` is set).
    public var pageTableLines: PageTableLineCache
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

    // MARK: Charging

    /// Charges `times` x the cost of `key`, filed under its category or `category`.
    @inlinable public mutating func charge(_ key: CostKey, times: UInt64 = 1, as category: CycleCategory? = nil) {
        let cycles = costs[key] &* times
        let filed = category ?? key.category
        if log.isEnabled { recordCharge(key, cycles, filed) }
        chargeCycles(cycles, filed)
    }
    @usableFromInline mutating func recordCharge(_ key: CostKey, _ cycles: CycleCount, _ category: CycleCategory) {
        log.record(id, clock, .charge(key, cycles, category))
    }
    @usableFromInline @inline(__always) mutating func chargeCycles(_ cycles: CycleCount, _ category: CycleCategory) {
        account.charge(cycles, to: category)
    }

    /// Moves the clock forward to `time`, filing the gap under `wait`.
    public mutating func wait(until time: CycleCount) {
        if time > clock {
            let gap = time - clock
            note(.wait(gap))
        }
        account.wait(until: time)
    }

    /// Opens a span of this core's time (event logging only).
    @inlinable public mutating func begin(_ span: Event.Span) { note(.begin(span)) }
    /// Closes the innermost span opened with `begin`.
    @inlinable public mutating func end(_ span: Event.Span) { note(.end(span)) }

    @inlinable public mutating func note(_ kind: @autoclosure () -> Event.Kind) {
        if log.isEnabled { log.record(id, clock, kind()) }
    }

    /// The access completes (its data moved): `cost.access`, counted in
    /// `accesses`, and the `accessDone` event with the value read or stored.
    @inlinable public mutating func retire(_ kind: AccessKind, _ address: VirtualAddress,
                                           _ physical: PhysicalAddress, _ value: UInt64) {
        charge(.access)
        statistics.accesses &+= 1
        note(.accessDone(kind, address, physical, value))
    }

    /// One access within one page, start to end: translate `address`, move
    /// the data (a load's 8 bytes, a store of `value`, a fetch's byte), retire.
    /// The access path's single call into the core when no checker needs to
    /// look between translation and data.
    public mutating func execute(_ kind: AccessKind, _ address: VirtualAddress, store value: UInt64,
                                 memory: inout PhysicalMemory) -> ExecutionOutcome {
        if log.isEnabled { return executeLogging(kind, address, store: value, memory: &memory) }
        return execute(kind, address, store: value, memory: &memory, logging: false)
    }

    @inline(never)
    mutating func executeLogging(_ kind: AccessKind, _ address: VirtualAddress, store value: UInt64,
                                 memory: inout PhysicalMemory) -> ExecutionOutcome {
        execute(kind, address, store: value, memory: &memory, logging: true)
    }

    /// `execute`, compiled twice: with `logging` a constant, the copy that
    /// runs while event logging is off has no event code at all.
    @inline(__always)
    mutating func execute(_ kind: AccessKind, _ address: VirtualAddress, store value: UInt64,
                          memory: inout PhysicalMemory, logging: Bool) -> ExecutionOutcome {
        let physical: PhysicalAddress
        switch translate(address, kind, memory: &memory, logging: logging) {
        case .translated(let pa): physical = pa
        case .pageFault(let code): return .pageFault(code)
        }
        let result: UInt64
        switch kind {
        case .read: result = memory.read64(physical)
        case .write: memory.write64(physical, value); result = value
        case .fetch: result = UInt64(memory.readByte(physical))
        }
        charge(.access, logging: logging)
        statistics.accesses &+= 1
        if logging { log.record(id, clock, .accessDone(kind, address, physical, result)) }
        return .completed(result)
    }

    /// `charge` of one `key` under its own category, with the log's state given.
    @inline(__always) mutating func charge(_ key: CostKey, logging: Bool) {
        let cycles = costs[key]
        if logging { recordCharge(key, cycles, key.category) }
        account.charge(cycles, to: key.category)
    }

    // MARK: Translation

    /// Translates `address` for a user-mode access of `kind`: L1 TLB, L2 TLB,
    /// then a walk. A walk that faults invalidates the address's entries (SDM
    /// 4.10.4.2) and fills nothing.
    public mutating func translate(_ address: VirtualAddress, _ kind: AccessKind,
                                   memory: inout PhysicalMemory) -> TranslationOutcome {
        translate(address, kind, memory: &memory, logging: log.isEnabled)
    }

    /// The L1 hit path: a slot index from the TLB and the physical address
    /// read from the entry; a miss goes on out of line.
    @inline(__always)
    mutating func translate(_ address: VirtualAddress, _ kind: AccessKind,
                            memory: inout PhysicalMemory, logging: Bool) -> TranslationOutcome {
        guard let cr3 else { return .pageFault(.user) }
        charge(.tlbL1, logging: logging)
        if kind == .fetch {
            let slot = l1i.hit(address, pcid: cr3.pcid, for: kind)
            if slot >= 0 {
                statistics.l1iHits &+= 1
                if logging { log.record(id, clock, .tlbHit(.l1i, address)) }
                return .translated(l1i.physicalAddress(at: slot, of: address))
            }
            return translateAfterL1Miss(address, kind, cr3, dropped: slot == TranslationLookasideBuffer.dropped, memory: &memory)
        }
        let slot = l1d.hit(address, pcid: cr3.pcid, for: kind)
        if slot >= 0 {
            statistics.l1dHits &+= 1
            if logging { log.record(id, clock, .tlbHit(.l1d, address)) }
            return .translated(l1d.physicalAddress(at: slot, of: address))
        }
        return translateAfterL1Miss(address, kind, cr3, dropped: slot == TranslationLookasideBuffer.dropped, memory: &memory)
    }

    /// The rest of a translation once the L1 TLB missed (or dropped its entry):
    /// the L2 TLB, then a walk. Kept apart so that the L1 hit path stays short.
    @inline(never)
    mutating func translateAfterL1Miss(_ address: VirtualAddress, _ kind: AccessKind, _ cr3: ControlRegister3,
                                       dropped: Bool, memory: inout PhysicalMemory) -> TranslationOutcome {
        let pcid = cr3.pcid
        let level1: Event.TLBLevel = kind == .fetch ? .l1i : .l1d
        if kind == .fetch { statistics.l1iMisses &+= 1 } else { statistics.l1dMisses &+= 1 }
        if dropped { note(.tlbDropped(level1, address)) } else { note(.tlbMiss(level1, address)) }
        var l2Victim = -1
        if l2.isEnabled {
            charge(.tlbL2)
            let (slot, victim) = l2.hitOrVictim(address, pcid: pcid, for: kind)
            if slot >= 0 {
                statistics.l2Hits &+= 1
                note(.tlbHit(.l2, address))
                let translation = l2.translation(at: slot)
                fillL1(address, kind, translation, pcid)
                return .translated(translation.physicalAddress(of: address))
            }
            statistics.l2Misses &+= 1
            if slot == TranslationLookasideBuffer.dropped { note(.tlbDropped(.l2, address)) } else { note(.tlbMiss(.l2, address)) }
            l2Victim = victim
        }
        return walk(address, kind, cr3, l2Victim: l2Victim, memory: &memory)
    }

    @inline(__always) mutating func fillL1(_ address: VirtualAddress, _ kind: AccessKind, _ translation: Translation, _ pcid: PCID) {
        if kind == .fetch { l1i.insert(address, translation, pcid: pcid) } else { l1d.insert(address, translation, pcid: pcid) }
    }

    /// A page walk after both TLBs missed. Nothing touches the TLBs or the
    /// paging-structure caches between their probes and the fills here, so
    /// each fill goes straight to the victim its probe found.
    mutating func walk(_ address: VirtualAddress, _ kind: AccessKind, _ cr3: ControlRegister3, l2Victim: Int = -1,
                       memory: inout PhysicalMemory) -> TranslationOutcome {
        let logging = log.isEnabled
        if logging { begin(.walk) }
        defer { if logging { end(.walk) } }
        statistics.walks &+= 1
        var start = PageWalker.Start.root(cr3.pml4)
        var pdeVictim = -1, pdpteVictim = -1, pml4eVictim = -1
        if pagingStructureCachesEnabled {
            charge(.walkPSC)
            let pde = pdeCache.probe(address, pcid: cr3.pcid)
            if let hit = pde.hit {
                start = .init(level: .pt, table: hit.table, rights: hit.rights)
            } else {
                pdeVictim = pde.victim
                let pdpte = pdpteCache.probe(address, pcid: cr3.pcid)
                if let hit = pdpte.hit {
                    start = .init(level: .pd, table: hit.table, rights: hit.rights)
                } else {
                    pdpteVictim = pdpte.victim
                    let pml4e = pml4eCache.probe(address, pcid: cr3.pcid)
                    if let hit = pml4e.hit {
                        start = .init(level: .pdpt, table: hit.table, rights: hit.rights)
                    } else {
                        pml4eVictim = pml4e.victim
                    }
                }
            }
            if start.level != .pml4 {
                statistics.pscHits &+= 1
                note(.pscHit(start.level, address))
            }
        }
        let walk = PageWalker.walk(address, kind, from: start, memory: &memory)
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
                var rights = start.rights
                for i in 0..<(walk.references - 1) {
                    let step = walk[i]
                    rights.formIntersection(AccessRights.granted(by: step.entry))
                    switch step.level {
                    case .pml4: pml4eCache.fill(address, table: step.entry.frame, rights: rights, pcid: cr3.pcid, at: pml4eVictim)
                    case .pdpt: pdpteCache.fill(address, table: step.entry.frame, rights: rights, pcid: cr3.pcid, at: pdpteVictim)
                    case .pd: pdeCache.fill(address, table: step.entry.frame, rights: rights, pcid: cr3.pcid, at: pdeVictim)
                    case .pt: break
                    }
                }
            }
            l2.insert(address, translation, pcid: cr3.pcid, victim: l2Victim)
            fillL1(address, kind, translation, cr3.pcid)
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

    /// A full flush of the non-global entries tagged `pcid` (INVPCID
    /// single-context; nil: every PCID), TLBs and paging-structure caches alike.
    public mutating func flush(pcid: PCID?, as category: CycleCategory = .kernel) {
        charge(.tlbFlush, as: category)
        statistics.tlbFlushes &+= 1
        note(.flush(pcid))
        dropTranslations(pcid: pcid)
    }

    /// Drops translations without charging (an exited address space's entries).
    public mutating func dropTranslations(pcid: PCID?) {
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
            dropTranslations(pcid: nil)
        }
    }

    /// A store to a paging-structure entry by the kernel on this core brings
    /// its line into this core's caches (its cost is `cost.pte.write`).
    public mutating func storeToPageTable(_ frame: FrameNumber, _ index: UInt64) {
        if !costs.flatWalkReference { pageTableLines.write(PageTableLineCache.line(frame, index)) }
    }

    /// Whether this core may still translate `address` under `pcid` without a
    /// walk (a valid TLB entry for it in L1D, L1I or L2).
    public func caches(_ address: VirtualAddress, pcid: PCID) -> Bool {
        l1d.holds(address, pcid: pcid) || l1i.holds(address, pcid: pcid) || l2.holds(address, pcid: pcid)
    }
}

extension Core {
    /// What a broadcast invalidation (INVLPGB) does to this core: drops the
    /// page's entries tagged `pcid` and the PSC entries of `pcid`, with no
    /// instruction executed here (no charge, not counted as INVLPG).
    public mutating func dropPage(_ address: VirtualAddress, pcid: PCID) {
        note(.kernel("INVLPGB invalidation", address, UInt64(pcid.rawValue)))
        removePage(address, pcid: pcid)
    }
}
