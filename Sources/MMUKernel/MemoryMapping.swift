import MMUHardware

extension System {
    /// Calls `body` for each present PT covering part of pages [first, end) of
    /// `process`, with the PT frame and the PTE index range inside it; absent
    /// upper levels are skipped whole, so sparse ranges cost nothing.
    func forEachLeafTable(_ process: ProcessID, _ first: UInt64, _ end: UInt64,
                          _ body: (_ table: FrameNumber, _ basePage: UInt64, _ indices: Range<UInt64>) -> Void) {
        guard first < end else { return }
        func descend(_ table: FrameNumber, _ level: PagingLevel, _ basePage: UInt64) {
            let pagesPerEntry: UInt64 = 1 << (level.indexShift - Paging.pageShift)
            let lowIndex = first > basePage ? (first - basePage) / pagesPerEntry : 0
            let highIndex = min(Paging.entriesPerTable, (end - basePage + pagesPerEntry - 1) / pagesPerEntry)
            guard lowIndex < highIndex else { return }
            if level == .pt {
                body(table, basePage, lowIndex..<highIndex)
                return
            }
            for index in lowIndex..<highIndex {
                let entry = machine.memory.readEntry(table, index)
                guard entry.isPresent, let below = level.below else { continue }
                descend(entry.frame, below, basePage + index * pagesPerEntry)
            }
        }
        descend(processes[process.rawValue].pml4, .pml4, 0)
    }

    /// `map`: a new region; frames come on first touch (SPEC 2).
    @discardableResult
    public mutating func map(core: CoreID, _ address: VirtualAddress, pages: UInt64, _ permissions: RegionPermissions) -> Bool {
        let c = core.rawValue
        machine.cores[c].begin(.syscall)
        defer { machine.cores[c].end(.syscall) }
        machine.cores[c].charge(.syscall)
        machine.cores[c].note(.kernel("syscall map", address, pages))
        guard let process = current[c] else { return false }
        let first = address.pageNumber
        guard !processes[process.rawValue].regions.overlaps(first, first + pages) else { return false }
        processes[process.rawValue].regions.insert(Region(firstPage: first, pageCount: pages, permissions: permissions))
        return true
    }

    /// `unmap`: clears the range's PTEs, frees the page-table pages that no
    /// longer cover a region (Linux's `free_pgtables`), shoots down, and only
    /// then frees the frames (Linux's `tlb_finish_mmu`).
    public mutating func unmap(core: CoreID, _ address: VirtualAddress, pages: UInt64) {
        let c = core.rawValue
        machine.cores[c].begin(.syscall)
        defer { machine.cores[c].end(.syscall) }
        machine.cores[c].charge(.syscall)
        machine.cores[c].note(.kernel("syscall unmap", address, pages))
        guard let process = current[c] else { return }
        let first = address.pageNumber, end = first + pages
        var dataFrames: [FrameNumber] = []
        var changed: (first: UInt64, last: UInt64)? = nil
        var cleared: [(FrameNumber, UInt64, UInt64)] = []
        forEachLeafTable(process, first, end) { table, basePage, indices in
            for index in indices {
                let entry = machine.memory.readEntry(table, index)
                guard entry.isPresent else { continue }
                cleared.append((table, index, basePage + index))
                dataFrames.append(entry.frame)
            }
        }
        for (table, index, page) in cleared {
            writeEntry(table, index, .empty, core: core, VirtualAddress(page << Paging.pageShift))
            changed = (changed?.first ?? page, page)
        }
        processes[process.rawValue].regions.remove(first, end)
        let tableFrames = freeUncoveredTables(process, first, end, core: core)
        let span: InvalidationSpan = changed.map { .pages(first: $0.first, count: $0.last - $0.first + 1) } ?? .pages(first: first, count: 0)
        shootDown(process, span, initiator: core, reason: .unmap, dataFrames: dataFrames, tableFrames: tableFrames)
    }

    /// Unhooks every page-table page below the PML4 that overlaps [first, end)
    /// but no longer covers any region, one PTE write for the entry that pointed
    /// to it. Returns the frames to free once the TLBs are clean.
    mutating func freeUncoveredTables(_ process: ProcessID, _ first: UInt64, _ end: UInt64, core: CoreID) -> [FrameNumber] {
        var freed: [FrameNumber] = []
        let regions = processes[process.rawValue].regions
        func collect(_ table: FrameNumber, _ level: PagingLevel, _ basePage: UInt64) {
            // Every table below an uncovered one goes too, each entry that pointed
            // to one cleared as Linux's free_p*d_range do (a PT's leaves were cleared).
            guard let below = level.below else { return }
            let pagesPerEntry: UInt64 = 1 << (level.indexShift - Paging.pageShift)
            for index in 0..<Paging.entriesPerTable {
                let entry = machine.memory.readEntry(table, index)
                guard entry.isPresent, !entry.has(.pageSize) else { continue }
                let start = basePage + index * pagesPerEntry
                collect(entry.frame, below, start)
                freed.append(entry.frame)
                writeEntry(table, index, .empty, core: core, VirtualAddress(start << Paging.pageShift))
            }
        }
        func visit(_ table: FrameNumber, _ level: PagingLevel, _ basePage: UInt64) {
            guard let below = level.below else { return }
            let pagesPerEntry: UInt64 = 1 << (level.indexShift - Paging.pageShift)
            let lowIndex = first > basePage ? (first - basePage) / pagesPerEntry : 0
            let highIndex = min(Paging.entriesPerTable, (end - basePage + pagesPerEntry - 1) / pagesPerEntry)
            guard lowIndex < highIndex else { return }
            for index in lowIndex..<highIndex {
                let entry = machine.memory.readEntry(table, index)
                guard entry.isPresent, !entry.has(.pageSize) else { continue }
                let start = basePage + index * pagesPerEntry
                if regions.overlaps(start, start + pagesPerEntry) {
                    visit(entry.frame, below, start)
                } else {
                    collect(entry.frame, below, start)
                    freed.append(entry.frame)
                    writeEntry(table, index, .empty, core: core, VirtualAddress(start << Paging.pageShift))
                }
            }
        }
        visit(processes[process.rawValue].pml4, .pml4, 0)
        return freed
    }

    /// `protect`: new rights for the range; every present PTE is rewritten (a
    /// PTE write each), a COW-marked one stays read-only; narrowing shoots down.
    public mutating func protect(core: CoreID, _ address: VirtualAddress, pages: UInt64, _ permissions: RegionPermissions) {
        let c = core.rawValue
        machine.cores[c].begin(.syscall)
        defer { machine.cores[c].end(.syscall) }
        machine.cores[c].charge(.syscall)
        machine.cores[c].note(.kernel("syscall protect", address, pages))
        guard let process = current[c] else { return }
        let first = address.pageNumber, end = first + pages
        processes[process.rawValue].regions.setPermissions(first, end, permissions)
        var rewrites: [(FrameNumber, UInt64, UInt64, PageTableEntry)] = []
        var narrowed: (first: UInt64, last: UInt64)? = nil
        forEachLeafTable(process, first, end) { table, basePage, indices in
            for index in indices {
                let old = machine.memory.readEntry(table, index)
                guard old.isPresent else { continue }
                var new = old
                if permissions.contains(.write) && !old.has(.copyOnWrite) {
                    new.flags.insert(.writable)
                } else {
                    new.flags.remove(.writable)
                }
                if permissions.contains(.execute) { new.flags.remove(.noExecute) } else { new.flags.insert(.noExecute) }
                let page = basePage + index
                rewrites.append((table, index, page, new))
                if old.has(.writable) && !new.has(.writable) || !old.has(.noExecute) && new.has(.noExecute) {
                    narrowed = (narrowed?.first ?? page, page)
                }
            }
        }
        for (table, index, page, entry) in rewrites {
            writeEntry(table, index, entry, core: core, VirtualAddress(page << Paging.pageShift))
        }
        if let narrowed {
            shootDown(process, .pages(first: narrowed.first, count: narrowed.last - narrowed.first + 1), initiator: core, reason: .narrow)
        }
    }

    /// `exit`: `cost.syscall`, then the process goes away everywhere.
    public mutating func exit(core: CoreID) {
        let c = core.rawValue
        machine.cores[c].begin(.syscall)
        defer { machine.cores[c].end(.syscall) }
        machine.cores[c].charge(.syscall)
        machine.cores[c].note(.kernel("syscall exit", VirtualAddress(0), 0))
        guard let process = current[c] else { return }
        tearDown(process)
    }

    /// Ends a process (exit or OOM kill): its cores go idle, its translations
    /// are dropped everywhere at no charge, its frames and tables are freed.
    mutating func tearDown(_ process: ProcessID) {
        guard isAlive(process) else { return }
        let space = processes[process.rawValue]
        for c in 0..<coreCount {
            if current[c] == process {
                current[c] = nil
                machine.cores[c].loadCR3(nil)
            }
            if space.mayCache[c] {
                machine.cores[c].dropTranslations(pcid: space.pcid)
            }
            // Deferred invalidations for it are moot now that its entries are gone.
            let queue = deferredQueues[c]
            deferredQueues[c] = queue.filter { $0.process != process }
            for item in queue where item.process == process { completeDeferred(batch: item.batch) }
        }
        var dataFrames: [FrameNumber] = []
        var tableFrames: [FrameNumber] = []
        func collect(_ table: FrameNumber, _ level: PagingLevel) {
            machine.memory.forEachPresentEntry(in: table) { index, entry in
                if level == .pt || entry.has(.pageSize) {
                    dataFrames.append(entry.frame)
                } else if let below = level.below {
                    collect(entry.frame, below)
                    tableFrames.append(entry.frame)
                }
            }
        }
        collect(space.pml4, .pml4)
        tableFrames.append(space.pml4)
        release(dataFrames: dataFrames, tableFrames: tableFrames, hold: false)
        processes[process.rawValue].isAlive = false
        processes[process.rawValue].mayCache = [Bool](repeating: false, count: coreCount)
        releasePCID(space.pcid)
    }
}
