/// A guest's page walk (SDM 29.3.2; AMD APM 15.25.6): the guest's own
/// tables are read out of guest-physical memory, so every guest table's
/// address, and the final guest-physical address, is first translated
/// through the nested tables. A cold walk with four levels on both sides
/// reads 4 x (4 + 1) + 4 = 24 entries. The nested TLB (guest-physical to
/// host-physical) and the nested paging-structure caches cut it short.
extension Core {
    /// Where a guest-physical address translated to.
    enum GuestPhysicalTranslation {
        /// The host translation of its 4 KiB page.
        case translated(Translation)
        case violation(EPTViolation)
    }

    /// Translates guest-physical address `gpa` of the running VM for an
    /// access of `kind`: nested TLB, then a walk of the nested tables (from
    /// the longest nested-PSC match). A nested entry missing, or one that
    /// does not permit the access, is an EPT violation.
    mutating func translateGuestPhysical(_ gpa: UInt64, _ kind: AccessKind, _ vmcs: VirtualMachineControls,
                                         guestLinear: VirtualAddress, isFinal: Bool,
                                         memory: inout PhysicalMemory) -> GuestPhysicalTranslation {
        let address = VirtualAddress(gpa)
        let tag = vmcs.nestedTag
        var tlbSlot: TranslationLookasideBuffer.Slot? = nil
        if nestedTLB.isEnabled {
            switch nestedTLB.probe(address, pcid: tag, for: kind) {
            case .hit(let slot): return .translated(nestedTLB.translation(at: slot))
            case .miss(let fillAt): tlbSlot = fillAt
            case .dropped: break
            }
        }
        let cached = nestedWalkStart(address, vmcs)
        let walk = PageWalker.walk(address, kind, from: cached.start, memory: &memory)
        statistics.walkRefs &+= UInt64(walk.references)
        statistics.walkNestedRefs &+= UInt64(walk.references)
        for i in 0..<walk.references {
            chargeReference(walk[i])
            note(.nestedWalkReference(walk[i]))
        }
        switch walk.outcome {
        case .fault(let code):
            let violation = EPTViolation(kind: kind, guestPhysical: gpa, guestLinear: guestLinear,
                                         isFinalAddress: isFinal, wasPresent: code.contains(.protection))
            note(.eptViolation(violation))
            return .violation(violation)
        case .translation(let translation):
            if walk.accessedDirtyBitsSet > 0 { charge(.walkAD, times: UInt64(walk.accessedDirtyBitsSet)) }
            if nestedPagingStructureCachesEnabled && walk.references > 1 {
                Self.fill(&nestedPML5ECache, &nestedPML4ECache, &nestedPDPTECache, &nestedPDECache, from: walk, address, cached, tag: tag)
            }
            // The nested tables map 4 KiB pages; a larger nested leaf would be cached fractured.
            let page = translation.fractured(at: address)
            nestedTLB.insert(address, page, pcid: tag, at: tlbSlot)
            return .translated(page)
        }
    }

    /// A VM exit for `violation`: its qualification goes where the VMCS keeps it.
    mutating func exit(_ violation: EPTViolation) -> TranslationOutcome {
        exitQualification = violation
        return .eptViolation
    }

    /// The longest nested-PSC match for guest-physical `address` (one
    /// `cost.walk.psc` per nested walk while the nested caches are on).
    mutating func nestedWalkStart(_ address: VirtualAddress, _ vmcs: VirtualMachineControls) -> WalkStart {
        var result = WalkStart(start: .root(vmcs.nestedRoot, level: vmcs.nestedRootLevel))
        guard nestedPagingStructureCachesEnabled else { return result }
        charge(.walkPSC)
        let tag = vmcs.nestedTag
        switch nestedPDECache.probe(address, pcid: tag) {
        case .hit(let table, let rights):
            result.start = .init(level: .pt, table: table, rights: rights)
        case .miss(let pde):
            result.pdeSlot = pde
            switch nestedPDPTECache.probe(address, pcid: tag) {
            case .hit(let table, let rights):
                result.start = .init(level: .pd, table: table, rights: rights)
            case .miss(let pdpte):
                result.pdpteSlot = pdpte
                switch nestedPML4ECache.probe(address, pcid: tag) {
                case .hit(let table, let rights):
                    result.start = .init(level: .pdpt, table: table, rights: rights)
                case .miss(let pml4e):
                    result.pml4eSlot = pml4e
                    if vmcs.nestedRootLevel == .pml5 {
                        switch nestedPML5ECache.probe(address, pcid: tag) {
                        case .hit(let table, let rights):
                            result.start = .init(level: .pml4, table: table, rights: rights)
                        case .miss(let pml5e):
                            result.pml5eSlot = pml5e
                        }
                    }
                }
            }
        }
        return result
    }

    /// The two-dimensional walk after both TLBs missed on a core running a
    /// guest: the guest's paging-structure caches give the starting guest
    /// table; each guest entry is read at the host address its table
    /// translates to; the final guest-physical address is translated with the
    /// access's own kind. A/D updates of guest entries are writes to guest
    /// memory, so each such table must translate for a write too.
    mutating func walkGuest(_ address: VirtualAddress, _ kind: AccessKind, _ cr3: ControlRegister3,
                            _ vmcs: VirtualMachineControls, l1Slot: TranslationLookasideBuffer.Slot?,
                            l2Slot: TranslationLookasideBuffer.Slot?, memory: inout PhysicalMemory) -> TranslationOutcome {
        let logging = log.isEnabled
        if logging { begin(.walk) }
        defer { if logging { end(.walk) } }
        statistics.walks &+= 1
        let cached = walkStart(address, cr3)
        let code = PageWalker.errorCode(for: kind)
        // The entries read, by host table (for A/D stores) and by guest table (for their translation).
        var hostSteps = PageWalker.Walk(outcome: .fault([]))
        var guestSteps = PageWalker.Walk(outcome: .fault([]))
        var level = cached.start.level
        var table = cached.start.table
        var rights = cached.start.rights
        while true {
            let index = address.index(at: level)
            let gpa = table.rawValue << Paging.pageShift | index << 3
            let host: Translation
            switch translateGuestPhysical(gpa, .read, vmcs, guestLinear: address, isFinal: false, memory: &memory) {
            case .translated(let translation): host = translation
            case .violation(let violation): return exit(violation)
            }
            let entry = memory.readEntry(host.frame, index)
            let step = PageWalker.Step(level: level, table: host.frame, index: index, entry: entry)
            hostSteps.record(step)
            guestSteps.record(PageWalker.Step(level: level, table: table, index: index, entry: entry))
            statistics.walkRefs &+= 1
            chargeReference(step)
            if logging { note(.walkReference(step)) }
            switch PageWalker.examine(entry, at: level, kind, code: code, rights: &rights) {
            case .fault(let code):
                note(.pageFault(code, cr2: address))
                invalidateForPageFault(address, pcid: cr3.pcid)
                return .pageFault(code)
            case .next(let next):
                guard let below = level.below else { return .pageFault(code) }
                table = next
                level = below
            case .leaf(let guest):
                if guest.size == .size2M { statistics.walks2M &+= 1 } else if guest.size == .size1G { statistics.walks1G &+= 1 }
                let final = guest.physicalAddress(of: address).rawValue
                let data: Translation
                switch translateGuestPhysical(final, kind, vmcs, guestLinear: address, isFinal: true, memory: &memory) {
                case .translated(let translation): data = translation
                case .violation(let violation): return exit(violation)
                }
                // Setting A or D in a guest entry writes its table: the nested tables must allow it.
                var bitsSet = 0
                for i in 0..<hostSteps.references {
                    var updated = hostSteps[i].entry
                    if !updated.has(.accessed) { updated.flags.insert(.accessed); bitsSet += 1 }
                    if i == hostSteps.references - 1 && kind == .write && !updated.has(.dirty) {
                        updated.flags.insert(.dirty); bitsSet += 1
                    }
                    guard updated != hostSteps[i].entry else { continue }
                    let at = guestSteps[i]
                    let entryAddress = at.table.rawValue << Paging.pageShift | at.index << 3
                    if case .violation(let violation) = translateGuestPhysical(entryAddress, .write, vmcs, guestLinear: address,
                                                                               isFinal: false, memory: &memory) {
                        return exit(violation)
                    }
                    memory.writeEntry(hostSteps[i].table, hostSteps[i].index, updated)
                }
                if bitsSet > 0 { charge(.walkAD, times: UInt64(bitsSet)) }
                // One 4 KiB entry, guest-linear to host-physical, with the rights of both dimensions.
                let combined = Translation(frame: data.frame, size: .size4K,
                                           rights: guest.rights.intersection(data.rights), origin: guest.size)
                note(.walkDone(address, combined, accessedDirtyBitsSet: bitsSet))
                if pagingStructureCachesEnabled && guestSteps.references > 1 {
                    Self.fill(&pml5eCache, &pml4eCache, &pdpteCache, &pdeCache, from: guestSteps, address, cached, tag: cr3.pcid)
                }
                if l2.isEnabled { fillL2(address, combined, cr3.pcid, at: l2Slot) }
                fillL1(address, kind, combined, cr3.pcid, at: l1Slot)
                return .translated(combined.physicalAddress(of: address))
            }
        }
    }
}
