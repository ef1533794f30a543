import MMUHardware

/// Transparent huge pages and hugetlb (Linux's `mm/huge_memory.c` and
/// `mm/hugetlb.c`): 2 MiB first-touch faults, the huge zero page, copy-on-
/// write of huge leaves with split (Linux ≥ 5.8) and the huge-zero write
/// (Linux ≥ 6.12), and whole-page hugetlb faults. docs/huge-pages.md.
enum HugePages {
    /// 4 KiB pages in a page of `size`.
    static func span(_ size: PageSize) -> UInt64 { size.bytes >> Paging.pageShift }

    /// The buddy order of a page of `size`.
    static func order(_ size: PageSize) -> Int { Int(size.shift - Paging.pageShift) }

    /// The first 4 KiB page of the `size` page holding `page`.
    static func base(of page: VirtualPageNumber, _ size: PageSize) -> VirtualPageNumber {
        VirtualPageNumber(page.rawValue & ~(span(size) - 1))
    }

    /// The pages of the `size` page holding `page`.
    static func pages(around page: VirtualPageNumber, _ size: PageSize) -> Range<VirtualPageNumber> {
        let first = base(of: page, size)
        return first..<first.advanced(by: Int64(span(size)))
    }

    /// Whether a not-present fault at `cr2` in `region` may get a transparent
    /// huge page: the `thp` setting and the region's advice allow it, and the
    /// 2 MiB-aligned span around it lies wholly inside the region.
    static func isEligible(_ cr2: VirtualAddress, in region: Region, mode: TransparentHugePages) -> Bool {
        guard !region.isHugeTLB else { return false }
        switch mode {
        case .never: return false
        case .always: if region.advice == .nohugepage { return false }
        case .madvise: if region.advice != .hugepage { return false }
        }
        let span = pages(around: cr2.page, .size2M)
        return region.pages.lowerBound <= span.lowerBound && span.upperBound <= region.pages.upperBound
    }

    /// A first touch that may be huge: the huge zero page for a read (with
    /// `zero_page on`), else a zeroed order-9 block, mapped by the PD entry
    /// at `pd`/`index`. False when no block was free (the caller falls back).
    static func mapFirstTouch(_ fault: PageFault, _ region: Region, pd: FrameNumber, _ index: UInt64, on core: CoreID,
                              kernel: inout Kernel, machine: inout Machine) -> Bool {
        let cr2 = fault.cr2
        let address = base(of: cr2.page, .size2M).address
        if fault.kind != .write && kernel.configuration.zeroPage {
            guard let zero = kernel.hugeZeroPage(on: core, machine: &machine) else { return false }
            kernel.statistics[core.rawValue].hugeZeroPageFaults &+= 1
            machine.note(.mapHugeZeroPage(address), on: core)
            let entry = Kernel.leafEntry(zero, in: region, writable: false, copyOnWrite: true, size: .size2M)
            kernel.writeEntry(entry, at: pd, index, for: address, on: core, machine: &machine)
            return true
        }
        guard let block = kernel.allocateFrame(.data, order: order(.size2M), on: core, machine: &machine) else { return false }
        kernel.zeroFrames(block, count: span(.size2M), on: core, machine: &machine)
        kernel.statistics[core.rawValue].thpFaults &+= 1
        machine.note(.mapHugePage(address, block), on: core)
        let entry = Kernel.leafEntry(block, in: region, writable: region.permissions.contains(.write), copyOnWrite: false,
                                     size: .size2M)
        kernel.writeEntry(entry, at: pd, index, for: address, on: core, machine: &machine)
        return true
    }

    /// How a write to a copy-on-write transparent huge leaf was handled.
    enum CopyOnWrite {
        /// The huge mapping was fixed: return and retry.
        case resolved
        /// The leaf was split; the 4 KiB path goes on for the written page.
        case split
        case outOfMemory
    }

    /// A write to the COW huge leaf `entry` (at `pd`/`index`): a new huge page
    /// for the huge zero page (or a split when no block is free); reuse when
    /// no other mapping shares any of its frames; otherwise a split.
    static func copyOnWrite(_ fault: PageFault, _ entry: PageTableEntry, _ region: Region, _ process: ProcessID,
                            pd: FrameNumber, _ index: UInt64, on core: CoreID,
                            kernel: inout Kernel, machine: inout Machine) -> CopyOnWrite {
        let pages = pages(around: fault.cr2.page, .size2M)
        let address = pages.lowerBound.address
        if entry.frame == kernel.hugeZeroFrame {
            guard let block = kernel.allocateFrame(.data, order: order(.size2M), on: core, machine: &machine) else {
                // No huge page for the write: a fallback (Linux counts THP_FAULT_FALLBACK), to a split.
                kernel.statistics[core.rawValue].thpFallbacks &+= 1
                machine.note(.hugePageFallback(fault.cr2), on: core)
                return kernel.splitHugeLeaf(entry, of: process, pd: pd, index, pages: pages, on: core, machine: &machine)
                    ? .split : .outOfMemory
            }
            kernel.zeroFrames(block, count: span(.size2M), on: core, machine: &machine)
            kernel.statistics[core.rawValue].thpFaults &+= 1
            machine.note(.mapHugePage(address, block), on: core)
            kernel.writeEntry(.empty, at: pd, index, for: address, on: core, machine: &machine)
            kernel.shootDown(process, .pages(pages, stride: .size2M), initiator: core, reason: .narrow, machine: &machine)
            let installed = Kernel.leafEntry(block, in: region, writable: true, copyOnWrite: false, size: .size2M)
            kernel.writeEntry(installed, at: pd, index, for: address, on: core, machine: &machine)
            return .resolved
        }
        if kernel.isExclusive(entry.frame, count: span(.size2M)) {
            reuse(entry, at: pd, index, for: address, on: core, kernel: &kernel, machine: &machine)
            return .resolved
        }
        return kernel.splitHugeLeaf(entry, of: process, pd: pd, index, pages: pages, on: core, machine: &machine)
            ? .split : .outOfMemory
    }

    /// The last mapping of a COW page writes in place: RW and D set, COW
    /// cleared, no copy, no invalidation (`faults.cow_reuse`).
    static func reuse(_ entry: PageTableEntry, at table: FrameNumber, _ index: UInt64, for address: VirtualAddress,
                      on core: CoreID, kernel: inout Kernel, machine: inout Machine) {
        kernel.statistics[core.rawValue].cowReuseFaults &+= 1
        machine.note(.copyOnWriteReuse(address, entry.frame), on: core)
        var reused = entry
        reused.flags.formUnion([.writable, .dirty])
        reused.flags.remove(.copyOnWrite)
        kernel.writeEntry(reused, at: table, index, for: address, on: core, machine: &machine)
    }

    /// A fault in a hugetlb region: the whole page allocated and zeroed at
    /// the first touch, read or write (`faults.demand_zero`); a COW write
    /// reuses it or copies it whole. No block free: the process is killed.
    static func hugeTLBFault(_ fault: PageFault, _ region: Region, _ process: ProcessID, on core: CoreID,
                             kernel: inout Kernel, machine: inout Machine) -> FaultResolution {
        let size = region.pageSize
        let level: PagingLevel = size == .size2M ? .pd : .pdpt
        let pages = pages(around: fault.cr2.page, size)
        let address = pages.lowerBound.address
        guard let table = kernel.ensureTable(process, fault.cr2, level: level, on: core, machine: &machine) else {
            kernel.outOfMemory(process, on: core, machine: &machine)
            return .processKilled
        }
        let index = fault.cr2.index(at: level)
        let entry = machine.readEntry(table, index)
        let count = span(size)
        if !entry.isPresent {
            guard let block = kernel.allocateFrame(.data, order: order(size), on: core, machine: &machine) else {
                kernel.outOfMemory(process, on: core, machine: &machine)
                return .processKilled
            }
            kernel.zeroFrames(block, count: count, on: core, machine: &machine)
            kernel.statistics[core.rawValue].demandZeroFaults &+= 1
            machine.note(.mapHugePage(address, block), on: core)
            let leaf = Kernel.leafEntry(block, in: region, writable: region.permissions.contains(.write), copyOnWrite: false,
                                        size: size)
            kernel.writeEntry(leaf, at: table, index, for: address, on: core, machine: &machine)
        } else if fault.kind == .write && entry.has(.copyOnWrite) {
            if kernel.isExclusive(entry.frame, count: count) {
                reuse(entry, at: table, index, for: address, on: core, kernel: &kernel, machine: &machine)
            } else {
                guard let block = kernel.allocateFrame(.data, order: order(size), on: core, machine: &machine) else {
                    kernel.outOfMemory(process, on: core, machine: &machine)
                    return .processKilled
                }
                kernel.copyFrames(entry.frame, into: block, count: count, for: address, on: core, machine: &machine)
                kernel.statistics[core.rawValue].cowCopyFaults &+= 1
                kernel.writeEntry(.empty, at: table, index, for: address, on: core, machine: &machine)
                kernel.shootDown(process, .pages(pages, stride: size), initiator: core, reason: .narrow, machine: &machine)
                let installed = Kernel.leafEntry(block, in: region, writable: true, copyOnWrite: false, size: size)
                kernel.writeEntry(installed, at: table, index, for: address, on: core, machine: &machine)
                for i in 0..<count {
                    let old = FrameNumber(entry.frame.rawValue + i)
                    if kernel.frames.drop(old) { kernel.frames.free(old) }
                }
            }
        } else {
            machine.note(.spuriousFault(fault.cr2, entry), on: core)
        }
        machine[core].charge(.faultExit)
        return .retry
    }
}

extension Kernel {
    /// The huge zero page's first frame, once taken.
    var hugeZeroFrame: FrameNumber? { hugeZero }

    /// The huge zero page, taken on first use: an order-9 block allocated and
    /// zeroed on `core`, then reserved for good. Nil when no block is free.
    mutating func hugeZeroPage(on core: CoreID, machine: inout Machine) -> FrameNumber? {
        if let hugeZero { return hugeZero }
        guard let block = allocateFrame(.reserved, order: HugePages.order(.size2M), on: core, machine: &machine) else {
            return nil
        }
        zeroFrames(block, count: HugePages.span(.size2M), on: core, machine: &machine)
        hugeZero = block
        return block
    }

    /// Whether no mapping but one shares any of the `count` frames from `first`.
    func isExclusive(_ first: FrameNumber, count: UInt64) -> Bool {
        (0..<count).allSatisfy { frames.referenceCount(FrameNumber(first.rawValue + $0)) == 1 }
    }

    /// Splits the huge leaf `entry` at `pd`/`index` of `process` into a page
    /// table of 512 PTEs (the 4 KiB zero frame for the huge zero page, else
    /// the same frames), read-only + COW as the leaf was, A and D kept:
    /// the table's alloc + zero, `cost.thp.split` + 512 × `cost.pte.write`,
    /// `thp.splits`, and the 2 MiB translation invalidated everywhere. False
    /// when no frame was left for the table.
    mutating func splitHugeLeaf(_ entry: PageTableEntry, of process: ProcessID, pd: FrameNumber, _ index: UInt64,
                                pages: Range<VirtualPageNumber>, on core: CoreID, machine: inout Machine) -> Bool {
        guard let table = allocateZeroedFrame(.pageTable, on: core, machine: &machine) else { return false }
        machine[core].charge(.thpSplit)
        statistics[core.rawValue].thpSplits &+= 1
        machine.note(.splitHugePage(pages.lowerBound.address), on: core)
        var flags = entry.flags
        flags.remove(.pageSize)
        let zero = entry.frame == hugeZero
        for i in 0..<UInt64(pages.count) {
            let frame = zero ? FrameNumber.zeroPage : FrameNumber(entry.frame.rawValue + i)
            writeEntry(PageTableEntry(frame: frame, flags: flags), at: table, i,
                       for: pages.lowerBound.advanced(by: Int64(i)).address, on: core, machine: &machine)
        }
        prepareWrite(pd, on: core, machine: &machine)
        machine.storeEntry(PageTableEntry(frame: table, flags: Self.tableEntryFlags), in: pd, at: index, from: core)
        shootDown(process, .pages(pages, stride: .size2M), initiator: core, reason: .narrow, machine: &machine)
        return true
    }

    /// Splits every transparent huge leaf of `process` that `pages` covers
    /// only in part (unmap and protect work on 4 KiB entries there). False
    /// when out of frames.
    mutating func splitHugeLeaves(cutBy pages: Range<VirtualPageNumber>, of process: ProcessID, on core: CoreID,
                                  machine: inout Machine) -> Bool {
        var cut: [(PageTableSlot, PageTableEntry)] = []
        PageTableVisitor.forEach(in: machine.pageTables, root: processes[process].pml4, level: rootLevel, pages: pages) { slot, entry in
            // Huge leaves stand in PD and PDPT entries: no need to enter a PT.
            guard slot.isLeaf(entry) else { return slot.level == .pd ? .skip : .descend }
            if slot.level != .pt && !(pages.lowerBound <= slot.pages.lowerBound && slot.pages.upperBound <= pages.upperBound) {
                cut.append((slot, entry))
            }
            return .skip
        }
        for (slot, entry) in cut where slot.level == .pd {
            guard splitHugeLeaf(entry, of: process, pd: slot.table, slot.index, pages: slot.pages, on: core, machine: &machine)
            else { return false }
        }
        return true
    }

    /// Zeroes `count` frames from `first` for a process (`cost.frame.zero`
    /// each, `pages.zeroed`).
    mutating func zeroFrames(_ first: FrameNumber, count: UInt64, on core: CoreID, machine: inout Machine) {
        guard count > 1 else { return zeroFrame(first, on: core, machine: &machine) }
        machine[core].charge(.frameZero, times: count)
        statistics[core.rawValue].pagesZeroed &+= count
        machine.note(.zeroFrames(first, count: count), on: core)
        for i in 0..<count {
            let frame = FrameNumber(first.rawValue + i)
            prepareWrite(frame, on: core, machine: &machine)
            if !injects(.skipZeroFill) { machine.zero(frame) }
            if checker != nil { checker?.checkZeroed(frame, by: core, machine: machine) }
        }
    }

    /// Copies `count` frames from `source` into `destination` for a process
    /// (`cost.frame.copy` each, `pages.copied`).
    mutating func copyFrames(_ source: FrameNumber, into destination: FrameNumber, count: UInt64, for address: VirtualAddress,
                             on core: CoreID, machine: inout Machine) {
        machine[core].charge(.frameCopy, times: count)
        statistics[core.rawValue].pagesCopied &+= count
        machine.note(.copyFrame(into: destination, for: address), on: core)
        for i in 0..<count {
            prepareWrite(FrameNumber(destination.rawValue + i), on: core, machine: &machine)
            machine.copy(FrameNumber(source.rawValue + i), to: FrameNumber(destination.rawValue + i))
        }
    }
}
