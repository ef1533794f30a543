import MMUHardware

/// `broadcast` (AMD INVLPGB + TLBSYNC; Arm TLBI IS): the initiator pays
/// `cost.invlpgb` per page (once for a full flush) and one `cost.tlbsync`;
/// the hardware invalidates every core, the initiator's own included, and
/// the other cores pay nothing.
enum BroadcastShootdown: TLBShootdown {
    static func shootDown(_ request: ShootdownRequest, kernel: inout Kernel, machine: inout Machine) {
        let initiator = request.initiator
        let full = kernel.isFullFlush(request.span)
        let pages = full ? nil : request.span.invalidations
        let pageCount = full ? 1 : request.span.pageCount
        machine[initiator].charge(.invlpgb, times: pageCount)
        machine[initiator].charge(.tlbsync)
        machine.note(.broadcastInvalidation(pages: pageCount), on: initiator)
        machine.broadcastInvalidation(pages: pages.map(Array.init), pcid: request.pcid)
        if full {
            for c in 0..<machine.cores.count where kernel.scheduler.current[c] != request.process {
                kernel.processes[request.process].mayCache[c] = false
            }
        }
        kernel.release(dataFrames: request.dataFrames, tableFrames: request.tableFrames, hold: false)
    }
}
