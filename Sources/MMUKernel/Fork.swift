import MMUHardware

/// `fork` (Linux's `dup_mmap` → `copy_page_range`).
extension Kernel {
    /// The child gets copies of the parent's page tables (each table
    /// allocated and zeroed, a PTE write per upper-level entry). With `fork
    /// cow` every present leaf is shared read-only + COW in both; with `fork
    /// copy` every present private page is copied at once. `cost.fork.pte`
    /// per present leaf either way. Ends with a full flush of the parent's
    /// translations (`flush_tlb_mm`). Returns the child, which runs nowhere.
    mutating func fork(core: CoreID, machine: inout Machine) -> ProcessID? {
        beginSystemCall(.fork, on: core, machine: &machine)
        defer { machine[core].end(.syscall) }
        guard let parent = scheduler[core] else { return nil }
        guard let pml4 = allocateZeroedFrame(.pageTable, on: core, machine: &machine) else {
            statistics[core.rawValue].outOfMemoryKills &+= 1
            return processes.addDead()
        }
        let child = processes.add(pml4: pml4, regions: processes[parent].regions)
        let eager = configuration.fork == .copy
        var outOfFrames = false
        // The child's table at each level below the one being copied.
        var childTables = [FrameNumber](repeating: pml4, count: PagingLevel.allCases.count + 1)
        // Without an event log the `cost.fork.pte` charges are summed and made
        // once, before the closing flush: the clock ends the same.
        let logging = machine[core].isLogging || checker != nil
        var leaves: UInt64 = 0
        PageTableVisitor.visit(&machine, root: processes[parent].pml4, level: rootLevel,
                               pages: PageTableVisitor.userPages(rootLevel), enter: { machine, slot, entry in
            let childTable = childTables[slot.level.rawValue]
            if slot.isLeaf(entry) {
                if logging { machine[core].charge(.forkPTE) } else { leaves &+= 1 }
                guard let copied = forkLeaf(entry, at: slot, of: parent, eager: eager, on: core, machine: &machine) else {
                    outOfFrames = true
                    return .stop
                }
                prepareWrite(childTable, on: core, machine: &machine)
                machine.storeEntry(copied, in: childTable, at: slot.index)
                return .skip
            }
            guard let table = allocateZeroedFrame(.pageTable, on: core, machine: &machine) else {
                outOfFrames = true
                return .stop
            }
            writeEntry(PageTableEntry(frame: table, flags: Self.tableEntryFlags), at: childTable, slot.index,
                       for: slot.address, on: core, machine: &machine)
            childTables[slot.level.rawValue - 1] = table
            return .descend
        })
        if leaves > 0 { machine[core].charge(.forkPTE, times: leaves) }
        if outOfFrames { outOfMemory(child, on: core, machine: &machine) }
        // Closing flush: the parent's write-protected entries must go everywhere.
        shootDown(parent, .everything, initiator: core, reason: .narrow, machine: &machine)
        return child
    }

    /// Copies one present leaf (a PTE, or a huge leaf as one entry) for the
    /// child; returns the child's entry, or nil when a block for an eager
    /// copy could not be had.
    @inline(__always)
    mutating func forkLeaf(_ entry: PageTableEntry, at slot: PageTableSlot, of parent: ProcessID, eager: Bool,
                           on core: CoreID, machine: inout Machine) -> PageTableEntry? {
        let frame = entry.frame
        let size = slot.level.leafSize ?? .size4K
        if eager && frames.use(of: frame) == .data {
            guard let copy = allocateFrame(.data, order: HugePages.order(size), on: core, machine: &machine) else { return nil }
            let count = slot.level == .pt ? 1 : slot.pagesSpanned
            machine[core].charge(.frameCopy, times: count)
            statistics[core.rawValue].pagesCopied &+= count
            for i in 0..<count {
                prepareWrite(FrameNumber(copy.rawValue + i), on: core, machine: &machine)
                machine.copy(FrameNumber(frame.rawValue + i), to: FrameNumber(copy.rawValue + i))
            }
            let region = processes[parent].regions.region(containing: slot.firstPage)
                ?? Region(pages: slot.pages, permissions: [.read])
            return Self.leafEntry(copy, in: region, writable: region.permissions.contains(.write), copyOnWrite: false, size: size)
        }
        // Share it: write-protect and mark COW in the parent (covered by
        // `cost.fork.pte`), the child gets the same entry.
        var shared = entry
        shared.flags.remove(.writable)
        shared.flags.insert(.copyOnWrite)
        if shared != entry {
            prepareWrite(slot.table, on: core, machine: &machine)
            machine.storeEntry(shared, in: slot.table, at: slot.index)
        }
        if slot.level == .pt {
            frames.retain(frame)
        } else {
            for i in 0..<slot.pagesSpanned { frames.retain(FrameNumber(frame.rawValue + i)) }
        }
        return shared
    }
}
