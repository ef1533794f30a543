import Testing
import MMUHardware
@testable import MMUKernel
import TestSupport

/// Random (seeded) sequences of map, write, read, fork, protect, unmap, switch
/// and exit, checked after every step against the kernel's invariants and a
/// shadow model of what each process must read. A write that reached a frame
/// another process shares would show up as a wrong value in the other process.
@Suite("Randomized kernel invariants")
struct RandomizedInvariantTests {
    struct Shadow {
        var regions = RegionList()
        /// Value of each 8-byte word written (absent: zero).
        var words: [UInt64: UInt64] = [:]
    }

    static let cases: [(seed: UInt64, cores: Int, strategy: ShootdownStrategy, fork: ForkMode, pcid: Bool, levels: Int)] = [
        (1, 1, .ipi, .cow, true, 4), (2, 1, .ipi, .cow, false, 4), (3, 1, .ipi, .copy, true, 4),
        (4, 2, .ipi, .cow, true, 4), (5, 3, .broadcast, .cow, true, 4), (6, 3, .deferred, .cow, true, 4),
        (7, 4, .ipi, .cow, false, 4), (8, 2, .deferred, .copy, false, 4), (9, 4, .broadcast, .cow, false, 4),
        (10, 2, .ipi, .cow, true, 5), (11, 3, .deferred, .copy, true, 5),
    ]

    @Test("invariants and isolation hold after every operation", arguments: 0..<cases.count)
    func randomSequence(_ index: Int) throws {
        let setup = Self.cases[index]
        var random = SeededRandom(seed: setup.seed)
        var configuration = Pinned.configuration(cores: setup.cores, frames: 600, pscEntries: 2)
        configuration.shootdown = setup.strategy
        configuration.fork = setup.fork
        configuration.pcid = setup.pcid
        configuration.pagingLevels = setup.levels
        configuration.geometry.pml5eCacheEntries = setup.levels == 5 ? 2 : 0
        configuration.flushCeiling = 3
        var system = System(configuration: configuration)
        system.checksCoherence = true
        var shadows: [ProcessID: Shadow] = [:]
        let slots: [UInt64] = [0x40_0000, 0x60_0000, 0x4000_0000, 0x7F00_0000_0000]

        func newProcess() -> ProcessID {
            let p = system.createProcess()
            shadows[p] = Shadow()
            return p
        }
        // One process with a thread on every core, so changes need shootdowns.
        let first = newProcess()
        for c in 0..<setup.cores { system.contextSwitch(core: CoreID(c), to: first) }
        let initial: [(UInt64, RegionPermissions)] = [(slots[0], [.read, .write]), (slots[1], [.read]), (slots[3], [.read, .write])]
        for (slot, permissions) in initial {
            system.map(core: CoreID(0), VirtualAddress(slot), pages: 6, permissions)
            shadows[first]!.regions.insert(Region(pages: VirtualPageNumber(slot >> 12)..<VirtualPageNumber((slot >> 12) + 6), permissions: permissions))
        }

        for step in 0..<1000 {
            let c = Int.random(in: 0..<setup.cores, using: &random)
            let core = CoreID(c)
            guard let p = system.current[c], shadows[p] != nil else {
                let alive = shadows.keys.sorted { $0.rawValue < $1.rawValue }
                system.contextSwitch(core: core, to: alive.isEmpty ? newProcess() : alive[Int.random(in: 0..<alive.count, using: &random)])
                continue
            }
            // Half the accesses go to the first (writable, shared after fork) region.
            let slot = Bool.random(using: &random) ? slots[0] : slots[Int.random(in: 0..<slots.count, using: &random)]
            let page = UInt64.random(in: 0..<6, using: &random)
            let address = slot + page << 12 + 8 * UInt64.random(in: 0..<4, using: &random)
            switch UInt64.random(in: 0..<100, using: &random) {
            case 0..<8:
                let pages = UInt64.random(in: 1...6, using: &random)
                let first = VirtualAddress(slot).pageNumber
                if shadows[p]!.regions.overlaps(VirtualPageNumber(first)..<VirtualPageNumber(first + pages)) { continue }
                let permissions: RegionPermissions = Bool.random(using: &random) ? [.read, .write] : [.read]
                system.map(core: core, VirtualAddress(slot), pages: pages, permissions)
                shadows[p]!.regions.insert(Region(pages: VirtualPageNumber(first)..<VirtualPageNumber(first + pages), permissions: permissions))
            case 8..<45:
                let value = random.next()
                let result = system.access(core: core, .write, VirtualAddress(address), store: value)
                guard result != .killed else { shadows[p] = nil; continue }
                let allowed = shadows[p]!.regions.region(containing: VirtualPageNumber(address >> 12))?.permissions.contains(.write) == true
                if allowed {
                    #expect(result == .completed(value), "step \(step): write \(hex(address))")
                    shadows[p]!.words[address] = value
                } else if !(setup.strategy == .deferred && result != .segmentationFault) {
                    #expect(result == .segmentationFault, "step \(step): write \(hex(address)) outside a writable region")
                }
            case 45..<80:
                let result = system.access(core: core, .read, VirtualAddress(address))
                guard result != .killed else { shadows[p] = nil; continue }
                if shadows[p]!.regions.region(containing: VirtualPageNumber(address >> 12)) != nil {
                    #expect(result == .completed(shadows[p]!.words[address] ?? 0), "step \(step): read \(hex(address))")
                } else if setup.strategy != .deferred {
                    #expect(result == .segmentationFault, "step \(step): read \(hex(address)) outside every region")
                }
            case 80..<86:
                guard shadows.count < 12 else { continue }
                guard let child = system.fork(core: core) else { continue }
                if system.isAlive(child) { shadows[child] = shadows[p] }
            case 86..<90:
                let first = VirtualAddress(slot).pageNumber, pages = UInt64.random(in: 1...3, using: &random)
                guard shadows[p]!.regions.covers(VirtualPageNumber(first)..<VirtualPageNumber(first + pages)) else { continue }
                let permissions: RegionPermissions = Bool.random(using: &random) ? [.read, .write] : [.read]
                system.protect(core: core, VirtualAddress(slot), pages: pages, permissions)
                shadows[p]!.regions.setPermissions(VirtualPageNumber(first)..<VirtualPageNumber(first + pages), permissions)
            case 90..<95:
                let first = VirtualAddress(slot).pageNumber + page, pages = UInt64.random(in: 1...4, using: &random)
                system.unmap(core: core, VirtualAddress(first << 12), pages: pages)
                shadows[p]!.regions.remove(VirtualPageNumber(first)..<VirtualPageNumber(first + pages))
                shadows[p]!.words = shadows[p]!.words.filter { $0.key >> 12 < first || $0.key >> 12 >= first + pages }
            case 95..<97:
                system.exit(core: core)
                shadows[p] = nil
            case 97..<99:
                let alive = shadows.keys.sorted { $0.rawValue < $1.rawValue }
                system.contextSwitch(core: core, to: alive[Int.random(in: 0..<alive.count, using: &random)])
            default:
                system.tick(core: core)
            }
            let violations = system.drainCoherenceViolations()
            #expect(violations.isEmpty, "step \(step): \(violations.prefix(3))")
            let problems = system.invariantViolations()
            #expect(problems.isEmpty, "step \(step): \(problems.prefix(3))")
            if !problems.isEmpty { return }
        }
        // The sequence must have exercised the paths it is meant to check.
        let total = { (name: String) in system.statistic(name) ?? 0 }
        #expect(total("faults.cow_copy") + total("faults.cow_reuse") + total("pages.copied") > 0)
        #expect(total("faults.demand_zero") > 0 && total("faults.segv") > 0)
        if setup.cores > 1 { #expect(total("shootdowns") > 0) }
        // Every process exits (ticks first, so deferred frames come back): nothing leaks.
        for c in 0..<setup.cores { system.tick(core: CoreID(c)) }
        for p in shadows.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            system.contextSwitch(core: CoreID(0), to: p)
            system.exit(core: CoreID(0))
        }
        for c in 0..<setup.cores { system.tick(core: CoreID(c)) }
        #expect(system.frames.freeFrames == configuration.frames - 1)
        #expect(system.frames.pendingFrames == 0)
        #expect(system.invariantViolations().isEmpty)
    }
}
