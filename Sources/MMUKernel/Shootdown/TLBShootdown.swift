import MMUHardware

/// What must stop being translated: a range of pages, invalidated one
/// `stride` page at a time (4 KiB, or one INVLPG per huge page when only huge
/// leaves changed), or all of an address space's translations (fork's
/// closing flush).
public enum InvalidationSpan: Hashable, Sendable {
    case pages(Range<VirtualPageNumber>, stride: PageSize)
    case everything

    /// Whether `page` lies in the span.
    func contains(_ page: VirtualPageNumber) -> Bool {
        switch self {
        case .everything: return true
        case .pages(let range, _): return range.contains(page)
        }
    }

    /// The pages invalidated one by one (one per stride), or nil for everything.
    var invalidations: StrideTo<VirtualPageNumber>? {
        guard case .pages(let range, let stride) = self else { return nil }
        return Swift.stride(from: range.lowerBound, to: range.upperBound, by: Int64(stride.bytes >> Paging.pageShift))
    }

    /// How many single-page invalidations the span takes (what counts against `flush_ceiling`).
    var pageCount: UInt64 {
        guard case .pages(let range, let stride) = self else { return .max }
        return UInt64(range.count) >> (stride.shift - Paging.pageShift)
    }
}

/// Why the kernel invalidates: `deferred` applies to unmap only.
enum InvalidationReason {
    case unmap, narrow
}

/// One shootdown: the address space whose PTEs the initiator changed, what
/// to invalidate, the other cores that may cache it, and the frames to
/// release once no core can reach them.
struct ShootdownRequest {
    var process: ProcessID
    var pcid: PCID
    var span: InvalidationSpan
    var initiator: CoreID
    var targets: [CoreID]
    var dataFrames: [FrameNumber]
    var tableFrames: [FrameNumber]
}

/// A way to make other cores stop using a translation (Linux's
/// `arch/x86/mm/tlb.c` and its alternatives): `IPIShootdown`,
/// `BroadcastShootdown`, `DeferredShootdown`.
protocol TLBShootdown {
    /// Invalidates the request's span on the initiator and every target,
    /// then releases its frames (at once, or when it is safe).
    static func shootDown(_ request: ShootdownRequest, kernel: inout Kernel, machine: inout Machine)
}

extension Kernel {
    /// Makes every core stop using `span` of `process` after the initiator
    /// changed its PTEs, then releases `dataFrames` (one reference each) and
    /// `tableFrames`. With no other core to tell, the invalidation is local
    /// and is not a shootdown; an empty span invalidates nothing.
    mutating func shootDown(_ process: ProcessID, _ span: InvalidationSpan, initiator: CoreID, reason: InvalidationReason,
                            dataFrames: [FrameNumber] = [], tableFrames: [FrameNumber] = [], machine: inout Machine) {
        if case .pages(let range, _) = span, range.isEmpty {
            release(dataFrames: dataFrames, tableFrames: tableFrames, hold: false)
            return
        }
        var targets = shootdownTargets(process, excluding: initiator, cores: machine.cores.count)
        if injects(.skipFirstShootdownTarget) && !targets.isEmpty { targets.removeFirst() }
        if injects(.skipUnmapShootdown) && reason == .unmap {
            release(dataFrames: dataFrames, tableFrames: tableFrames, hold: false)
            return
        }
        guard !targets.isEmpty else {
            invalidate(span, of: process, on: initiator, as: .kernel, machine: &machine)
            release(dataFrames: dataFrames, tableFrames: tableFrames, hold: false)
            return
        }
        statistics[initiator.rawValue].shootdowns &+= 1
        let start = machine[initiator].clock
        machine[initiator].begin(.shootdown)
        defer {
            machine[initiator].end(.shootdown)
            statistics[initiator.rawValue].shootdownInitiatorCycles &+= machine[initiator].clock - start
        }
        let request = ShootdownRequest(process: process, pcid: processes[process].pcid, span: span, initiator: initiator,
                                       targets: targets, dataFrames: dataFrames, tableFrames: tableFrames)
        switch configuration.shootdown {
        case .ipi: IPIShootdown.shootDown(request, kernel: &self, machine: &machine)
        case .broadcast: BroadcastShootdown.shootDown(request, kernel: &self, machine: &machine)
        case .deferred where reason == .unmap: DeferredShootdown.shootDown(request, kernel: &self, machine: &machine)
        case .deferred: IPIShootdown.shootDown(request, kernel: &self, machine: &machine)
        }
    }

    /// Cores other than `initiator` that may hold `process`'s translations: the
    /// ones running it and, with PCIDs on, the ones that ran it and have not
    /// flushed its entries since (Linux's `mm_cpumask`).
    func shootdownTargets(_ process: ProcessID, excluding initiator: CoreID, cores: Int) -> [CoreID] {
        var targets: [CoreID] = []
        for c in 0..<cores where c != initiator.rawValue {
            if scheduler.current[c] == process || (configuration.pcid && processes[process].mayCache[c]) {
                targets.append(CoreID(c))
            }
        }
        return targets
    }

    /// Whether `span` is done with one full flush rather than INVLPG per page
    /// (more than `flush_ceiling` pages: Linux's `tlb_single_page_flush_ceiling`).
    func isFullFlush(_ span: InvalidationSpan) -> Bool {
        span.pageCount > configuration.flushCeiling
    }

    /// Invalidates `span` of `process` on one core, charged under `category`.
    mutating func invalidate(_ span: InvalidationSpan, of process: ProcessID, on core: CoreID, as category: CycleCategory,
                             machine: inout Machine) {
        let pcid = processes[process].pcid
        if isFullFlush(span) {
            machine[core].flush(pcid: pcid, as: category)
            if scheduler[core] != process { processes[process].mayCache[core.rawValue] = false }
        } else if let pages = span.invalidations {
            for page in pages { machine[core].invalidatePage(page.address, pcid: pcid, as: category) }
        }
    }

    /// Drops one reference of each data frame and frees each table frame; with
    /// `hold`, frames that would be freed wait as pending instead. Returns those held.
    @discardableResult
    mutating func release(dataFrames: [FrameNumber], tableFrames: [FrameNumber], hold: Bool) -> [FrameNumber] {
        var unreferenced: [FrameNumber] = []
        unreferenced.reserveCapacity(dataFrames.count)
        for frame in dataFrames where frame != .zeroPage && frames.drop(frame) { unreferenced.append(frame) }
        guard hold else {
            // Two batches, each mostly in address order already (no sort of the whole).
            frames.free(unreferenced)
            frames.free(tableFrames)
            return []
        }
        unreferenced += tableFrames
        for frame in unreferenced { frames.hold(frame) }
        return unreferenced
    }
}
