import Testing
import MMUHardware
@testable import MMUKernel
import TestSupport

/// Random (seeded) sequences over processes of the host and of two VMs on
/// several cores: map, write, read, fork, protect, unmap, exit, switch (across
/// VMs), tick and `ksm`, checked after every step against the invariants of
/// the host and of each guest, the coherence checker, and a shadow model of
/// what each process must read. A write that reached a host frame another
/// guest (or process) shares would show as a wrong value elsewhere.
@Suite("Randomized virtual-machine invariants")
struct RandomizedVirtualMachineTests {
    struct Shadow {
        var regions = RegionList()
        var words: [UInt64: UInt64] = [:]
    }

    static let cases: [(seed: UInt64, cores: Int, strategy: ShootdownStrategy, delivery: VirtualIPIDelivery, caches: Bool)] = [
        (21, 2, .ipi, .trapped, true), (22, 3, .broadcast, .posted, false), (23, 3, .deferred, .trapped, true),
        (24, 2, .ipi, .posted, false),
    ]

    @Test("invariants, coherence and isolation hold with guests after every operation", arguments: 0..<cases.count)
    func randomSequence(_ index: Int) throws {
        let setup = Self.cases[index]
        var random = SeededRandom(seed: setup.seed)
        var configuration = Pinned.configuration(cores: setup.cores, frames: 1500, pscEntries: setup.caches ? 2 : 0)
        configuration.shootdown = setup.strategy
        configuration.virtualIPIs = setup.delivery
        configuration.flushCeiling = 3
        configuration.geometry.nestedTLBEntries = setup.caches ? 8 : 0
        configuration.geometry.nestedTLBWays = setup.caches ? 8 : 1
        configuration.geometry.nestedPDECacheEntries = setup.caches ? 4 : 0
        var system = System(configuration: configuration)
        system.checksCoherence = true
        let guestFrames = 300
        let vms = [system.createVirtualMachine(id: 1, frames: guestFrames)!, system.createVirtualMachine(id: 2, frames: guestFrames)!]
        var shadows: [ProcessID: Shadow] = [:]
        let slots: [UInt64] = [0x40_0000, 0x60_0000, 0x4000_0000]
        var created = 0
        func newProcess() -> ProcessID {
            // Host, VM 1, VM 2 in turn.
            created += 1
            let p = created % 3 == 0 ? system.createProcess() : system.createProcess(inVM: vms[created % 3 - 1])
            shadows[p] = Shadow()
            return p
        }
        for c in 0..<setup.cores { system.contextSwitch(core: CoreID(c), to: newProcess()) }

        for step in 0..<500 {
            let c = Int.random(in: 0..<setup.cores, using: &random)
            let core = CoreID(c)
            guard let p = system.current[c], shadows[p] != nil else {
                let alive = shadows.keys.sorted { $0.rawValue < $1.rawValue }
                let pick = alive.isEmpty || Int.random(in: 0..<4, using: &random) == 0
                system.contextSwitch(core: core, to: pick ? newProcess() : alive[Int.random(in: 0..<alive.count, using: &random)])
                continue
            }
            let slot = slots[Int.random(in: 0..<slots.count, using: &random)]
            let page = UInt64.random(in: 0..<4, using: &random)
            let address = slot + page << 12 + 8 * UInt64.random(in: 0..<2, using: &random)
            let roll = UInt64.random(in: 0..<100, using: &random)
            let vmOfCore = system.vm(on: CoreID(c)).map(String.init) ?? "host"
            switch roll {
            case 0..<10:
                let first = VirtualAddress(slot).pageNumber
                if shadows[p]!.regions.overlaps(VirtualPageNumber(first)..<VirtualPageNumber(first + 4)) { continue }
                let permissions: RegionPermissions = Bool.random(using: &random) ? [.read, .write] : [.read]
                system.map(core: core, VirtualAddress(slot), pages: 4, permissions)
                shadows[p]!.regions.insert(Region(pages: VirtualPageNumber(first)..<VirtualPageNumber(first + 4), permissions: permissions))
            case 10..<45:
                // Few distinct values, so pages often match and ksm merges them.
                let value = UInt64.random(in: 0..<3, using: &random)
                let result = system.access(core: core, .write, VirtualAddress(address), store: value)
                guard result != .killed else { shadows[p] = nil; continue }
                if shadows[p]!.regions.region(containing: VirtualPageNumber(address >> 12))?.permissions.contains(.write) == true {
                    #expect(result == .completed(value), "step \(step): write \(hex(address))")
                    shadows[p]!.words[address] = value
                }
            case 45..<78:
                let result = system.access(core: core, .read, VirtualAddress(address))
                guard result != .killed else { shadows[p] = nil; continue }
                if shadows[p]!.regions.region(containing: VirtualPageNumber(address >> 12)) != nil {
                    #expect(result == .completed(shadows[p]!.words[address] ?? 0), "step \(step): read \(hex(address))")
                }
            case 78..<83:
                guard shadows.count < 12, let child = system.fork(core: core) else { continue }
                if system.isAlive(child) { shadows[child] = shadows[p] }
            case 83..<86:
                let first = VirtualAddress(slot).pageNumber
                guard shadows[p]!.regions.covers(VirtualPageNumber(first)..<VirtualPageNumber(first + 2)) else { continue }
                let permissions: RegionPermissions = Bool.random(using: &random) ? [.read, .write] : [.read]
                system.protect(core: core, VirtualAddress(slot), pages: 2, permissions)
                shadows[p]!.regions.setPermissions(VirtualPageNumber(first)..<VirtualPageNumber(first + 2), permissions)
            case 86..<90:
                let first = VirtualAddress(slot).pageNumber + page
                system.unmap(core: core, VirtualAddress(first << 12), pages: 1)
                shadows[p]!.regions.remove(VirtualPageNumber(first)..<VirtualPageNumber(first + 1))
                shadows[p]!.words = shadows[p]!.words.filter { $0.key >> 12 != first }
            case 90..<92:
                system.exit(core: core)
                shadows[p] = nil
            case 92..<96:
                let alive = shadows.keys.sorted { $0.rawValue < $1.rawValue }
                system.contextSwitch(core: core, to: alive[Int.random(in: 0..<alive.count, using: &random)])
            case 96..<98:
                system.mergeSamePages(core: core)
            default:
                system.tick(core: core)
            }
            let violations = system.drainCoherenceViolations()
            #expect(violations.isEmpty, "step \(step): \(violations.prefix(3))")
            // The full invariant check walks every table of every kernel: every fourth step (and the last).
            let problems = step % 4 == 3 || step == 499 ? system.invariantViolations() : []
            #expect(problems.isEmpty, "step \(step) (roll \(roll), core \(c) in \(vmOfCore), \(hex(address))): \(problems.prefix(3))")
            if !problems.isEmpty || !violations.isEmpty { return }
        }
        let total = { (name: String) in system.statistic(name) ?? 0 }
        #expect(total("faults.ept") > 0 && total("ksm.merged") > 0)
        #expect(total("faults.ept_cow_copy") + total("faults.ept_cow_reuse") > 0)
        #expect(total("walk.nested_refs") > 0)
        // Every process exits: each guest's pool and the host's add up, nothing leaks in a guest.
        for p in shadows.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            system.contextSwitch(core: CoreID(0), to: p)
            system.exit(core: CoreID(0))
        }
        #expect(system.invariantViolations().isEmpty)
        for id in [1, 2] {
            let free = system.statistic("vm\(id).frames.free") ?? 0, pending = system.statistic("vm\(id).frames.pending") ?? 0
            let tables = system.statistic("vm\(id).frames.pagetable") ?? 0, data = system.statistic("vm\(id).frames.data") ?? 0
            #expect(tables == 0 && data == 0, "vm\(id): \(tables) table and \(data) data frames left")
            #expect(free + pending + (system.statistic("vm\(id).frames.reserved") ?? 0) == UInt64(guestFrames))
        }
    }
}
