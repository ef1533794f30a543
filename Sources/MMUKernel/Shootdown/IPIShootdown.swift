import MMUHardware

/// `ipi` (Linux's `flush_tlb_mm_range` → `native_flush_tlb_multi`): the
/// initiator sends one IPI per target (`cost.ipi.send` each, in core order),
/// invalidates locally, then waits. A target takes the interrupt at the
/// later of its own clock and the send + `cost.ipi.latency`, pays
/// `cost.ipi.handler` and its own invalidations, and its ack arrives
/// `cost.ipi.latency` after; the initiator's clock becomes the latest ack.
enum IPIShootdown: TLBShootdown {
    static func shootDown(_ request: ShootdownRequest, kernel: inout Kernel, machine: inout Machine) {
        let initiator = request.initiator
        let latency = kernel.configuration.costs[.ipiLatency]
        var arrivals: [CycleCount] = []
        arrivals.reserveCapacity(request.targets.count)
        // Inside a guest the ICR write traps: a VM exit and entry per send.
        let inGuest = kernel.guest != nil
        let targetExits = inGuest && kernel.configuration.virtualIPIs == .trapped
        for target in request.targets {
            if inGuest {
                machine[initiator].charge(.vmExit)
                machine[initiator].charge(.vmEntry)
            }
            machine[initiator].charge(.ipiSend)
            kernel.statistics[initiator.rawValue].ipis &+= 1
            machine.note(.sendIPI(to: target), on: initiator)
            arrivals.append(machine[initiator].clock &+ latency)
        }
        kernel.invalidate(request.span, of: request.process, on: initiator, as: .kernel, machine: &machine)
        var lastAck = machine[initiator].clock
        for (target, arrival) in zip(request.targets, arrivals) {
            machine[target].wait(until: arrival)
            machine.note(.ipiTaken(from: initiator), on: target)
            let taken = machine[target].clock
            machine[target].begin(.ipiHandler)
            // A trapped interrupt: an exit to inject it, and another for its EOI.
            if targetExits { machine[target].charge(.vmExit); machine[target].charge(.vmEntry) }
            machine[target].charge(.ipiHandler)
            kernel.invalidate(request.span, of: request.process, on: target, as: .shootdown, machine: &machine)
            if targetExits { machine[target].charge(.vmExit); machine[target].charge(.vmEntry) }
            machine[target].end(.ipiHandler)
            kernel.statistics[target.rawValue].shootdownTargetCycles &+= machine[target].clock - taken
            lastAck = max(lastAck, machine[target].clock &+ latency)
            machine.note(.ackSent(to: initiator), on: target)
        }
        machine[initiator].wait(until: lastAck)
        machine.note(.acksReceived(count: request.targets.count), on: initiator)
        kernel.release(dataFrames: request.dataFrames, tableFrames: request.tableFrames, hold: false)
    }
}
