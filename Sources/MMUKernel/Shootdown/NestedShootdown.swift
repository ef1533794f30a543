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
        IPIShootdown.interrupt(targets, from: initiator, sendTraps: false, kernel: &kernel, machine: &machine,
                               local: { _, machine in machine[initiator].invalidateNested(vpid: vpid) },
                               handle: { target, _, machine in
            // The target was running the guest: it exits to take the interrupt.
            machine[target].charge(.vmExit)
            machine[target].charge(.ipiHandler)
            machine[target].invalidateNested(vpid: vpid, as: .shootdown)
            machine[target].charge(.vmEntry)
        })
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
