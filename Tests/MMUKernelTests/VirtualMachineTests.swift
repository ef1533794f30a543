import Testing
import MMUHardware
@testable import MMUKernel
import TestSupport

private func c(_ key: CostKey) -> UInt64 { Pinned.cost(key) }
private let core0 = CoreID(0), core1 = CoreID(1)
private let base: UInt64 = 0x40_0000

/// A configuration with pinned costs, `cores` cores, and every cache that
/// could shorten a walk off unless `caches`.
private func configuration(cores: Int = 2, levels: Int = 4, nestedLevels: Int = 4, caches: Bool = false) -> Configuration {
    var configuration = Pinned.configuration(cores: cores, frames: 8192, pscEntries: caches ? 4 : 0)
    configuration.pagingLevels = levels
    configuration.nestedLevels = nestedLevels
    configuration.geometry.nestedTLBEntries = caches ? 16 : 0
    configuration.geometry.nestedTLBWays = caches ? 16 : 1
    configuration.geometry.nestedPML4ECacheEntries = caches ? 2 : 0
    configuration.geometry.nestedPDPTECacheEntries = caches ? 4 : 0
    configuration.geometry.nestedPDECacheEntries = caches ? 32 : 0
    return configuration
}

/// A system with VM 1 of 1024 frames and one guest process running on
/// `cores` cores, `pages` pages mapped rw at `base`.
private func guest(_ configuration: Configuration, pages: UInt64 = 2) -> (System, ProcessID, Int) {
    var system = System(configuration: configuration)
    let vm = system.createVirtualMachine(id: 1, frames: 1024)!
    let process = system.createProcess(inVM: vm)
    for c in 0..<configuration.cores { system.contextSwitch(core: CoreID(c), to: process) }
    system.map(core: core0, VirtualAddress(base), pages: pages, [.read, .write])
    return (system, process, vm)
}

private func refs(_ system: System, _ core: Int) -> (UInt64, UInt64) {
    (system.machine.cores[core].statistics.walkRefs, system.machine.cores[core].statistics.walkNestedRefs)
}

/// VMs 1 and 2 (256 frames each), a process in each running on core 0 and
/// core 1, each mapping one page at `base` and writing its value there.
private func twoGuests(values: [UInt64], checked: Bool = false) -> (System, [ProcessID]) {
    var system = System(configuration: configuration(cores: 2))
    system.checksCoherence = checked
    var processes: [ProcessID] = []
    for (c, id) in ([1, 2] as [UInt64]).enumerated() {
        guard let vm = system.createVirtualMachine(id: id, frames: 256) else { break }
        let process = system.createProcess(inVM: vm)
        processes.append(process)
        system.contextSwitch(core: CoreID(c), to: process)
        system.map(core: CoreID(c), VirtualAddress(base), pages: 1, [.read, .write])
        _ = system.access(core: CoreID(c), .write, VirtualAddress(base), store: values[c])
    }
    return (system, processes)
}

@Suite("virtual machines")
struct VirtualMachineTests {
    @Test("a cold two-dimensional walk reads 24 entries with four levels on both sides, 35 with five, 29 five-on-four",
          arguments: [(4, 4, 24, 20), (5, 5, 35, 30), (5, 4, 29, 24)])
    func coldWalk(levels: Int, nestedLevels: Int, total: UInt64, nested: UInt64) {
        var (system, _, _) = guest(configuration(levels: levels, nestedLevels: nestedLevels))
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 7)
        // Core 1 runs the same guest process with cold TLBs: one walk, no fault.
        let before = refs(system, 1)
        #expect(system.access(core: core1, .read, VirtualAddress(base)) == .completed(7))
        let after = refs(system, 1)
        #expect(after.0 - before.0 == total)
        #expect(after.1 - before.1 == nested)
        #expect(system.machine.cores[1].statistics.walks == 1)
        #expect(system.machine.cores[1].statistics.pageFaults == 0)
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("paging-structure caches and the nested TLB cut the walk short")
    func cachedWalk() {
        var (system, _, _) = guest(configuration(caches: true))
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 1)
        _ = system.access(core: core0, .write, VirtualAddress(base + 0x1000), store: 2)
        // Core 1, cold: the first nested walk reads 4 entries and fills the
        // nested PSCs; every later guest table (all in the first 2 MiB of
        // guest-physical memory) needs only its nested PTE: 4+1, 1+1, 1+1, 1+1, then 1
        // (12 entries, 8 of them nested).
        var before = refs(system, 1)
        _ = system.access(core: core1, .read, VirtualAddress(base))
        var after = refs(system, 1)
        #expect(after.0 - before.0 == 12)
        #expect(after.1 - before.1 == 8)
        // The next page: the guest PDE cache starts the walk at the PT, whose
        // translation the nested TLB holds; the guest PTE, then the data
        // page's nested PTE (nested PDE cache hit): 2 entries, 1 nested.
        before = after
        _ = system.access(core: core1, .read, VirtualAddress(base + 0x1000))
        after = refs(system, 1)
        #expect(after.0 - before.0 == 2)
        #expect(after.1 - before.1 == 1)
    }

    @Test("a read of the guest's zero page takes an EPT violation with its exit qualification, then host demand-zero")
    func zeroPageViolation() {
        var (system, _, _) = guest(configuration(cores: 1))
        system.setLogging(true)
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(0))
        let violations = system.drainEvents(core: core0).compactMap { event -> EPTViolation? in
            if case .eptViolation(let violation) = event.kind { return violation }
            return nil
        }
        // Guest frame 0 (its zero page) was never written: not mapped in the nested tables.
        #expect(violations.count == 1)
        #expect(violations.first?.guestPhysical == 0)
        #expect(violations.first?.kind == .read)
        #expect(violations.first?.qualification == 0x181)  // read, linear address valid, final address
        #expect(system.statistic("faults.ept_demand_zero") == system.statistic("faults.ept"))
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("an EPT violation costs a VM exit, the handler and a VM entry, charged under vm and kernel")
    func violationCost() {
        var (system, _, _) = guest(configuration(cores: 1))
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 1)
        // The zero page is unbacked; its nested PT exists (other low guest frames are backed).
        let before = system.machine.cores[0].account
        let clock = system.clock()
        _ = system.access(core: core0, .read, VirtualAddress(base + 0x1000))
        let after = system.machine.cores[0].account
        #expect(after[.vm] - before[.vm] == c(.vmExit) + c(.vmEntry))
        // Guest #PF (zero page) and host demand-zero: kernel.fault twice, one
        // host alloc, one nested PTE write plus the guest's PTE write.
        #expect(after[.kernel] - before[.kernel] == 2 * c(.kernelFault) + c(.frameAlloc) + 2 * c(.pteWrite))
        #expect(after[.zero] - before[.zero] == c(.frameZero))
        #expect(system.clock() > clock)
    }

    @Test("same-page merging shares identical pages across VMs read-only; a guest write breaks it by host copy-on-write")
    func sameGuestPages() {
        // Both guests build the same page: same tables, same guest frames, same bytes.
        var (system, _) = twoGuests(values: [0x5A, 0x5A])
        let dataBefore = system.frames.dataFrames
        system.mergeSamePages(core: core0)
        // Each guest backs 5 frames (PML4, PDPT, PD, PT, data); VM 2's five match VM 1's.
        #expect(system.statistic("ksm.scanned") == 10)
        #expect(system.statistic("ksm.merged") == 5)
        #expect(system.frames.dataFrames == dataBefore - 5)
        #expect(system.invariantViolations().isEmpty)
        // VM 2 writes: its frame is shared, so the host copies it.
        #expect(system.access(core: core1, .write, VirtualAddress(base), store: 0x77) == .completed(0x77))
        #expect(system.statistic("faults.ept_cow_copy") == 1)
        // VM 1 still reads its own value, and its write reuses the now unshared frame.
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(0x5A))
        #expect(system.access(core: core0, .write, VirtualAddress(base), store: 0x5B) == .completed(0x5B))
        #expect(system.statistic("faults.ept_cow_reuse") == 1)
        #expect(system.access(core: core1, .read, VirtualAddress(base)) == .completed(0x77))
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("pages whose bytes differ are not merged")
    func differentPages() {
        var (system, _) = twoGuests(values: [101, 102])
        system.mergeSamePages(core: core0)
        // The four page-table pages match; the data pages differ by one word.
        #expect(system.statistic("ksm.merged") == 4)
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(101))
        #expect(system.access(core: core1, .read, VirtualAddress(base)) == .completed(102))
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("the coherence checker covers guests: a host COW without INVEPT is caught")
    func checkerCatchesMissingINVEPT() {
        for defect in [false, true] {
            var (system, processes) = twoGuests(values: [9, 9], checked: true)
            // VM 2's process runs on both cores.
            system.contextSwitch(core: core0, to: processes[1])
            _ = system.access(core: core0, .read, VirtualAddress(base))
            if defect { system.defects = .skipNestedShootdown }
            system.mergeSamePages(core: core0)
            _ = system.access(core: core1, .write, VirtualAddress(base), store: 10)
            _ = system.access(core: core0, .read, VirtualAddress(base))
            let violations = system.drainCoherenceViolations()
            #expect(violations.isEmpty == !defect, "defect \(defect): \(violations)")
            #expect(system.translationsChecked > 0)
        }
    }

    @Test("a shootdown inside a guest: each IPI send exits on the sender; a trapped target exits twice, a posted one never",
          arguments: [VirtualIPIDelivery.trapped, .posted])
    func virtualisedShootdown(delivery: VirtualIPIDelivery) {
        var configuration = configuration(cores: 2)
        configuration.virtualIPIs = delivery
        var (system, _, _) = guest(configuration, pages: 1)
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 1)
        _ = system.access(core: core1, .read, VirtualAddress(base))
        let sender = system.machine.cores[0].account[.vm], target = system.machine.cores[1].account[.vm]
        system.unmap(core: core0, VirtualAddress(base), pages: 1)
        #expect(system.statistic("ipis") == 1)
        #expect(system.machine.cores[0].account[.vm] - sender == c(.vmExit) + c(.vmEntry))
        let exits: UInt64 = delivery == .trapped ? 2 : 0
        #expect(system.machine.cores[1].account[.vm] - target == exits * (c(.vmExit) + c(.vmEntry)))
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("a switch between the host and a VM, or between VMs, costs cost.vm.switch; within a VM it does not")
    func vmSwitch() {
        var system = System(configuration: configuration(cores: 1))
        let host = system.createProcess()
        let vm1 = system.createVirtualMachine(id: 1, frames: 64)!, vm2 = system.createVirtualMachine(id: 2, frames: 64)!
        let a = system.createProcess(inVM: vm1), b = system.createProcess(inVM: vm1), g = system.createProcess(inVM: vm2)
        var last = system.clock()
        func step(_ process: ProcessID?, crossing: Bool) {
            system.contextSwitch(core: core0, to: process)
            #expect(system.clock() - last == c(.contextSwitch) + (crossing ? c(.vmSwitch) : 0))
            last = system.clock()
        }
        step(host, crossing: false)
        step(a, crossing: true)
        step(b, crossing: false)
        step(nil, crossing: false)
        step(g, crossing: true)
        step(host, crossing: true)
        #expect(system.current[0] == host)
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("guest processes are isolated from each other and from the host: same addresses, own frames")
    func isolation() {
        var system = System(configuration: configuration(cores: 1))
        let host = system.createProcess()
        let vm1 = system.createVirtualMachine(id: 1, frames: 64)!, vm2 = system.createVirtualMachine(id: 2, frames: 64)!
        let processes = [host, system.createProcess(inVM: vm1), system.createProcess(inVM: vm2)]
        for (i, process) in processes.enumerated() {
            system.contextSwitch(core: core0, to: process)
            system.map(core: core0, VirtualAddress(base), pages: 1, [.read, .write])
            _ = system.access(core: core0, .write, VirtualAddress(base), store: UInt64(i) + 1)
        }
        for (i, process) in processes.enumerated() {
            system.contextSwitch(core: core0, to: process)
            #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(UInt64(i) + 1))
        }
        #expect(system.statistic("vm1.frames.data") == 1)
        #expect(system.statistic("vm2.frames.data") == 1)
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("a host out of frames for a guest kernel's store kills the VM; its host frames come back and it starts afresh")
    func hostOutOfMemoryKillsTheVM() {
        // 24 host frames: the nested root and the first backing use 5; each guest page needs more.
        var system = System(configuration: configuration(cores: 1))
        let small = { () -> System in
            var c = configuration(cores: 1)
            c.frames = 24
            return System(configuration: c)
        }
        system = small()
        let vm = system.createVirtualMachine(id: 1, frames: 256)!
        let process = system.createProcess(inVM: vm)
        system.contextSwitch(core: core0, to: process)
        system.map(core: core0, VirtualAddress(base), pages: 64, [.read, .write])
        var killed = false
        for page in 0..<UInt64(64) where !killed {
            killed = system.access(core: core0, .write, VirtualAddress(base + page << 12), store: page + 1) == .killed
                || !system.isAlive(process)
        }
        #expect(killed)
        #expect(!system.isAlive(process))
        #expect(system.invariantViolations().isEmpty, "\(system.invariantViolations().prefix(3))")
        // Only the nested root (page table) and the zero frame stay taken on the host; the guest's pool is empty.
        #expect(system.frames.freeFrames == 24 - 2)
        #expect(system.statistic("vm1.frames.free") == 255)
        // A new process in the VM runs.
        let again = system.createProcess(inVM: vm)
        system.contextSwitch(core: core0, to: again)
        system.map(core: core0, VirtualAddress(base), pages: 1, [.read, .write])
        #expect(system.access(core: core0, .write, VirtualAddress(base), store: 5) == .completed(5))
        #expect(system.invariantViolations().isEmpty)
    }
}
