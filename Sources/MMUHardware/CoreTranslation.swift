/// How a core translates: L1 TLB, L2 TLB, paging-structure caches, the
/// walk, and the fills a successful walk makes.
extension Core {
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
        if retiring, case .translated = outcome { retireTranslation() }
        return outcome
    }

    /// The retirement a translation does when asked to (`retiring`, no event
    /// log): `cost.access` and `accesses`, as `retire` without its event.
    @inline(__always) mutating func retireTranslation() {
        charge(.access, logging: false)
        statistics.accesses &+= 1
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

    /// The rest of a translation once the L1's 4 KiB array missed (or
    /// dropped its entry): the L1's 2 MiB and 1 GiB arrays (probed for the
    /// same charge), the L2 TLB, then a walk. `l1Slot` is where a 4 KiB L1
    /// fill goes (nil: search), valid since nothing touches that array before
    /// the fill.
    @inline(never)
    mutating func translateAfterL1Miss(_ address: VirtualAddress, _ kind: AccessKind, _ cr3: ControlRegister3,
                                       l1Slot: TranslationLookasideBuffer.Slot?, dropped: Bool,
                                       memory: inout PhysicalMemory) -> TranslationOutcome {
        let pcid = cr3.pcid
        let level1: Event.TLBLevel = kind == .fetch ? .l1i : .l1d
        var dropped = dropped
        if let physical = lookUpLargeL1(address, kind, pcid, dropped: &dropped) {
            note(.tlbHit(level1, address))
            return .translated(physical)
        }
        if kind == .fetch { statistics.l1iMisses &+= 1 } else { statistics.l1dMisses &+= 1 }
        note(dropped ? .tlbDropped(level1, address) : .tlbMiss(level1, address))
        var l2Slot: TranslationLookasideBuffer.Slot? = nil
        if l2.isEnabled {
            charge(.tlbL2)
            var l2Dropped = false
            var found: Translation? = nil
            switch l2.probe(address, pcid: pcid, for: kind) {
            case .hit(let slot): found = l2.translation(at: slot)
            case .miss(let fillAt): l2Slot = fillAt
            case .dropped: l2Dropped = true
            }
            if found == nil {
                switch l2OneGig.search(address, pcid: pcid, for: kind, size: .size1G) {
                case .hit(let slot): found = l2OneGig.translation(at: slot)
                case .miss: break
                case .dropped: l2Dropped = true
                }
            }
            if let translation = found {
                statistics.l2Hits &+= 1
                if translation.size == .size2M { statistics.l2Hits2M &+= 1 }
                if translation.size == .size1G { statistics.l2Hits1G &+= 1 }
                note(.tlbHit(.l2, address))
                fillL1(address, kind, translation, pcid, at: l1Slot)
                return .translated(translation.physicalAddress(of: address))
            }
            statistics.l2Misses &+= 1
            note(l2Dropped ? .tlbDropped(.l2, address) : .tlbMiss(.l2, address))
        }
        return walk(address, kind, cr3, l1Slot: l1Slot, l2Slot: l2Slot, memory: &memory)
    }

    /// The L1's arrays of large pages, while they hold entries: a hit counts
    /// as an L1 hit (and a hit of its size); a matching entry that does not
    /// permit the access is dropped (`dropped` is then set).
    @inline(__always)
    mutating func lookUpLargeL1(_ address: VirtualAddress, _ kind: AccessKind, _ pcid: PCID,
                                dropped: inout Bool) -> PhysicalAddress? {
        if kind == .fetch {
            switch l1i2M.search(address, pcid: pcid, for: kind, size: .size2M) {
            case .hit(let slot):
                statistics.l1iHits &+= 1
                return l1i2M.physicalAddress(at: slot, of: address)
            case .dropped: dropped = true
            case .miss: break
            }
            return nil
        }
        switch l1d2M.search(address, pcid: pcid, for: kind, size: .size2M) {
        case .hit(let slot):
            statistics.l1dHits &+= 1
            statistics.l1dHits2M &+= 1
            return l1d2M.physicalAddress(at: slot, of: address)
        case .dropped: dropped = true
        case .miss: break
        }
        switch l1d1G.search(address, pcid: pcid, for: kind, size: .size1G) {
        case .hit(let slot):
            statistics.l1dHits &+= 1
            statistics.l1dHits1G &+= 1
            return l1d1G.physicalAddress(at: slot, of: address)
        case .dropped: dropped = true
        case .miss: break
        }
        return nil
    }

    /// Fills the L1 array of the translation's size; where that array has
    /// no entries (and for a 1 GiB fetch), a fractured 4 KiB entry for the
    /// accessed page goes into the 4 KiB array. `slot` is the 4 KiB array's
    /// slot from its lookup.
    @inline(__always) mutating func fillL1(_ address: VirtualAddress, _ kind: AccessKind, _ translation: Translation,
                                           _ pcid: PCID, at slot: TranslationLookasideBuffer.Slot?) {
        if kind == .fetch {
            if translation.size == .size2M && l1i2M.isEnabled {
                l1i2M.insert(address, translation, pcid: pcid)
            } else {
                l1i.insert(address, translation.fractured(at: address), pcid: pcid, at: slot)
            }
            return
        }
        switch translation.size {
        case .size2M where l1d2M.isEnabled: l1d2M.insert(address, translation, pcid: pcid)
        case .size1G where l1d1G.isEnabled: l1d1G.insert(address, translation, pcid: pcid)
        default: l1d.insert(address, translation.fractured(at: address), pcid: pcid, at: slot)
        }
    }

    /// Fills the L2: 4 KiB and 2 MiB entries in the shared array, 1 GiB ones
    /// in their own (fractured into the shared array when it has no entries).
    @inline(__always) mutating func fillL2(_ address: VirtualAddress, _ translation: Translation, _ pcid: PCID,
                                           at slot: TranslationLookasideBuffer.Slot?) {
        if translation.size == .size1G && l2OneGig.isEnabled {
            l2OneGig.insert(address, translation, pcid: pcid)
        } else {
            l2.insert(address, translation.size == .size1G ? translation.fractured(at: address) : translation,
                      pcid: pcid, at: slot)
        }
    }

    /// The paging-structure caches' answer for a walk: where it starts, and
    /// the slot each cache that missed fills.
    struct WalkStart {
        var start: PageWalker.Start
        var pml5eSlot: PagingStructureCache.Slot? = nil
        var pml4eSlot: PagingStructureCache.Slot? = nil
        var pdpteSlot: PagingStructureCache.Slot? = nil
        var pdeSlot: PagingStructureCache.Slot? = nil
    }

    /// The longest paging-structure-cache match for `address`: PDE, then
    /// PDPTE, then PML4E cache (then the PML5E cache with five levels).
    mutating func walkStart(_ address: VirtualAddress, _ cr3: ControlRegister3) -> WalkStart {
        var result = WalkStart(start: .root(cr3.pml4, level: rootLevel))
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
                    if rootLevel == .pml5 {
                        switch pml5eCache.probe(address, pcid: cr3.pcid) {
                        case .hit(let table, let rights):
                            result.start = .init(level: .pml4, table: table, rights: rights)
                        case .miss(let pml5e):
                            result.pml5eSlot = pml5e
                        }
                    }
                }
            }
        }
        if result.start.level != rootLevel {
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
        if let vmcs { return walkGuest(address, kind, cr3, vmcs, l1Slot: l1Slot, l2Slot: l2Slot, memory: &memory) }
        let logging = log.isEnabled
        if logging { begin(.walk) }
        defer { if logging { end(.walk) } }
        statistics.walks &+= 1
        let cached = walkStart(address, cr3)
        let walk = PageWalker.walk(address, kind, from: cached.start, memory: &memory)
        statistics.walkRefs &+= UInt64(walk.references)
        if walk.references > 0 {
            let last = walk[walk.references - 1]
            if last.entry.isPresent && last.entry.has(.pageSize) {
                if last.level == .pd { statistics.walks2M &+= 1 } else if last.level == .pdpt { statistics.walks1G &+= 1 }
            }
        }
        for i in 0..<walk.references {
            chargeReference(walk[i])
            if logging { note(.walkReference(walk[i])) }
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
                Self.fill(&pml5eCache, &pml4eCache, &pdpteCache, &pdeCache, from: walk, address, cached, tag: cr3.pcid)
            }
            if l2.isEnabled { fillL2(address, translation, cr3.pcid, at: l2Slot) }
            fillL1(address, kind, translation, cr3.pcid, at: l1Slot)
            return .translated(translation.physicalAddress(of: address))
        }
    }

    /// Charges one entry the walker read: `cost.walk.ref` when set, else
    /// the level of the cache its line hits.
    @inline(__always) mutating func chargeReference(_ step: PageWalker.Step) {
        if costs.flatWalkReference {
            charge(.walkRef)
        } else {
            charge(pageTableLines.read(PageTableLineCache.line(step.table, step.index)).cost)
        }
    }

    /// Fills paging-structure caches with every upper-level entry `walk`
    /// read (each cache's probe missed, at the slot `cached` kept for it),
    /// with the rights accumulated down to it: a native walk's, a guest's
    /// (guest tables), or a nested walk's.
    @inline(__always)
    static func fill(_ pml5e: inout PagingStructureCache, _ pml4e: inout PagingStructureCache,
                     _ pdpte: inout PagingStructureCache, _ pde: inout PagingStructureCache,
                     from walk: PageWalker.Walk, _ address: VirtualAddress, _ cached: WalkStart, tag: PCID) {
        var rights = cached.start.rights
        for i in 0..<(walk.references - 1) {
            let step = walk[i]
            rights.formIntersection(AccessRights.granted(by: step.entry))
            let table = step.entry.frame
            switch step.level {
            case .pml5: pml5e.fill(address, table: table, rights: rights, pcid: tag, at: cached.pml5eSlot)
            case .pml4: pml4e.fill(address, table: table, rights: rights, pcid: tag, at: cached.pml4eSlot)
            case .pdpt: pdpte.fill(address, table: table, rights: rights, pcid: tag, at: cached.pdpteSlot)
            case .pd: pde.fill(address, table: table, rights: rights, pcid: tag, at: cached.pdeSlot)
            case .pt: break
            }
        }
    }

    /// Drops every TLB entry, of any array and size, covering `address` under `pcid`.
    mutating func invalidateTLBs(_ address: VirtualAddress, pcid: PCID) {
        l1d.invalidate(address, pcid: pcid)
        l1i.invalidate(address, pcid: pcid)
        l2.invalidate(address, pcid: pcid)
        if l1d2M.occupancy > 0 { l1d2M.invalidate(address, pcid: pcid) }
        if l1d1G.occupancy > 0 { l1d1G.invalidate(address, pcid: pcid) }
        if l1i2M.occupancy > 0 { l1i2M.invalidate(address, pcid: pcid) }
        if l2OneGig.occupancy > 0 { l2OneGig.invalidate(address, pcid: pcid) }
    }

    /// What a #PF drops on the faulting core: the address's TLB entries and the
    /// paging-structure-cache entries it would use, for the current PCID.
    mutating func invalidateForPageFault(_ address: VirtualAddress, pcid: PCID) {
        invalidateTLBs(address, pcid: pcid)
        pml5eCache.invalidate(address, pcid: pcid)
        pml4eCache.invalidate(address, pcid: pcid)
        pdpteCache.invalidate(address, pcid: pcid)
        pdeCache.invalidate(address, pcid: pcid)
    }
}
