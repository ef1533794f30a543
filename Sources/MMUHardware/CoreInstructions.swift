/// What software can do to a core's translations (the kernel's
/// instructions), and what checkers may read of them.
extension Core {
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
        invalidateTLBs(address, pcid: pcid)
        pml5eCache.flush(pcid: pcid)
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
        l1d2M.flush(pcid: pcid)
        l1d1G.flush(pcid: pcid)
        l1i2M.flush(pcid: pcid)
        l2OneGig.flush(pcid: pcid)
        pml5eCache.flush(pcid: pcid)
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

    /// VMPTRLD and VM entry (or nil: the core runs the host): from now on its
    /// walks are two-dimensional through `vmcs`'s nested tables and its
    /// translations are tagged with its VPID. Nothing is flushed: entries
    /// of other VPIDs stay, as with VPIDs enabled (SDM 29.1).
    public mutating func loadVMCS(_ value: VirtualMachineControls?) {
        vmcs = value
    }

    /// INVEPT single-context (SDM 29.4.3.1): drops every guest-physical
    /// translation of VM `vpid` (the nested TLB and nested caches) and every
    /// combined translation tagged with its VPID, on this core.
    public mutating func invalidateNested(vpid: UInt16, as category: CycleCategory = .kernel) {
        charge(.invept, as: category)
        note(.flush(PCID(rawValue: vpid << 12)))
        removeVirtualMachine(vpid)
    }

    /// What INVEPT single-context removes, by whatever means.
    mutating func removeVirtualMachine(_ vpid: UInt16) {
        let tag = PCID(rawValue: vpid)
        nestedTLB.flush(pcid: tag)
        nestedPML5ECache.flush(pcid: tag)
        nestedPML4ECache.flush(pcid: tag)
        nestedPDPTECache.flush(pcid: tag)
        nestedPDECache.flush(pcid: tag)
        for tlb in [\Core.l1d, \Core.l1i, \Core.l2, \Core.l1d2M, \Core.l1d1G, \Core.l1i2M, \Core.l2OneGig] as [WritableKeyPath<Core, TranslationLookasideBuffer>] {
            self[keyPath: tlb].flush(vpid: vpid)
        }
        pml5eCache.flush(vpid: vpid)
        pml4eCache.flush(vpid: vpid)
        pdpteCache.flush(vpid: vpid)
        pdeCache.flush(vpid: vpid)
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

    /// What a broadcast or a set-up invalidation of VM `vpid` does to this
    /// core: its nested and combined translations go, with no instruction
    /// executed here.
    public mutating func receiveNestedInvalidation(vpid: UInt16) {
        removeVirtualMachine(vpid)
    }

    // MARK: What checkers may read

    /// Whether this core may still translate `address` under `pcid` without a
    /// walk (a valid TLB entry for it in L1D, L1I or L2).
    public func caches(_ address: VirtualAddress, pcid: PCID) -> Bool {
        l1d.holds(address, pcid: pcid) || l1i.holds(address, pcid: pcid) || l2.holds(address, pcid: pcid)
            || l1d2M.holds(address, pcid: pcid) || l1d1G.holds(address, pcid: pcid)
            || l1i2M.holds(address, pcid: pcid) || l2OneGig.holds(address, pcid: pcid)
    }

    /// A TLB entry of this core that translates to a frame of `frames`, if
    /// any: that frame, its page address and PCID.
    public func cachedTranslation(to frames: Range<FrameNumber>, where usable: (PCID) -> Bool = { _ in true })
        -> (frame: FrameNumber, address: VirtualAddress, pcid: PCID)? {
        for tlb in [l1d, l1i, l2, l1d2M, l1d1G, l1i2M, l2OneGig] {
            if let found = tlb.entry(mapping: frames, where: usable) { return found }
        }
        return nil
    }

    /// Whether a paging-structure-cache entry of this core points to a table in `frames`.
    public func cachesPagingStructure(in frames: Range<FrameNumber>, where usable: (PCID) -> Bool = { _ in true }) -> Bool {
        pml5eCache.references(frames, where: usable) || pml4eCache.references(frames, where: usable)
            || pdpteCache.references(frames, where: usable) || pdeCache.references(frames, where: usable)
    }
}
