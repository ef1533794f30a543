import MMUHardware

/// The #PF handler (Linux's `handle_mm_fault` → `do_anonymous_page` /
/// `do_wp_page`), in this order:
///
/// 1. find the region: none, or it forbids the access → SIGSEGV (not retried);
/// 2. allocate the missing page-table pages;
/// 3. a not-present PTE: a read maps the shared zero frame read-only + COW
///    (with `zero_page on`), anything else gets a fresh zeroed frame;
/// 4. a present COW PTE on a write: the last holder reuses its frame (no
///    copy, no invalidation); otherwise a new frame is copied (zeroed for the
///    zero frame), the PTE cleared, the old translation invalidated
///    everywhere, the new frame installed, and the old frame's reference dropped;
/// 5. return, and the access is retried.
///
/// Huge pages come in at step 2 (`HugePages`): a hugetlb region's fault is
/// handled whole; a not-present PD entry in a region eligible for THP gets a
/// 2 MiB page (or the huge zero page) unless no order-9 block is free; a
/// write to a COW huge leaf reuses it, replaces the huge zero page, or
/// splits it and goes on down the 4 KiB path.
///
/// Out of frames at any step, the process is killed (`faults.oom`).
enum PageFaultHandler {
    static func handle(_ fault: PageFault, on core: CoreID, kernel: inout Kernel, machine: inout Machine) -> FaultResolution {
        machine[core].begin(.pageFault)
        defer { machine[core].end(.pageFault) }
        machine[core].charge(.faultEntry)
        machine[core].charge(.kernelFault)
        guard let process = kernel.scheduler[core] else { return .skipInstruction }
        let cr2 = fault.cr2, kind = fault.kind

        // 1. The region, and whether it allows the access.
        guard !fault.errorCode.contains(.reservedBit),
              let region = kernel.processes[process].regions.region(containing: cr2.page),
              region.permissions.permits(kind)
        else {
            kernel.statistics[core.rawValue].segmentationFaults &+= 1
            machine.note(.segmentationFault(cr2, errorCode: fault.errorCode.rawValue), on: core)
            machine[core].charge(.faultExit)
            return .skipInstruction
        }

        if region.isHugeTLB {
            return HugePages.hugeTLBFault(fault, region, process, on: core, kernel: &kernel, machine: &machine)
        }

        // 2. Page-table pages below the PML4 are allocated when first needed,
        // the PD first: a 2 MiB mapping may stand there.
        guard let pd = kernel.ensureTable(process, cr2, level: .pd, on: core, machine: &machine) else {
            kernel.outOfMemory(process, on: core, machine: &machine)
            return .processKilled
        }
        let pdIndex = cr2.index(at: .pd)
        let pdEntry = machine.readEntry(pd, pdIndex)
        if pdEntry.isPresent && pdEntry.has(.pageSize) {
            guard kind == .write && pdEntry.has(.copyOnWrite) else {
                machine.note(.spuriousFault(cr2, pdEntry), on: core)
                machine[core].charge(.faultExit)
                return .retry
            }
            switch HugePages.copyOnWrite(fault, pdEntry, region, process, pd: pd, pdIndex, on: core,
                                         kernel: &kernel, machine: &machine) {
            case .resolved:
                machine[core].charge(.faultExit)
                return .retry
            case .split:
                break
            case .outOfMemory:
                kernel.outOfMemory(process, on: core, machine: &machine)
                return .processKilled
            }
        } else if !pdEntry.isPresent && HugePages.isEligible(cr2, in: region, mode: kernel.configuration.thp) {
            if HugePages.mapFirstTouch(fault, region, pd: pd, pdIndex, on: core, kernel: &kernel, machine: &machine) {
                machine[core].charge(.faultExit)
                return .retry
            }
            kernel.statistics[core.rawValue].thpFallbacks &+= 1
            machine.note(.hugePageFallback(cr2), on: core)
        }
        guard let table = kernel.ensureTable(below: pd, pdIndex, for: cr2, on: core, machine: &machine) else {
            kernel.outOfMemory(process, on: core, machine: &machine)
            return .processKilled
        }
        let index = cr2.index(at: .pt)
        let entry = machine.readEntry(table, index)

        if !entry.isPresent {
            // 3. A first touch.
            guard mapFirstTouch(cr2, kind, region, at: table, index, on: core, kernel: &kernel, machine: &machine) else {
                kernel.outOfMemory(process, on: core, machine: &machine)
                return .processKilled
            }
        } else if kind == .write && entry.has(.copyOnWrite) {
            // 4. A write to a copy-on-write page.
            guard breakCopyOnWrite(cr2, entry, region, process, at: table, index, on: core, kernel: &kernel, machine: &machine) else {
                kernel.outOfMemory(process, on: core, machine: &machine)
                return .processKilled
            }
        } else {
            // A present entry that already allows the access: a spurious fault
            // (a stale entry); nothing to change.
            machine.note(.spuriousFault(cr2, entry), on: core)
        }
        machine[core].charge(.faultExit)
        return .retry
    }

    /// A not-present PTE: the zero frame for a read (`faults.zero_page`), a
    /// fresh zeroed frame otherwise (`faults.demand_zero`). False when out of frames.
    static func mapFirstTouch(_ cr2: VirtualAddress, _ kind: AccessKind, _ region: Region, at table: FrameNumber,
                              _ index: UInt64, on core: CoreID, kernel: inout Kernel, machine: inout Machine) -> Bool {
        if kind != .write && kernel.configuration.zeroPage {
            kernel.statistics[core.rawValue].zeroPageFaults &+= 1
            machine.note(.mapZeroPage(cr2), on: core)
            let entry = Kernel.leafEntry(.zeroPage, in: region, writable: false, copyOnWrite: true)
            kernel.writeEntry(entry, at: table, index, for: cr2, on: core, machine: &machine)
            return true
        }
        guard let frame = kernel.allocateZeroedFrame(.data, on: core, machine: &machine) else { return false }
        kernel.statistics[core.rawValue].demandZeroFaults &+= 1
        let writable = region.permissions.contains(.write)
        let entry = Kernel.leafEntry(frame, in: region, writable: writable, copyOnWrite: false)
        kernel.writeEntry(entry, at: table, index, for: cr2, on: core, machine: &machine)
        return true
    }

    /// A write to a present COW PTE: reuse when this is the frame's last
    /// mapping (`faults.cow_reuse`), else copy (`faults.cow_copy`; a zeroed
    /// frame for the zero page, `faults.demand_zero`). False when out of frames.
    static func breakCopyOnWrite(_ cr2: VirtualAddress, _ entry: PageTableEntry, _ region: Region, _ process: ProcessID,
                                 at table: FrameNumber, _ index: UInt64, on core: CoreID,
                                 kernel: inout Kernel, machine: inout Machine) -> Bool {
        let old = entry.frame
        if old != .zeroPage && kernel.frames.referenceCount(old) == 1 {
            // No copy, no invalidation: a stale read-only entry elsewhere does
            // not permit a write, so the writer re-walks.
            HugePages.reuse(entry, at: table, index, for: cr2, on: core, kernel: &kernel, machine: &machine)
            return true
        }
        guard let frame = kernel.allocateFrame(.data, on: core, machine: &machine) else { return false }
        if old == .zeroPage {
            kernel.zeroFrame(frame, on: core, machine: &machine)
            kernel.statistics[core.rawValue].demandZeroFaults &+= 1
        } else {
            kernel.copyFrame(old, into: frame, for: cr2, on: core, machine: &machine)
            kernel.statistics[core.rawValue].cowCopyFaults &+= 1
        }
        kernel.writeEntry(.empty, at: table, index, for: cr2, on: core, machine: &machine)
        if !kernel.injects(.cowBreakWithoutInvalidation) {
            kernel.shootDown(process, .pages(cr2.page..<cr2.page.advanced(by: 1), stride: .size4K), initiator: core,
                             reason: .narrow, machine: &machine)
        }
        let installed = Kernel.leafEntry(frame, in: region, writable: true, copyOnWrite: false)
        kernel.writeEntry(installed, at: table, index, for: cr2, on: core, machine: &machine)
        if old != .zeroPage && kernel.frames.drop(old) { kernel.frames.free(old) }
        return true
    }
}
