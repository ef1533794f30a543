import MMUHardware

/// The memory system calls (Linux's `mm/mmap.c`, `mm/mprotect.c`) and
/// process exit (`exit_mmap`).
extension Kernel {
    /// A system call starts: its span, `cost.syscall`, its event.
    mutating func beginSystemCall(_ call: SystemCall, _ address: VirtualAddress = VirtualAddress(0), pages: UInt64 = 0,
                                  on core: CoreID, machine: inout Machine) {
        machine[core].begin(.syscall)
        machine[core].charge(.syscall)
        machine.note(.syscall(call, address, pages: pages), on: core)
    }

    /// `map`: a new region (a hugetlb one when `pageSize` is 2 MiB or 1
    /// GiB); frames come on first touch.
    mutating func map(core: CoreID, _ address: VirtualAddress, pages: UInt64, _ permissions: RegionPermissions,
                      pageSize: PageSize = .size4K, machine: inout Machine) -> Bool {
        beginSystemCall(.map, address, pages: pages, on: core, machine: &machine)
        defer { machine[core].end(.syscall) }
        guard let process = scheduler[core] else { return false }
        let range = address.page..<address.page.advanced(by: Int64(pages))
        guard !processes[process].regions.overlaps(range) else { return false }
        processes[process].regions.insert(Region(pages: range, permissions: permissions, pageSize: pageSize))
        return true
    }

    /// `madvise … hugepage|nohugepage`: the range's regions take the advice;
    /// no page table changes.
    mutating func madvise(core: CoreID, _ address: VirtualAddress, pages: UInt64, _ advice: HugePageAdvice,
                          machine: inout Machine) {
        beginSystemCall(.madvise, address, pages: pages, on: core, machine: &machine)
        defer { machine[core].end(.syscall) }
        guard let process = scheduler[core] else { return }
        processes[process].regions.setAdvice(address.page..<address.page.advanced(by: Int64(pages)), advice)
    }

    /// The frames a leaf maps: one, or every 4 KiB frame of a huge page.
    static func frames(of entry: PageTableEntry, at slot: PageTableSlot) -> [FrameNumber] {
        var frames: [FrameNumber] = []
        appendFrames(of: entry, at: slot, to: &frames)
        return frames
    }

    /// Appends the frames a leaf maps to `frames` (no array per leaf).
    @inline(__always)
    static func appendFrames(of entry: PageTableEntry, at slot: PageTableSlot, to frames: inout [FrameNumber]) {
        guard slot.level != .pt else { return frames.append(entry.frame) }
        for i in 0..<slot.pagesSpanned { frames.append(FrameNumber(entry.frame.rawValue + i)) }
    }

    /// What to invalidate after changing the leaves at `slots` (address
    /// order): one INVLPG per huge page when all are huge, else the 4 KiB
    /// pages from the first to the end of the last.
    static func span(of slots: [PageTableSlot], empty at: VirtualPageNumber) -> InvalidationSpan {
        guard let first = slots.first, let last = slots.last else { return .pages(at..<at, stride: .size4K) }
        let pages = first.firstPage..<last.pages.upperBound
        guard slots.allSatisfy({ $0.level != .pt }) else { return .pages(pages, stride: .size4K) }
        let smallest = slots.map(\.level.rawValue).min() ?? PagingLevel.pd.rawValue
        return .pages(pages, stride: PagingLevel(rawValue: smallest)?.leafSize ?? .size4K)
    }

    /// `unmap`: clears the range's PTEs, frees the page-table pages that no
    /// longer cover a region (`free_pgtables`), shoots down, and only then
    /// frees the frames (`tlb_finish_mmu`).
    mutating func unmap(core: CoreID, _ address: VirtualAddress, pages count: UInt64, machine: inout Machine) {
        beginSystemCall(.unmap, address, pages: count, on: core, machine: &machine)
        defer { machine[core].end(.syscall) }
        guard let process = scheduler[core] else { return }
        let pages = address.page..<address.page.advanced(by: Int64(count))
        guard splitHugeLeaves(cutBy: pages, of: process, on: core, machine: &machine) else {
            return outOfMemory(process, on: core, machine: &machine)
        }
        var dataFrames: [FrameNumber] = []
        var cleared: [PageTableSlot] = []
        PageTableVisitor.forEach(in: machine.pageTables, root: processes[process].pml4, level: rootLevel, pages: pages) { slot, entry in
            guard slot.isLeaf(entry) else { return .descend }
            cleared.append(slot)
            Self.appendFrames(of: entry, at: slot, to: &dataFrames)
            return .skip
        }
        for slot in cleared {
            writeEntry(.empty, at: slot.table, slot.index, for: slot.address, on: core, machine: &machine)
        }
        processes[process].regions.remove(pages)
        let tableFrames = freeUncoveredTables(process, pages, on: core, machine: &machine)
        shootDown(process, Self.span(of: cleared, empty: pages.lowerBound), initiator: core, reason: .unmap,
                  dataFrames: dataFrames, tableFrames: tableFrames, machine: &machine)
    }

    /// `protect`: new rights for the range; every present PTE is rewritten (a
    /// PTE write each), a COW-marked one stays read-only; narrowing shoots down.
    mutating func protect(core: CoreID, _ address: VirtualAddress, pages count: UInt64, _ permissions: RegionPermissions,
                          machine: inout Machine) {
        beginSystemCall(.protect, address, pages: count, on: core, machine: &machine)
        defer { machine[core].end(.syscall) }
        guard let process = scheduler[core] else { return }
        let pages = address.page..<address.page.advanced(by: Int64(count))
        processes[process].regions.setPermissions(pages, permissions)
        guard splitHugeLeaves(cutBy: pages, of: process, on: core, machine: &machine) else {
            return outOfMemory(process, on: core, machine: &machine)
        }
        var rewrites: [(PageTableSlot, PageTableEntry)] = []
        var narrowed: [PageTableSlot] = []
        PageTableVisitor.forEach(in: machine.pageTables, root: processes[process].pml4, level: rootLevel, pages: pages) { slot, old in
            guard slot.isLeaf(old) else { return .descend }
            var new = old
            if permissions.contains(.write) && !old.has(.copyOnWrite) {
                new.flags.insert(.writable)
            } else {
                new.flags.remove(.writable)
            }
            if permissions.contains(.execute) { new.flags.remove(.noExecute) } else { new.flags.insert(.noExecute) }
            rewrites.append((slot, new))
            if old.has(.writable) && !new.has(.writable) || !old.has(.noExecute) && new.has(.noExecute) {
                narrowed.append(slot)
            }
            return .skip
        }
        for (slot, entry) in rewrites {
            writeEntry(entry, at: slot.table, slot.index, for: slot.address, on: core, machine: &machine)
        }
        if !narrowed.isEmpty {
            shootDown(process, Self.span(of: narrowed, empty: pages.lowerBound), initiator: core, reason: .narrow,
                      machine: &machine)
        }
    }

    /// `exit`: `cost.syscall`, then the process goes away everywhere.
    mutating func exit(core: CoreID, machine: inout Machine) {
        beginSystemCall(.exit, on: core, machine: &machine)
        defer { machine[core].end(.syscall) }
        guard let process = scheduler[core] else { return }
        tearDown(process, machine: &machine)
    }

    /// Ends a process (exit or OOM kill): its cores go idle, its translations
    /// are dropped everywhere at no charge, its frames and tables are freed.
    mutating func tearDown(_ process: ProcessID, machine: inout Machine) {
        guard processes.isAlive(process) else { return }
        let space = processes[process]
        for c in 0..<machine.cores.count {
            let core = CoreID(c)
            if scheduler[core] == process {
                scheduler.run(nil, on: core)
                machine[core].loadCR3(nil)
            }
            if space.mayCache[c] { machine[core].retirePCID(space.pcid) }
            DeferredShootdown.dropQueued(for: process, on: core, kernel: &self)
        }
        var dataFrames: [FrameNumber] = []
        var tableFrames: [FrameNumber] = []
        // Leaves in address order; each table after everything below it.
        var memory = machine.pageTables
        PageTableVisitor.visit(&memory, root: space.pml4, level: rootLevel, pages: PageTableVisitor.allPages, enter: { _, slot, entry in
            if slot.isLeaf(entry) { Self.appendFrames(of: entry, at: slot, to: &dataFrames) }
            return .descend
        }, leave: { _, slot, entry in
            if !slot.isLeaf(entry) { tableFrames.append(entry.frame) }
        })
        tableFrames.append(space.pml4)
        release(dataFrames: dataFrames, tableFrames: tableFrames, hold: false)
        processes.end(process)
    }
}
