import MMUHardware

/// What the handler decided about a #PF.
public enum FaultOutcome: Sendable {
    /// The mapping was fixed (or already fine): return and retry the access.
    case retry
    /// SIGSEGV: the access has no effect and is not retried.
    case segmentationFault
    /// SIGKILL for want of a frame.
    case killed
}

extension System {
    /// The #PF handler (SPEC section 2, in its order; Linux's
    /// `handle_mm_fault` → `do_anonymous_page` / `do_wp_page`).
    mutating func handlePageFault(core: CoreID, _ code: PageFaultErrorCode, cr2: VirtualAddress) -> FaultOutcome {
        let c = core.rawValue
        machine.cores[c].begin(.pageFault)
        defer { machine.cores[c].end(.pageFault) }
        machine.cores[c].statistics.pageFaults &+= 1
        machine.cores[c].charge(.faultEntry)
        machine.cores[c].charge(.kernelFault)
        guard let process = current[c] else { return .segmentationFault }
        let kind: AccessKind = code.contains(.instructionFetch) ? .fetch : code.contains(.write) ? .write : .read

        // 1. The region, and whether it allows the access.
        guard !code.contains(.reservedBit),
              let region = processes[process.rawValue].regions.region(containing: cr2.pageNumber),
              region.permissions.permits(kind)
        else {
            machine.cores[c].statistics.segmentationFaults &+= 1
            machine.cores[c].note(.kernel("SIGSEGV", cr2, UInt64(code.rawValue)))
            machine.cores[c].charge(.faultExit)
            return .segmentationFault
        }

        // Page-table pages below the PML4 are allocated when first needed.
        guard let table = ensureLeafTable(process, cr2, core: core) else {
            outOfMemory(core: core, process)
            return .killed
        }
        let index = cr2.index(at: .pt)
        let entry = machine.memory.readEntry(table, index)
        let writable = region.permissions.contains(.write)

        if !entry.isPresent {
            if kind != .write && configuration.zeroPage {
                // 2a. Read of a never-touched page: the shared zero frame, read-only + COW.
                machine.cores[c].statistics.zeroPageFaults &+= 1
                machine.cores[c].note(.kernel("map zero page", cr2, 0))
                writeEntry(table, index, Self.leafEntry(.zeroPage, in: region, writable: false, copyOnWrite: true), core: core, cr2)
            } else {
                // 2b. Demand zero: a fresh zeroed frame.
                guard let frame = allocateZeroedFrame(.data, core: core) else {
                    outOfMemory(core: core, process)
                    return .killed
                }
                machine.cores[c].statistics.demandZeroFaults &+= 1
                writeEntry(table, index, Self.leafEntry(frame, in: region, writable: writable, copyOnWrite: false), core: core, cr2)
            }
        } else if kind == .write && entry.has(.copyOnWrite) {
            let old = entry.frame
            if old != .zeroPage && frames.referenceCount(old) == 1 {
                // 3a. COW reuse: the last holder writes in place; no copy, no invalidation.
                machine.cores[c].statistics.cowReuseFaults &+= 1
                machine.cores[c].note(.kernel("cow reuse", cr2, old.rawValue))
                var reused = entry
                reused.flags.formUnion([.writable, .dirty])
                reused.flags.remove(.copyOnWrite)
                writeEntry(table, index, reused, core: core, cr2)
            } else {
                // 3b. COW break: a new frame (copied, or zeroed for the zero page),
                // clear the PTE, invalidate everywhere, install, drop the old reference.
                guard let frame = allocateFrame(.data, core: core) else {
                    outOfMemory(core: core, process)
                    return .killed
                }
                if old == .zeroPage {
                    zeroFrame(frame, core: core)
                    machine.cores[c].statistics.demandZeroFaults &+= 1
                } else {
                    machine.cores[c].charge(.frameCopy)
                    machine.cores[c].statistics.pagesCopied &+= 1
                    machine.cores[c].note(.kernel("copy frame", cr2, frame.rawValue))
                    machine.memory.copy(from: old, to: frame)
                    machine.cores[c].statistics.cowCopyFaults &+= 1
                }
                writeEntry(table, index, .empty, core: core, cr2)
                if !defects.contains(.cowBreakWithoutInvalidation) {
                    shootDown(process, .pages(first: cr2.pageNumber, count: 1), initiator: core, reason: .narrow)
                }
                writeEntry(table, index, Self.leafEntry(frame, in: region, writable: true, copyOnWrite: false), core: core, cr2)
                if old != .zeroPage && frames.drop(old) { frames.free(old) }
            }
        } else {
            // A present entry that already allows the access: a spurious fault
            // (a stale entry); nothing to change.
            machine.cores[c].note(.kernel("spurious fault", cr2, entry.rawValue))
        }
        machine.cores[c].charge(.faultExit)
        return .retry
    }

    /// Out of frames: SIGKILL the process (`faults.oom`), free its frames; the
    /// run goes on.
    mutating func outOfMemory(core: CoreID, _ process: ProcessID) {
        machine.cores[core.rawValue].statistics.outOfMemoryKills &+= 1
        machine.cores[core.rawValue].note(.kernel("OOM kill", VirtualAddress(0), UInt64(process.rawValue)))
        tearDown(process)
    }
}
