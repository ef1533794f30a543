import Testing
import MMUHardware
@testable import MMUKernel
import TestSupport

/// Random (seeded) sequences over huge pages: THP regions (`always` and
/// advised), hugetlb 2 MiB regions, forks, writes that split or reuse, partial
/// unmaps and protects that split, exits; after every step the kernel's
/// invariants (reference counts, one owner per table, frames = free + data +
/// pagetable + pending + reserved, no writable PTE to a shared frame), the
/// coherence checker, and a shadow of what each process must read.
@Suite("Randomized huge-page invariants")
struct RandomizedHugePageTests {
    struct Shadow {
        var regions = RegionList()
        var words: [UInt64: UInt64] = [:]
    }

    static let cases: [(seed: UInt64, cores: Int, strategy: ShootdownStrategy, thp: TransparentHugePages, frames: Int)] = [
        (11, 1, .ipi, .always, 4096), (12, 2, .ipi, .always, 1536), (13, 3, .broadcast, .madvise, 4096),
        (14, 2, .deferred, .always, 2048), (15, 1, .ipi, .madvise, 2600),
    ]

    /// 2 MiB-aligned places for regions of up to 4 MiB.
    static let slots: [UInt64] = [0x40_0000, 0x100_0000, 0x4000_0000, 0x7F00_0000_0000]

    @Test("invariants, coherence and isolation hold after every huge-page operation", arguments: 0..<cases.count)
    func randomSequence(_ index: Int) throws {
        let setup = Self.cases[index]
        var random = SeededRandom(seed: setup.seed)
        var configuration = Pinned.configuration(cores: setup.cores, frames: setup.frames, pscEntries: 2)
        configuration.shootdown = setup.strategy
        configuration.thp = setup.thp
        configuration.flushCeiling = 3
        var system = System(configuration: configuration)
        system.checksCoherence = true
        var shadows: [ProcessID: Shadow] = [:]
        let first = system.createProcess()
        shadows[first] = Shadow()
        for c in 0..<setup.cores { system.contextSwitch(core: CoreID(c), to: first) }

        func range(_ slot: UInt64, _ pages: UInt64) -> Range<VirtualPageNumber> {
            VirtualPageNumber(slot >> 12)..<VirtualPageNumber((slot >> 12) + pages)
        }
        func map(_ core: CoreID, _ p: ProcessID, _ slot: UInt64, hugeTLB: Bool) {
            let pages: UInt64 = hugeTLB ? 512 * UInt64.random(in: 1...2, using: &random) : UInt64.random(in: 300...1024, using: &random)
            guard !shadows[p]!.regions.overlaps(range(slot, pages)) else { return }
            system.map(core: core, VirtualAddress(slot), pages: pages, [.read, .write], pageSize: hugeTLB ? .size2M : .size4K)
            shadows[p]!.regions.insert(Region(pages: range(slot, pages), permissions: [.read, .write],
                                              pageSize: hugeTLB ? .size2M : .size4K))
        }
        map(CoreID(0), first, Self.slots[0], hugeTLB: false)
        map(CoreID(0), first, Self.slots[1], hugeTLB: true)
        if let region = shadows[first]!.regions.region(containing: VirtualPageNumber(Self.slots[0] >> 12)) {
            system.madvise(core: CoreID(0), VirtualAddress(Self.slots[0]), pages: region.pageCount, .hugepage)
            shadows[first]!.regions.setAdvice(region.pages, .hugepage)
        }

        for step in 0..<600 {
            let c = Int.random(in: 0..<setup.cores, using: &random)
            let core = CoreID(c)
            guard let p = system.current[c], shadows[p] != nil else {
                let alive = shadows.keys.sorted { $0.rawValue < $1.rawValue }
                let next = alive.isEmpty ? system.createProcess() : alive[Int.random(in: 0..<alive.count, using: &random)]
                if alive.isEmpty { shadows[next] = Shadow() }
                system.contextSwitch(core: core, to: next)
                continue
            }
            let slot = Self.slots[Int.random(in: 0..<Self.slots.count, using: &random)]
            let region = shadows[p]!.regions.region(containing: VirtualPageNumber(slot >> 12))
            // Mostly inside the region at the slot, sometimes past its end.
            let span = region.map { UInt64.random(in: 0..<100, using: &random) < 85 ? $0.pageCount : 1024 } ?? 1024
            let address = slot + UInt64.random(in: 0..<span, using: &random) << 12 + 8 * UInt64.random(in: 0..<4, using: &random)
            switch UInt64.random(in: 0..<100, using: &random) {
            case 0..<6:
                map(core, p, slot, hugeTLB: Bool.random(using: &random))
            case 6..<9:
                guard let region, !region.isHugeTLB else { continue }
                let advice: HugePageAdvice = Bool.random(using: &random) ? .hugepage : .nohugepage
                system.madvise(core: core, VirtualAddress(slot), pages: region.pageCount, advice)
                shadows[p]!.regions.setAdvice(region.pages, advice)
            case 9..<45:
                let value = random.next()
                let result = system.access(core: core, .write, VirtualAddress(address), store: value)
                guard result != .killed else { shadows[p] = nil; continue }
                let allowed = shadows[p]!.regions.region(containing: VirtualPageNumber(address >> 12))?.permissions.contains(.write) == true
                if allowed {
                    #expect(result == .completed(value), "step \(step): write \(hex(address))")
                    shadows[p]!.words[address] = value
                }
            case 45..<75:
                let result = system.access(core: core, .read, VirtualAddress(address))
                guard result != .killed else { shadows[p] = nil; continue }
                if shadows[p]!.regions.region(containing: VirtualPageNumber(address >> 12)) != nil {
                    #expect(result == .completed(shadows[p]!.words[address] ?? 0), "step \(step): read \(hex(address))")
                }
            case 75..<83:
                guard shadows.count < 8, let child = system.fork(core: core) else { continue }
                if system.isAlive(child) { shadows[child] = shadows[p] }
            case 83..<88:
                // Protect: a hugetlb region whole, any other range freely (it may split a huge leaf).
                guard let region else { continue }
                let pages = region.isHugeTLB ? region.pages : range(slot + UInt64.random(in: 0..<256, using: &random) << 12,
                                                                   UInt64.random(in: 1...200, using: &random))
                guard shadows[p]!.regions.covers(pages) else { continue }
                let permissions: RegionPermissions = Bool.random(using: &random) ? [.read, .write] : [.read]
                system.protect(core: core, pages.lowerBound.address, pages: UInt64(pages.count), permissions)
                shadows[p]!.regions.setPermissions(pages, permissions)
            case 88..<94:
                guard let region else { continue }
                let pages = region.isHugeTLB ? region.pages : range(slot + UInt64.random(in: 0..<512, using: &random) << 12,
                                                                   UInt64.random(in: 1...600, using: &random))
                system.unmap(core: core, pages.lowerBound.address, pages: UInt64(pages.count))
                shadows[p]!.regions.remove(pages)
                shadows[p]!.words = shadows[p]!.words.filter { !pages.contains(VirtualPageNumber($0.key >> 12)) }
            case 94..<96:
                system.exit(core: core)
                shadows[p] = nil
            case 96..<98:
                let alive = shadows.keys.sorted { $0.rawValue < $1.rawValue }
                system.contextSwitch(core: core, to: alive[Int.random(in: 0..<alive.count, using: &random)])
            default:
                system.tick(core: core)
            }
            let violations = system.drainCoherenceViolations()
            #expect(violations.isEmpty, "step \(step): \(violations.prefix(3))")
            let problems = system.invariantViolations()
            #expect(problems.isEmpty, "step \(step): \(problems.prefix(3))")
            if !problems.isEmpty || !violations.isEmpty { return }
        }
        // The sequence must have gone down the huge-page paths it checks.
        let total = { (name: String) in system.statistic(name) ?? 0 }
        #expect(total("faults.thp") + total("faults.huge_zero_page") > 0)
        #expect(total("walks.2m") > 0)
        #expect(total("thp.splits") + total("faults.cow_copy") + total("faults.cow_reuse") > 0)
        // Every process exits: nothing leaks, and the buddy blocks merge back.
        for c in 0..<setup.cores { system.tick(core: CoreID(c)) }
        for p in shadows.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            system.contextSwitch(core: CoreID(0), to: p)
            system.exit(core: CoreID(0))
        }
        for c in 0..<setup.cores { system.tick(core: CoreID(c)) }
        #expect(system.frames.freeFrames == setup.frames - system.frames.reservedFrames)
        #expect(system.frames.pendingFrames == 0 && system.frames.dataFrames == 0 && system.frames.pageTableFrames == 0)
        #expect(system.invariantViolations().isEmpty)
        // Merged back: only the reserved frames keep blocks apart.
        let fresh = FrameAllocator(frameCount: setup.frames)
        if system.frames.reservedFrames == 1 {
            #expect(system.frames.freeBlocksByOrder == fresh.freeBlocksByOrder)
        }
    }
}
