import MMUHardware

/// The only kernel code that writes page-table entries (Linux's
/// `set_pte_at`, `pmd_populate` and `free_pgtables`): each store goes to
/// emulated memory from the core running the kernel, at `cost.pte.write`.
extension Kernel {
    /// The flags of an upper-level entry the kernel writes (Linux's `_PAGE_TABLE`).
    static let tableEntryFlags: PageTableEntry.Flags = [.present, .writable, .user, .accessed]

    /// The leaf PTE the kernel installs for `frame` in `region`: A set, D and
    /// RW when `writable`, COW when shared, NX unless the region is executable.
    static func leafEntry(_ frame: FrameNumber, in region: Region, writable: Bool, copyOnWrite: Bool,
                          size: PageSize = .size4K) -> PageTableEntry {
        var flags: PageTableEntry.Flags = [.present, .user, .accessed]
        if size != .size4K { flags.insert(.pageSize) }
        if writable { flags.formUnion([.writable, .dirty]) }
        if copyOnWrite { flags.insert(.copyOnWrite) }
        if !region.permissions.contains(.execute) { flags.insert(.noExecute) }
        return PageTableEntry(frame: frame, flags: flags)
    }

    /// A PTE write by the kernel on `core` (`cost.pte.write`); `address` is
    /// the first address the entry maps (for the event log).
    mutating func writeEntry(_ entry: PageTableEntry, at table: FrameNumber, _ index: UInt64, for address: VirtualAddress,
                             on core: CoreID, machine: inout Machine) {
        machine[core].charge(.pteWrite)
        machine.note(.pteWrite(address, entry), on: core)
        prepareWrite(table, on: core, machine: &machine)
        machine.storeEntry(entry, in: table, at: index, from: core)
    }

    /// The PT covering `address` in `process`, or nil when some level is
    /// missing or a huge leaf maps it.
    func leafTable(_ process: ProcessID, _ address: VirtualAddress, in memory: some PageTableMemory) -> FrameNumber? {
        var table = processes[process].pml4
        var level = rootLevel
        while let below = level.below {
            let entry = memory.readEntry(table, address.index(at: level))
            guard entry.isPresent, !entry.has(.pageSize) else { return nil }
            table = entry.frame
            level = below
        }
        return table
    }

    /// The entry that maps `address` in `process` and where it sits: a PTE,
    /// or a huge leaf (PS) above; nil when a table on the way is missing. The
    /// entry may be not present.
    func leaf(_ process: ProcessID, _ address: VirtualAddress, in memory: some PageTableMemory) -> (PageTableSlot, PageTableEntry)? {
        var table = processes[process].pml4
        var level = rootLevel
        while true {
            let index = address.index(at: level)
            let entry = memory.readEntry(table, index)
            let slot = PageTableSlot(table: table, index: index, level: level,
                                     firstPage: VirtualPageNumber(address.pageNumber & ~(UInt64(1) << (level.indexShift - Paging.pageShift) - 1)))
            if slot.isLeaf(entry) { return (slot, entry) }
            guard entry.isPresent, let below = level.below else { return nil }
            table = entry.frame
            level = below
        }
    }

    /// Allocates the missing page-table pages down to the table whose entries
    /// are at `level` for `address` (the PT for `.pt`), each at
    /// `cost.frame.alloc + cost.frame.zero + cost.pte.write` on `core`. Nil
    /// when out of frames, or when a huge leaf stands above `level`.
    mutating func ensureTable(_ process: ProcessID, _ address: VirtualAddress, level target: PagingLevel = .pt,
                              on core: CoreID, machine: inout Machine) -> FrameNumber? {
        var table = processes[process].pml4
        var level = rootLevel
        while level != target, let below = level.below {
            let index = address.index(at: level)
            var entry = machine.readEntry(table, index)
            if !entry.isPresent {
                guard let frame = allocateZeroedFrame(.pageTable, on: core, machine: &machine) else { return nil }
                entry = PageTableEntry(frame: frame, flags: Self.tableEntryFlags)
                writeEntry(entry, at: table, index, for: address, on: core, machine: &machine)
            } else if entry.has(.pageSize) {
                return nil
            }
            table = entry.frame
            level = below
        }
        return table
    }

    /// The PT that entry `index` of the PD in `pd` points to for `address`,
    /// allocated (and hooked in with one PTE write) when the entry is empty;
    /// nil when out of frames or when the entry is a huge leaf.
    mutating func ensureTable(below pd: FrameNumber, _ index: UInt64, for address: VirtualAddress, on core: CoreID,
                              machine: inout Machine) -> FrameNumber? {
        let entry = machine.readEntry(pd, index)
        if entry.isPresent { return entry.has(.pageSize) ? nil : entry.frame }
        guard let frame = allocateZeroedFrame(.pageTable, on: core, machine: &machine) else { return nil }
        writeEntry(PageTableEntry(frame: frame, flags: Self.tableEntryFlags), at: pd, index, for: address, on: core, machine: &machine)
        return frame
    }

    /// Unhooks every page-table page below the PML4 that overlaps `pages` but
    /// no longer covers any region, with everything below it (one PTE write
    /// for each entry that pointed to a freed table, as Linux's
    /// `free_pgtables`). Returns the frames to free once the TLBs are clean.
    mutating func freeUncoveredTables(_ process: ProcessID, _ pages: Range<VirtualPageNumber>, on core: CoreID,
                                      machine: inout Machine) -> [FrameNumber] {
        var freed: [FrameNumber] = []
        let regions = processes[process].regions
        // The level of the uncovered table being freed whole, if any.
        var freeing: PagingLevel? = nil
        PageTableVisitor.visit(&machine, root: processes[process].pml4, level: rootLevel, pages: pages, enter: { _, slot, entry in
            // Leaves were cleared by the caller; huge leaves are not tables;
            // a PT holds no table, so the walk need not go into one.
            guard !slot.isLeaf(entry) else { return .skip }
            let below: PageTableVisitor.Decision = slot.level == .pd ? .skip : .descendAll
            if freeing != nil { return below }
            if regions.overlaps(slot.pages) { return slot.level == .pd ? .skip : .descend }
            freeing = slot.level
            return below
        }, leave: { machine, slot, entry in
            guard let level = freeing, !slot.isLeaf(entry) else { return }
            freed.append(entry.frame)
            writeEntry(.empty, at: slot.table, slot.index, for: slot.address, on: core, machine: &machine)
            if slot.level == level { freeing = nil }
        })
        return freed
    }
}
