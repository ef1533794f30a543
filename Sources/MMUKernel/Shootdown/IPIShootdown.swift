import MMUHardware

/// `ipi` (Linux's `flush_tlb_mm_range` → `native_flush_tlb_multi`): the
/// initiator sends one IPI per target (`cost.ipi.send` each, in core order),
/// invalidates locally, then waits. A target takes the interrupt at the
/// later of its own clock and the send + `cost.ipi.latency`, pays
/// `cost.ipi.handler` and its own invalidations, and its ack arrives
/// `cost.ipi.latency` after; the initiator's clock becomes the latest ack.
enum IPIShootdown: TLBShootdown {
    static func shootDown(_ request: ShootdownRequest, kernel: inout Kernel, machine: inout Machine) {
        // Inside a guest the ICR write traps (a VM exit and entry per send);
        // a trapped interrupt costs the target an exit to inject it and another for its EOI.
        let inGuest = kernel.guest != nil
        let targetExits = inGuest && kernel.configuration.virtualIPIs == .trapped
        interrupt(request.targets, from: request.initiator, sendTraps: inGuest, kernel: &kernel, machine: &machine,
                  local: { kernel, machine in
            kernel.invalidate(request.span, of: request.process, on: request.initiator, as: .kernel, machine: &machine)
        }, handle: { target, kernel, machine in
            if targetExits { machine[target].charge(.vmExit); machine[target].charge(.vmEntry) }
            machine[target].charge(.ipiHandler)
            kernel.invalidate(request.span, of: request.process, on: target, as: .shootdown, machine: &machine)
            if targetExits { machine[target].charge(.vmExit); machine[target].charge(.vmEntry) }
        })
        kernel.release(dataFrames: request.dataFrames, tableFrames: request.tableFrames, hold: false)
    }

    /// One round of shootdown IPIs, whatever they invalidate: one
    /// `cost.ipi.send` per target in core order (after a VM exit and entry
    /// each when `sendTraps`), then `local` on the initiator; each target
    /// takes its interrupt at the later of its clock and the send +
    /// `cost.ipi.latency` and runs `handle` (its handler's charges and
    /// invalidations); its ack arrives `cost.ipi.latency` after, and the
    /// initiator waits for the last one.
    static func interrupt(_ targets: [CoreID], from initiator: CoreID, sendTraps: Bool, kernel: inout Kernel,
                          machine: inout Machine, local: (inout Kernel, inout Machine) -> Void,
                          handle: (CoreID, inout Kernel, inout Machine) -> Void) {
        let latency = kernel.configuration.costs[.ipiLatency]
        var arrivals: [CycleCount] = []
        arrivals.reserveCapacity(targets.count)
        for target in targets {
            if sendTraps {
                machine[initiator].charge(.vmExit)
                machine[initiator].charge(.vmEntry)
            }
            machine[initiator].charge(.ipiSend)
            kernel.statistics[initiator.rawValue].ipis &+= 1
            machine.note(.sendIPI(to: target), on: initiator)
            arrivals.append(machine[initiator].clock &+ latency)
        }
        local(&kernel, &machine)
        var lastAck = machine[initiator].clock
        for (target, arrival) in zip(targets, arrivals) {
            machine[target].wait(until: arrival)
            machine.note(.ipiTaken(from: initiator), on: target)
            let taken = machine[target].clock
            machine[target].begin(.ipiHandler)
            handle(target, &kernel, &machine)
            machine[target].end(.ipiHandler)
            kernel.statistics[target.rawValue].shootdownTargetCycles &+= machine[target].clock - taken
            lastAck = max(lastAck, machine[target].clock &+ latency)
            machine.note(.ackSent(to: initiator), on: target)
        }
        machine[initiator].wait(until: lastAck)
        machine.note(.acksReceived(count: targets.count), on: initiator)
    }
}
