import MMUHardware

/// What must stop being translated: a span of pages, or all of an address
/// space's translations (fork's closing flush).
public enum InvalidationSpan: Hashable, Sendable {
    case pages(first: UInt64, count: UInt64)
    case everything
}

/// Why the kernel invalidates: `deferred` applies to unmap only (SPEC 3).
enum InvalidationReason {
    case unmap, narrow
}

/// An invalidation queued on a target core by the `deferred` strategy.
struct DeferredInvalidation: Sendable {
    var process: ProcessID
    var pcid: PCID
    var span: InvalidationSpan
    var batch: Int
}

/// Frames an unmap freed, held until every target has done its deferred invalidation.
struct DeferredBatch: Sendable {
    var remaining: Int
    var frames: [FrameNumber]
}

extension System {
    /// Cores other than `initiator` that may hold `process`'s translations: the
    /// ones running it and, with PCIDs on, the ones that ran it and have not
    /// flushed its entries since (SPEC 3; Linux's `mm_cpumask`).
    func shootdownTargets(_ process: ProcessID, excluding initiator: CoreID) -> [CoreID] {
        var targets: [CoreID] = []
        for c in 0..<coreCount where c != initiator.rawValue {
            if current[c] == process || (configuration.pcid && processes[process.rawValue].mayCache[c]) {
                targets.append(CoreID(c))
            }
        }
        return targets
    }

    /// Whether `span` is done with one full flush rather than INVLPG per page.
    func isFullFlush(_ span: InvalidationSpan) -> Bool {
        switch span {
        case .everything: return true
        case .pages(_, let count): return count > configuration.flushCeiling
        }
    }

    /// Invalidates `span` of `process` on one core, charged under `category`.
    mutating func invalidate(_ span: InvalidationSpan, of process: ProcessID, on core: CoreID, as category: CycleCategory) {
        let c = core.rawValue
        let pcid = processes[process.rawValue].pcid
        if isFullFlush(span) {
            machine.cores[c].flush(pcid: pcid, as: category)
            if current[c] != process { processes[process.rawValue].mayCache[c] = false }
        } else if case .pages(let first, let count) = span {
            for page in first..<(first + count) {
                machine.cores[c].invalidatePage(VirtualAddress(page << Paging.pageShift), pcid: pcid, as: category)
            }
        }
    }

    /// Makes every core stop using `span` of `process` after the initiator
    /// changed its PTEs, then releases `dataFrames` (one reference each) and
    /// `tableFrames`. An empty span invalidates nothing.
    mutating func shootDown(_ process: ProcessID, _ span: InvalidationSpan, initiator: CoreID, reason: InvalidationReason,
                            dataFrames: [FrameNumber] = [], tableFrames: [FrameNumber] = []) {
        if case .pages(_, 0) = span {
            release(dataFrames: dataFrames, tableFrames: tableFrames, hold: false)
            return
        }
        var targets = shootdownTargets(process, excluding: initiator)
        if defects.contains(.skipFirstShootdownTarget) && !targets.isEmpty { targets.removeFirst() }
        if defects.contains(.skipUnmapShootdown) && reason == .unmap {
            release(dataFrames: dataFrames, tableFrames: tableFrames, hold: false)
            return
        }
        guard !targets.isEmpty else {
            invalidate(span, of: process, on: initiator, as: .kernel)
            release(dataFrames: dataFrames, tableFrames: tableFrames, hold: false)
            return
        }
        let i = initiator.rawValue
        machine.cores[i].statistics.shootdowns &+= 1
        let start = machine.cores[i].clock
        machine.cores[i].begin(.shootdown)
        defer {
            machine.cores[i].end(.shootdown)
            machine.cores[i].statistics.shootdownInitiatorCycles &+= machine.cores[i].clock - start
        }
        var strategy = configuration.shootdown
        if strategy == .deferred && reason != .unmap { strategy = .ipi }
        switch strategy {
        case .ipi:
            interruptTargets(targets, span, process, initiator: initiator)
            release(dataFrames: dataFrames, tableFrames: tableFrames, hold: false)
        case .broadcast:
            broadcastInvalidation(span, process, initiator: initiator)
            release(dataFrames: dataFrames, tableFrames: tableFrames, hold: false)
        case .deferred:
            invalidate(span, of: process, on: initiator, as: .kernel)
            let batch = deferredBatches.count
            let held = release(dataFrames: dataFrames, tableFrames: tableFrames,
                               hold: !defects.contains(.freeBeforeDeferredInvalidation))
            deferredBatches.append(DeferredBatch(remaining: targets.count, frames: held))
            for target in targets {
                machine.cores[target.rawValue].note(.kernel("deferred invalidation queued", VirtualAddress(0), UInt64(i)))
                deferredQueues[target.rawValue].append(
                    DeferredInvalidation(process: process, pcid: processes[process.rawValue].pcid, span: span, batch: batch))
            }
        }
    }

    /// `ipi`: send one IPI per target, invalidate locally, wait for the acks.
    mutating func interruptTargets(_ targets: [CoreID], _ span: InvalidationSpan, _ process: ProcessID, initiator: CoreID) {
        let i = initiator.rawValue
        let latency = configuration.costs[.ipiLatency]
        var arrivals: [CycleCount] = []
        arrivals.reserveCapacity(targets.count)
        for target in targets {
            machine.cores[i].charge(.ipiSend)
            machine.cores[i].statistics.ipis &+= 1
            machine.cores[i].note(.kernel("send IPI", VirtualAddress(0), UInt64(target.rawValue)))
            arrivals.append(machine.cores[i].clock &+ latency)
        }
        invalidate(span, of: process, on: initiator, as: .kernel)
        var lastAck = machine.cores[i].clock
        for (target, arrival) in zip(targets, arrivals) {
            let t = target.rawValue
            machine.cores[t].wait(until: arrival)
            machine.cores[t].note(.kernel("IPI taken", VirtualAddress(0), UInt64(i)))
            let taken = machine.cores[t].clock
            machine.cores[t].begin(.ipiHandler)
            machine.cores[t].charge(.ipiHandler)
            invalidate(span, of: process, on: target, as: .shootdown)
            machine.cores[t].end(.ipiHandler)
            machine.cores[t].statistics.shootdownTargetCycles &+= machine.cores[t].clock - taken
            lastAck = max(lastAck, machine.cores[t].clock &+ latency)
            machine.cores[t].note(.kernel("ack sent", VirtualAddress(0), UInt64(i)))
        }
        machine.cores[i].wait(until: lastAck)
        machine.cores[i].note(.kernel("acks received", VirtualAddress(0), UInt64(targets.count)))
    }

    /// `broadcast`: INVLPGB per page (one for a full flush) and TLBSYNC; the
    /// hardware invalidates every core, the initiator's own included, and the
    /// other cores pay nothing.
    mutating func broadcastInvalidation(_ span: InvalidationSpan, _ process: ProcessID, initiator: CoreID) {
        let i = initiator.rawValue
        let pcid = processes[process.rawValue].pcid
        let full = isFullFlush(span)
        var pageCount: UInt64 = 1
        if case .pages(_, let count) = span, !full { pageCount = count }
        machine.cores[i].charge(.invlpgb, times: pageCount)
        machine.cores[i].charge(.tlbsync)
        machine.cores[i].note(.kernel("INVLPGB+TLBSYNC", VirtualAddress(0), pageCount))
        for c in 0..<coreCount {
            if full {
                machine.cores[c].statistics.tlbFlushes &+= 1
                machine.cores[c].dropTranslations(pcid: pcid)
                if current[c] != process { processes[process.rawValue].mayCache[c] = false }
            } else if case .pages(let first, let count) = span {
                for page in first..<(first + count) {
                    machine.cores[c].dropPage(VirtualAddress(page << Paging.pageShift), pcid: pcid)
                }
            }
        }
    }

    /// Drops one reference of each data frame and frees each table frame; with
    /// `hold`, frames that would be freed wait as pending instead. Returns those held.
    @discardableResult
    mutating func release(dataFrames: [FrameNumber], tableFrames: [FrameNumber], hold: Bool) -> [FrameNumber] {
        var held: [FrameNumber] = []
        for frame in dataFrames where frame != .zeroPage && frames.drop(frame) {
            if hold { frames.hold(frame); held.append(frame) } else { frames.free(frame) }
        }
        for frame in tableFrames {
            if hold { frames.hold(frame); held.append(frame) } else { frames.free(frame) }
        }
        return held
    }

    /// Does the invalidations queued on `core` by deferred shootdowns; frees a
    /// batch's frames once every target has done its part.
    mutating func runDeferredInvalidations(core: CoreID) {
        let queue = deferredQueues[core.rawValue]
        guard !queue.isEmpty else { return }
        deferredQueues[core.rawValue] = []
        for item in queue {
            if isAlive(item.process) && processes[item.process.rawValue].pcid == item.pcid {
                let start = machine.cores[core.rawValue].clock
                machine.cores[core.rawValue].begin(.deferredInvalidation)
                invalidate(item.span, of: item.process, on: core, as: .shootdown)
                machine.cores[core.rawValue].end(.deferredInvalidation)
                machine.cores[core.rawValue].statistics.shootdownTargetCycles &+= machine.cores[core.rawValue].clock - start
            }
            completeDeferred(batch: item.batch)
        }
    }

    mutating func completeDeferred(batch: Int) {
        deferredBatches[batch].remaining -= 1
        if deferredBatches[batch].remaining == 0 {
            for frame in deferredBatches[batch].frames { frames.free(frame) }
            deferredBatches[batch].frames = []
        }
    }
}
