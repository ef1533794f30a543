import MMUHardware

/// Making every core stop using a VM's nested translation after the
/// hypervisor removed or narrowed it (KVM's `kvm_flush_remote_tlbs`): INVEPT
/// single-context on the initiator (`cost.invept`), and on each other core
/// running the VM by the configured strategy. `ipi` (and `deferred`, which
/// defers unmaps only): an IPI per target as a process's shootdown, the
/// target exiting the guest to take it (`cost.vm.exit` and `cost.vm.entry`
/// around `cost.ipi.handler` and its INVEPT); `broadcast`: one broadcast
/// invalidation and TLBSYNC by the initiator, every core dropping the VM's
/// translations. A core that is not running the VM does its INVEPT at its
/// next entry into it.
enum NestedShootdown {
    static func invalidate(vm: Int, initiator: CoreID?, kernel: inout Kernel, machine: inout Machine) {
        if kernel.injects(.skipNestedShootdown) { return }
        let vpid = kernel.hypervisor.machines[vm].controls.vpid
        var targets: [CoreID] = []
        for c in machine.cores.indices where c != initiator?.rawValue {
            if machine.cores[c].vmcs?.vpid == vpid {
                targets.append(CoreID(c))
            } else {
                kernel.hypervisor.machines[vm].flushAtEntry[c] = true
            }
        }
        guard let initiator else {
            // Set-up work: every core drops the translations, no one pays.
            for c in machine.cores.indices { machine[CoreID(c)].receiveNestedInvalidation(vpid: vpid) }
            return
        }
        machine.note(.invept(vpid: vpid), on: initiator)
        if kernel.configuration.shootdown == .broadcast && !targets.isEmpty {
            kernel.statistics[initiator.rawValue].shootdowns &+= 1
            machine[initiator].charge(.invlpgb)
            for c in machine.cores.indices {
                machine[CoreID(c)].receiveNestedInvalidation(vpid: vpid)
                kernel.hypervisor.machines[vm].flushAtEntry[c] = false
            }
            machine[initiator].charge(.tlbsync)
            return
        }
        guard !targets.isEmpty else {
            machine[initiator].invalidateNested(vpid: vpid)
            return
        }
        kernel.statistics[initiator.rawValue].shootdowns &+= 1
        let start = machine[initiator].clock
        machine[initiator].begin(.shootdown)
        let latency = kernel.configuration.costs[.ipiLatency]
        var arrivals: [CycleCount] = []
        for target in targets {
            machine[initiator].charge(.ipiSend)
            kernel.statistics[initiator.rawValue].ipis &+= 1
            machine.note(.sendIPI(to: target), on: initiator)
            arrivals.append(machine[initiator].clock &+ latency)
        }
        machine[initiator].invalidateNested(vpid: vpid)
        var lastAck = machine[initiator].clock
        for (target, arrival) in zip(targets, arrivals) {
            machine[target].wait(until: arrival)
            machine.note(.ipiTaken(from: initiator), on: target)
            let taken = machine[target].clock
            machine[target].begin(.ipiHandler)
            machine[target].charge(.vmExit)
            machine[target].charge(.ipiHandler)
            machine[target].invalidateNested(vpid: vpid, as: .shootdown)
            machine[target].charge(.vmEntry)
            machine[target].end(.ipiHandler)
            kernel.statistics[target.rawValue].shootdownTargetCycles &+= machine[target].clock - taken
            lastAck = max(lastAck, machine[target].clock &+ latency)
            machine.note(.ackSent(to: initiator), on: target)
        }
        machine[initiator].wait(until: lastAck)
        machine.note(.acksReceived(count: targets.count), on: initiator)
        machine[initiator].end(.shootdown)
        kernel.statistics[initiator.rawValue].shootdownInitiatorCycles &+= machine[initiator].clock - start
    }

    /// At a VM entry on `core`: the INVEPT a shootdown left for it, if any.
    static func flushAtEntry(vm: Int, on core: CoreID, kernel: inout Kernel, machine: inout Machine) {
        guard kernel.hypervisor.machines[vm].flushAtEntry[core.rawValue] else { return }
        kernel.hypervisor.machines[vm].flushAtEntry[core.rawValue] = false
        machine[core].invalidateNested(vpid: kernel.hypervisor.machines[vm].controls.vpid)
    }
}
