import MMUHardware

/// `deferred` (LATR-like, for unmap only): the initiator invalidates its own
/// TLB at once; each target's invalidation is queued and done at that
/// core's next `switch` or `tick` (until then it may still translate through
/// its stale entry); the unmapped frames stay pending until every target
/// has done its part.
enum DeferredShootdown: TLBShootdown {
    /// An invalidation queued on a target core.
    struct Invalidation: Sendable {
        var process: ProcessID
        var pcid: PCID
        var span: InvalidationSpan
        var batch: Int
    }

    /// Frames an unmap freed, held until every target has invalidated.
    struct Batch: Sendable {
        var remaining: Int
        var frames: [FrameNumber]
    }

    /// The kernel's queues: per core, the invalidations waiting there.
    struct Queues: Sendable {
        var waiting: [[Invalidation]]
        var batches: [Batch] = []
        init(cores: Int) { waiting = [[Invalidation]](repeating: [], count: cores) }

        /// Whether `core` still owes an invalidation of `page` of `process`.
        func owes(_ core: CoreID, _ process: ProcessID, _ page: VirtualPageNumber) -> Bool {
            waiting[core.rawValue].contains { $0.process == process && $0.span.contains(page) }
        }
    }

    static func shootDown(_ request: ShootdownRequest, kernel: inout Kernel, machine: inout Machine) {
        kernel.invalidate(request.span, of: request.process, on: request.initiator, as: .kernel, machine: &machine)
        let batch = kernel.deferred.batches.count
        let held = kernel.release(dataFrames: request.dataFrames, tableFrames: request.tableFrames,
                                  hold: !kernel.injects(.freeBeforeDeferredInvalidation))
        kernel.deferred.batches.append(Batch(remaining: request.targets.count, frames: held))
        for target in request.targets {
            machine.note(.deferredInvalidationQueued(by: request.initiator), on: target)
            kernel.deferred.waiting[target.rawValue].append(
                Invalidation(process: request.process, pcid: request.pcid, span: request.span, batch: batch))
        }
    }

    /// Does the invalidations queued on `core`; frees a batch's frames once
    /// every target has done its part.
    static func runQueued(on core: CoreID, kernel: inout Kernel, machine: inout Machine) {
        let queue = kernel.deferred.waiting[core.rawValue]
        guard !queue.isEmpty else { return }
        kernel.deferred.waiting[core.rawValue] = []
        for item in queue {
            if kernel.processes.isAlive(item.process) && kernel.processes[item.process].pcid == item.pcid {
                let start = machine[core].clock
                machine[core].begin(.deferredInvalidation)
                kernel.invalidate(item.span, of: item.process, on: core, as: .shootdown, machine: &machine)
                machine[core].end(.deferredInvalidation)
                kernel.statistics[core.rawValue].shootdownTargetCycles &+= machine[core].clock - start
            }
            complete(batch: item.batch, kernel: &kernel)
        }
    }

    /// A process ended: its entries are gone, so its queued invalidations are moot.
    static func dropQueued(for process: ProcessID, on core: CoreID, kernel: inout Kernel) {
        let queue = kernel.deferred.waiting[core.rawValue]
        kernel.deferred.waiting[core.rawValue] = queue.filter { $0.process != process }
        for item in queue where item.process == process { complete(batch: item.batch, kernel: &kernel) }
    }

    static func complete(batch: Int, kernel: inout Kernel) {
        kernel.deferred.batches[batch].remaining -= 1
        if kernel.deferred.batches[batch].remaining == 0 {
            kernel.frames.free(kernel.deferred.batches[batch].frames)
            kernel.deferred.batches[batch].frames = []
        }
    }
}
