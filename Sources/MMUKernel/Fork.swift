import MMUHardware

extension System {
    /// `fork`: the child gets copies of the parent's page tables (each table
    /// allocated and zeroed, a PTE write per upper-level entry). With `fork cow`
    /// every present leaf is shared read-only + COW in both; with `fork copy`
    /// every present private page is copied at once. `cost.fork.pte` per present
    /// leaf either way. Ends with a full flush of the parent's translations
    /// (Linux's `dup_mmap` → `flush_tlb_mm`). Returns the child, which runs nowhere.
    public mutating func fork(core: CoreID) -> ProcessID? {
        let c = core.rawValue
        machine.cores[c].begin(.syscall)
        defer { machine.cores[c].end(.syscall) }
        machine.cores[c].charge(.syscall)
        machine.cores[c].note(.kernel("syscall fork", VirtualAddress(0), 0))
        guard let parent = current[c] else { return nil }
        let child = ProcessID(rawValue: processes.count)
        let pcid = allocatePCID()
        var space = AddressSpace(pml4: .zeroPage, pcid: pcid, cores: coreCount)
        space.regions = processes[parent.rawValue].regions
        processes.append(space)
        guard let pml4 = allocateZeroedFrame(.pageTable, core: core) else {
            processes[child.rawValue].isAlive = false
            releasePCID(pcid)
            machine.cores[c].statistics.outOfMemoryKills &+= 1
            return child
        }
        processes[child.rawValue].pml4 = pml4
        let eager = configuration.fork == .copy
        var outOfFrames = false

        func copyTable(_ parentTable: FrameNumber, _ childTable: FrameNumber, _ level: PagingLevel, _ basePage: UInt64) {
            let pagesPerEntry: UInt64 = 1 << (level.indexShift - Paging.pageShift)
            // The user half only: PML4 entries 0..<256.
            let count = level == .pml4 ? Paging.entriesPerTable / 2 : Paging.entriesPerTable
            for index in 0..<count where !outOfFrames {
                let entry = machine.memory.readEntry(parentTable, index)
                guard entry.isPresent else { continue }
                let page = basePage + index * pagesPerEntry
                let address = VirtualAddress(page << Paging.pageShift)
                if level == .pt {
                    machine.cores[c].charge(.forkPTE)
                    if let copied = forkLeaf(entry, parentTable, index, page, of: parent, eager: eager, core: core) {
                        machine.memory.writeEntry(childTable, index, copied)
                    } else {
                        outOfFrames = true
                    }
                    continue
                }
                guard let below = level.below,
                      let table = allocateZeroedFrame(.pageTable, core: core) else { outOfFrames = true; continue }
                writeEntry(childTable, index, PageTableEntry(frame: table, flags: Self.tableEntryFlags), core: core, address)
                copyTable(entry.frame, table, below, page)
            }
        }
        copyTable(processes[parent.rawValue].pml4, pml4, .pml4, 0)
        if outOfFrames {
            processes[child.rawValue].isAlive = true
            outOfMemory(core: core, child)
        }
        // Closing flush: the parent's write-protected entries must go everywhere.
        shootDown(parent, .everything, initiator: core, reason: .narrow)
        return child
    }

    /// Copies one present leaf for the child; returns the child's PTE, or nil
    /// when a frame for an eager copy could not be had.
    mutating func forkLeaf(_ entry: PageTableEntry, _ table: FrameNumber, _ index: UInt64, _ page: UInt64,
                           of parent: ProcessID, eager: Bool, core: CoreID) -> PageTableEntry? {
        let frame = entry.frame
        if eager && frame != .zeroPage {
            guard let copy = allocateFrame(.data, core: core) else { return nil }
            machine.cores[core.rawValue].charge(.frameCopy)
            machine.cores[core.rawValue].statistics.pagesCopied &+= 1
            machine.memory.copy(from: frame, to: copy)
            let region = processes[parent.rawValue].regions.region(containing: page)
                ?? Region(firstPage: page, pageCount: 1, permissions: [.read])
            return Self.leafEntry(copy, in: region, writable: region.permissions.contains(.write), copyOnWrite: false)
        }
        // Share it: write-protect and mark COW in the parent (covered by
        // `cost.fork.pte`), the child gets the same entry.
        var shared = entry
        shared.flags.remove(.writable)
        shared.flags.insert(.copyOnWrite)
        if shared != entry { machine.memory.writeEntry(table, index, shared) }
        frames.retain(frame)
        return shared
    }
}
