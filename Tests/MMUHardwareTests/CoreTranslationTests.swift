import Testing
@testable import MMUHardware

/// Costs chosen so that every charge shows in its own decimal digit.
private let costs: CostModel = {
    var costs = CostModel()
    for key in CostKey.allCases { costs[key] = 100_000_000 }  // anything unexpected shows
    costs[.tlbL1] = 1
    costs[.tlbL2] = 10
    costs[.walkPSC] = 100
    costs[.walkRef] = 1_000
    costs[.walkAD] = 10_000
    costs[.invlpg] = 100_000
    costs[.tlbFlush] = 1_000_000
    return costs
}()

/// L1D and L1I 4 entries in one set, L2 16 entries in 4 sets, 2 entries per PSC.
private let smallGeometry: TLBGeometry = {
    var geometry = TLBGeometry()
    geometry.l1dEntries = 4; geometry.l1dWays = 4
    geometry.l1iEntries = 4; geometry.l1iWays = 4
    geometry.l2Entries = 16; geometry.l2Ways = 4
    geometry.pml4eCacheEntries = 2
    geometry.pdpteCacheEntries = 2
    geometry.pdeCacheEntries = 2
    return geometry
}()

/// A core running the hand-built tables under PCID 1.
private struct CoreUnderTest {
    typealias T = HandBuiltPageTables
    static let pcid = PCID(1)
    var tables: T
    var core: Core

    init(geometry: TLBGeometry = smallGeometry, pcidEnabled: Bool = true, leaf: PageTableEntry.Flags = T.dataFlags) {
        tables = T(leaf: leaf)
        core = Core(id: CoreID(0), geometry: geometry, costs: costs, pcidEnabled: pcidEnabled)
        core.loadCR3(ControlRegister3(pml4: T.pml4, pcid: pcidEnabled ? Self.pcid : .none))
    }

    /// Translates and returns the cycles it charged.
    @discardableResult
    mutating func access(_ address: VirtualAddress = T.address, _ kind: AccessKind = .read) -> (TranslationOutcome, CycleCount) {
        let before = core.clock
        let outcome = core.translate(address, kind, memory: &tables.memory)
        return (outcome, core.clock - before)
    }

    var categoriesSum: CycleCount { CycleCategory.allCases.reduce(0) { $0 + core.account[$1] } }
    var pscOccupancy: [Int] { [core.pml4eCache.occupancy, core.pdpteCache.occupancy, core.pdeCache.occupancy] }
}

private func physical(_ outcome: TranslationOutcome) -> UInt64? {
    if case .translated(let address) = outcome { return address.rawValue }
    return nil
}
private func faultCode(_ outcome: TranslationOutcome) -> UInt32? {
    if case .pageFault(let code) = outcome { return code.rawValue }
    return nil
}

@Suite("Core translation")
struct CoreTranslationTests {
    typealias T = HandBuiltPageTables

    // MARK: Misses, walks and hits

    @Test func aFirstAccessMissesBothTLBsAndWalksFourLevels() {
        var machine = CoreUnderTest()
        let (outcome, cycles) = machine.access()
        #expect(physical(outcome) == 0x567_8ABC)
        let stats = machine.core.statistics
        #expect(stats.l1dMisses == 1)
        #expect(stats.l1dHits == 0)
        #expect(stats.l2Misses == 1)
        #expect(stats.l2Hits == 0)
        #expect(stats.walks == 1)
        #expect(stats.walkRefs == 4)
        #expect(stats.pscHits == 0)
        // tlb.l1 + tlb.l2 + walk.psc + 4 x walk.ref; every bit already set.
        #expect(cycles == 1 + 10 + 100 + 4 * 1_000)
        #expect(machine.core.clock == 4_111)
        #expect(machine.core.account[.tlb] == 11)
        #expect(machine.core.account[.walk] == 4_100)
        #expect(machine.categoriesSum == machine.core.clock)
    }

    @Test func theWalkChargesEachAccessedAndDirtyBitItSets() {
        var machine = CoreUnderTest(leaf: [.present, .writable, .user])
        let (outcome, cycles) = machine.access(T.address, .write)
        #expect(physical(outcome) == 0x567_8ABC)
        #expect(cycles == 1 + 10 + 100 + 4 * 1_000 + 2 * 10_000)
        #expect(machine.core.account[.walk] == 100 + 4_000 + 20_000)
        #expect(machine.categoriesSum == machine.core.clock)
        #expect(machine.tables.entry(.pt).flags == [.present, .writable, .user, .accessed, .dirty])
    }

    @Test func aSecondAccessHitsTheL1AndPaysOnlyItsLookup() {
        var machine = CoreUnderTest()
        machine.access()
        let (outcome, cycles) = machine.access(VirtualAddress(0x0000_1274_5674_5000), .write)
        #expect(physical(outcome) == 0x567_8000)
        #expect(cycles == 1)
        #expect(machine.core.statistics.l1dHits == 1)
        #expect(machine.core.statistics.walks == 1)
        #expect(machine.core.account[.tlb] == 12)
        #expect(machine.categoriesSum == machine.core.clock)
    }

    @Test func anL2HitAfterAnL1EvictionRefillsTheL1() {
        var geometry = smallGeometry
        geometry.l1dEntries = 1; geometry.l1dWays = 1
        var machine = CoreUnderTest(geometry: geometry)
        machine.access(T.address)
        machine.access(T.neighbour)  // evicts T.address from the one-entry L1
        #expect(!machine.core.l1d.holds(T.address, pcid: CoreUnderTest.pcid))
        let (outcome, cycles) = machine.access(T.address)
        #expect(physical(outcome) == 0x567_8ABC)
        #expect(cycles == 1 + 10)
        #expect(machine.core.statistics.l2Hits == 1)
        #expect(machine.core.statistics.walks == 2)
        #expect(machine.core.l1d.holds(T.address, pcid: CoreUnderTest.pcid))
        let (_, again) = machine.access(T.address)
        #expect(again == 1)
        #expect(machine.core.statistics.l1dHits == 1)
        #expect(machine.categoriesSum == machine.core.clock)
    }

    @Test func aWalkFillsEachPagingStructureCacheOnce() {
        var machine = CoreUnderTest()
        machine.access()
        #expect(machine.pscOccupancy == [1, 1, 1])
        let pcid = CoreUnderTest.pcid
        #expect(machine.core.pml4eCache.lookup(T.address, pcid: pcid)?.table == T.pdpt)
        #expect(machine.core.pdpteCache.lookup(T.address, pcid: pcid)?.table == T.pd)
        #expect(machine.core.pdeCache.lookup(T.address, pcid: pcid)?.table == T.pt)
    }

    @Test func aSecondPageInTheSame2MiBRegionStartsFromThePDECache() {
        var machine = CoreUnderTest()
        machine.access(T.address)
        let (outcome, cycles) = machine.access(T.neighbour)
        #expect(physical(outcome) == 0x567_9ABC)
        #expect(machine.core.statistics.pscHits == 1)
        #expect(machine.core.statistics.walks == 2)
        #expect(machine.core.statistics.walkRefs == 4 + 1)
        #expect(cycles == 1 + 10 + 100 + 1_000)
        #expect(machine.categoriesSum == machine.core.clock)
    }

    @Test func withoutAPDECacheTheWalkStartsFromThePDPTECache() {
        var geometry = smallGeometry
        geometry.pdeCacheEntries = 0
        var machine = CoreUnderTest(geometry: geometry)
        machine.access(T.address)
        let (_, cycles) = machine.access(T.neighbour)
        #expect(machine.core.statistics.pscHits == 1)
        #expect(machine.core.statistics.walkRefs == 4 + 2)
        #expect(cycles == 1 + 10 + 100 + 2 * 1_000)
    }

    @Test func withoutPagingStructureCachesAWalkPaysNoPSCLookup() {
        var geometry = smallGeometry
        geometry.pml4eCacheEntries = 0; geometry.pdpteCacheEntries = 0; geometry.pdeCacheEntries = 0
        var machine = CoreUnderTest(geometry: geometry)
        let (_, first) = machine.access(T.address)
        #expect(first == 1 + 10 + 4 * 1_000)
        let (_, second) = machine.access(T.neighbour)
        #expect(second == 1 + 10 + 4 * 1_000)
        #expect(machine.core.statistics.pscHits == 0)
    }

    @Test func withoutAnL2TLBAnL1MissGoesStraightToTheWalk() {
        var geometry = smallGeometry
        geometry.l2Entries = 0
        var machine = CoreUnderTest(geometry: geometry)
        let (outcome, cycles) = machine.access()
        #expect(physical(outcome) == 0x567_8ABC)
        #expect(cycles == 1 + 100 + 4 * 1_000)
        #expect(machine.core.statistics.l2Misses == 0)
        #expect(machine.core.statistics.l2Hits == 0)
        #expect(machine.core.account[.tlb] == 1)
    }

    // MARK: Large pages

    @Test func a2MiBTranslationServesEvery4KiBPageInItFromTheL1() {
        var machine = CoreUnderTest()
        machine.tables.setEntry(.pd, PageTableEntry(frame: FrameNumber(0x1200), flags: T.dataFlags.union(.pageSize)))
        let (first, walkCycles) = machine.access(T.address)
        #expect(physical(first) == 0x134_5ABC)
        #expect(walkCycles == 1 + 10 + 100 + 3 * 1_000)
        // Another 4 KiB page of the same 2 MiB page: VA[20:0] = 0x1F_F008.
        let (second, cycles) = machine.access(VirtualAddress(0x0000_1274_567F_F008), .write)
        #expect(physical(second) == 0x13F_F008)
        #expect(cycles == 1)
        #expect(machine.core.statistics.walks == 1)
    }

    @Test func aLargePageWalkFillsOnlyTheCachesAboveItsLeaf() {
        var machine = CoreUnderTest()
        machine.tables.setEntry(.pd, PageTableEntry(frame: FrameNumber(0x1200), flags: T.dataFlags.union(.pageSize)))
        machine.access(T.address)
        #expect(machine.pscOccupancy == [1, 1, 0])

        var gib = CoreUnderTest()
        gib.tables.setEntry(.pdpt, PageTableEntry(frame: FrameNumber(0xC0000), flags: T.dataFlags.union(.pageSize)))
        let (outcome, cycles) = gib.access(T.address)
        #expect(physical(outcome) == 0xD674_5ABC)
        #expect(cycles == 1 + 10 + 100 + 2 * 1_000)
        #expect(gib.pscOccupancy == [1, 0, 0])
        // With the TLBs emptied, the next walk starts from the PML4E cache: one reference.
        gib.core.l1d1G.flush(pcid: nil)
        gib.core.l2OneGig.flush(pcid: nil)
        let (_, again) = gib.access(T.address)
        #expect(again == 1 + 10 + 100 + 1_000)
        #expect(gib.core.statistics.pscHits == 1)
    }

    // MARK: Entries that do not permit the access

    @Test func aWriteToACleanCachedPageDropsItAtBothLevelsAndWalksToSetD() {
        var machine = CoreUnderTest(leaf: [.present, .writable, .user, .accessed])
        machine.access(T.address, .read)
        let (outcome, cycles) = machine.access(T.address, .write)
        #expect(physical(outcome) == 0x567_8ABC)
        // L1 dropped (miss), L2 dropped (miss), walk from the PDE cache setting D.
        #expect(cycles == 1 + 10 + 100 + 1_000 + 10_000)
        let stats = machine.core.statistics
        #expect(stats.l1dMisses == 2)
        #expect(stats.l2Misses == 2)
        #expect(stats.walks == 2)
        #expect(stats.pscHits == 1)
        #expect(machine.tables.entry(.pt).has(.dirty))
        let (_, again) = machine.access(T.address, .write)
        #expect(again == 1)
    }

    // MARK: Page faults

    @Test func aWalkEndingInAPageFaultFillsNothing() {
        var machine = CoreUnderTest()
        let (outcome, cycles) = machine.access(T.unmapped, .write)
        #expect(faultCode(outcome) == 0b0_0110)  // not present, write, user
        #expect(cycles == 1 + 10 + 100 + 4 * 1_000)
        #expect(machine.core.statistics.walks == 1)
        #expect(machine.core.l1d.occupancy == 0)
        #expect(machine.core.l2.occupancy == 0)
        #expect(machine.pscOccupancy == [0, 0, 0])
        // The retry walks again, all four levels.
        let (_, retry) = machine.access(T.unmapped, .write)
        #expect(retry == 1 + 10 + 100 + 4 * 1_000)
        #expect(machine.core.statistics.walks == 2)
        #expect(machine.core.statistics.walkRefs == 8)
        #expect(machine.categoriesSum == machine.core.clock)
    }

    @Test func aProtectionFaultFillsNothingEither() {
        var machine = CoreUnderTest(leaf: [.present, .user, .accessed])
        let (outcome, _) = machine.access(T.address, .write)
        #expect(faultCode(outcome) == 0b0_0111)  // protection, write, user
        #expect(machine.core.l1d.occupancy == 0)
        #expect(machine.core.l2.occupancy == 0)
        #expect(machine.pscOccupancy == [0, 0, 0])
    }

    @Test func aPageFaultDropsTheFaultingAddresssEntriesOfTheCurrentPCIDOnly() {
        var machine = CoreUnderTest()
        let pcid = CoreUnderTest.pcid, other = PCID(2)
        let rights: AccessRights = [.writable, .user, .executable, .dirty]
        let stale = Translation(frame: FrameNumber(0x999), size: .size4K, rights: rights)
        let elsewhere = VirtualAddress(1 << 39)
        machine.core.l1i.insert(T.unmapped, stale, pcid: pcid)
        machine.core.l1i.insert(T.address, stale, pcid: pcid)
        machine.core.l1i.insert(T.unmapped, stale, pcid: other)
        machine.core.pdeCache.insert(T.unmapped, table: T.pt, rights: .all, pcid: pcid)
        machine.core.pdeCache.insert(T.unmapped, table: T.pt, rights: .all, pcid: other)
        machine.core.pml4eCache.insert(T.unmapped, table: T.pdpt, rights: .all, pcid: pcid)
        machine.core.pml4eCache.insert(elsewhere, table: FrameNumber(9), rights: .all, pcid: pcid)

        // A load: L1D and L2 miss, the walk starts from the PDE cache and faults at the PTE.
        let (outcome, cycles) = machine.access(T.unmapped, .read)
        #expect(faultCode(outcome) == 0b0_0100)
        #expect(cycles == 1 + 10 + 100 + 1_000)
        #expect(machine.core.statistics.pscHits == 1)

        #expect(!machine.core.l1i.holds(T.unmapped, pcid: pcid))
        #expect(machine.core.l1i.holds(T.unmapped, pcid: other))
        #expect(machine.core.l1i.holds(T.address, pcid: pcid))
        #expect(machine.core.pdeCache.lookup(T.unmapped, pcid: pcid) == nil)
        #expect(machine.core.pdeCache.lookup(T.unmapped, pcid: other) != nil)
        #expect(machine.core.pml4eCache.lookup(T.unmapped, pcid: pcid) == nil)
        #expect(machine.core.pml4eCache.lookup(elsewhere, pcid: pcid) != nil)
    }

    // MARK: INVLPG, flushes and CR3

    @Test func invalidatePageDropsThePagesEntriesAndEveryPSCEntryOfThePCID() {
        var machine = CoreUnderTest()
        let pcid = CoreUnderTest.pcid, other = PCID(2)
        machine.access(T.address)
        machine.access(T.neighbour)
        machine.core.pml4eCache.insert(VirtualAddress(1 << 39), table: FrameNumber(9), rights: .all, pcid: other)
        // A PDE-cache entry of PCID 1 for another 2 MiB region, far from the page.
        let otherRegion = VirtualAddress(0x0000_1274_5680_0000)
        machine.core.pdeCache.insert(otherRegion, table: FrameNumber(8), rights: .all, pcid: pcid)
        #expect(machine.pscOccupancy == [2, 1, 2])
        let before = machine.core.clock

        machine.core.invalidatePage(T.address, pcid: pcid)
        #expect(machine.core.clock - before == 100_000)
        #expect(machine.core.account[.kernel] == 100_000)
        #expect(machine.core.statistics.invlpgs == 1)
        #expect(!machine.core.l1d.holds(T.address, pcid: pcid))
        #expect(!machine.core.l2.holds(T.address, pcid: pcid))
        #expect(machine.core.l1d.holds(T.neighbour, pcid: pcid))
        #expect(machine.core.l2.holds(T.neighbour, pcid: pcid))
        // Every PSC entry of PCID 1 goes, whatever its address; PCID 2's stays.
        #expect(machine.pscOccupancy == [1, 0, 0])
        #expect(machine.core.pdeCache.lookup(otherRegion, pcid: pcid) == nil)
        #expect(machine.core.pml4eCache.lookup(VirtualAddress(1 << 39), pcid: other) != nil)
        // The next access to the page walks all four levels again.
        let (_, cycles) = machine.access(T.address)
        #expect(cycles == 1 + 10 + 100 + 4 * 1_000)
        #expect(machine.categoriesSum == machine.core.clock)
    }

    @Test func invalidatePageAlsoDropsTheInstructionTLBsEntry() {
        var machine = CoreUnderTest()
        machine.access(T.address, .fetch)
        #expect(machine.core.l1i.holds(T.address, pcid: CoreUnderTest.pcid))
        machine.core.invalidatePage(T.address, pcid: CoreUnderTest.pcid)
        #expect(!machine.core.l1i.holds(T.address, pcid: CoreUnderTest.pcid))
        #expect(!machine.core.caches(T.address, pcid: CoreUnderTest.pcid))
    }

    @Test func aFullFlushDropsTheNonGlobalEntriesOfThePCID() {
        var machine = CoreUnderTest()
        let pcid = CoreUnderTest.pcid
        machine.access(T.address)
        let global = Translation(frame: FrameNumber(7), size: .size4K, rights: [.user, .global])
        machine.core.l2.insert(VirtualAddress(0x7000), global, pcid: pcid)
        let before = machine.core.clock
        machine.core.flush(pcid: pcid)
        #expect(machine.core.clock - before == 1_000_000)
        #expect(machine.core.statistics.tlbFlushes == 1)
        #expect(!machine.core.caches(T.address, pcid: pcid))
        #expect(machine.core.l2.holds(VirtualAddress(0x7000), pcid: pcid))
        #expect(machine.pscOccupancy == [0, 0, 0])
    }

    @Test func aCR3WriteWithPCIDsOffFlushesNonGlobalEntries() {
        var machine = CoreUnderTest(pcidEnabled: false)
        #expect(machine.core.statistics.tlbFlushes == 1)  // the first load
        machine.access(T.address)
        let global = Translation(frame: FrameNumber(7), size: .size4K, rights: [.user, .global])
        machine.core.l1d.insert(VirtualAddress(0x7000), global, pcid: .none)
        let before = machine.core.clock

        machine.core.loadCR3(ControlRegister3(pml4: FrameNumber(5), pcid: .none))
        #expect(machine.core.statistics.tlbFlushes == 2)
        #expect(machine.core.clock == before)  // its cost is part of cost.switch
        #expect(!machine.core.caches(T.address, pcid: .none))
        #expect(machine.pscOccupancy == [0, 0, 0])
        #expect(machine.core.l1d.holds(VirtualAddress(0x7000), pcid: .none))
    }

    @Test func aCR3WriteWithPCIDsOnKeepsEveryEntry() {
        var machine = CoreUnderTest()
        machine.access(T.address)
        machine.core.loadCR3(ControlRegister3(pml4: FrameNumber(5), pcid: PCID(2)))
        #expect(machine.core.l1d.holds(T.address, pcid: CoreUnderTest.pcid))
        #expect(machine.pscOccupancy == [1, 1, 1])
        machine.core.loadCR3(ControlRegister3(pml4: T.pml4, pcid: CoreUnderTest.pcid))
        #expect(machine.core.statistics.tlbFlushes == 0)
        let (_, cycles) = machine.access(T.address)
        #expect(cycles == 1)
        #expect(machine.core.statistics.walks == 1)
    }

    @Test func anotherPCIDsEntriesAreNotUsed() {
        var machine = CoreUnderTest()
        machine.access(T.address)
        machine.core.loadCR3(ControlRegister3(pml4: T.pml4, pcid: PCID(2)))
        let (_, cycles) = machine.access(T.address)
        #expect(cycles == 1 + 10 + 100 + 4 * 1_000)
        #expect(machine.core.statistics.walks == 2)
    }

    // MARK: Fetches

    @Test func fetchesUseTheInstructionTLB() {
        var machine = CoreUnderTest()
        let (outcome, first) = machine.access(T.address, .fetch)
        #expect(physical(outcome) == 0x567_8ABC)
        #expect(first == 1 + 10 + 100 + 4 * 1_000)
        #expect(machine.core.statistics.l1iMisses == 1)
        #expect(machine.core.statistics.l1dMisses == 0)
        #expect(machine.core.l1i.holds(T.address, pcid: CoreUnderTest.pcid))
        #expect(!machine.core.l1d.holds(T.address, pcid: CoreUnderTest.pcid))

        let (_, second) = machine.access(T.address, .fetch)
        #expect(second == 1)
        #expect(machine.core.statistics.l1iHits == 1)
        #expect(machine.core.statistics.l1dHits == 0)

        // A load of the same page misses the L1D and hits the unified L2.
        let (_, load) = machine.access(T.address, .read)
        #expect(load == 1 + 10)
        #expect(machine.core.statistics.l1dMisses == 1)
        #expect(machine.core.statistics.l2Hits == 1)
    }

    @Test func aFetchFromANoExecutePageFaultsWithInstructionFetchSet() {
        var machine = CoreUnderTest(leaf: T.dataFlags.union(.noExecute))
        let (outcome, _) = machine.access(T.address, .fetch)
        #expect(faultCode(outcome) == 0b1_0101)  // protection, user, instruction fetch
        #expect(machine.core.statistics.l1iMisses == 1)
    }

    // MARK: Disabled TLBs (docs/reference/configuration.md: 0 entries disables a structure)

    @Test func invalidatePageWorksWithoutAnL2TLB() async {
        await #expect(processExitsWith: .success) {
            var geometry = TLBGeometry()
            geometry.l2Entries = 0
            var core = Core(id: CoreID(0), geometry: geometry, costs: CostModel(), pcidEnabled: true)
            core.loadCR3(ControlRegister3(pml4: FrameNumber(1), pcid: PCID(1)))
            core.invalidatePage(VirtualAddress(0x1000), pcid: PCID(1))
        }
    }

    @Test func aPageFaultWorksWithoutAnL2TLB() async {
        await #expect(processExitsWith: .success) {
            var geometry = TLBGeometry()
            geometry.l2Entries = 0
            var core = Core(id: CoreID(0), geometry: geometry, costs: CostModel(), pcidEnabled: true)
            var memory = PhysicalMemory(frameCount: 4)
            core.loadCR3(ControlRegister3(pml4: FrameNumber(1), pcid: PCID(1)))
            guard case .pageFault = core.translate(VirtualAddress(0x1000), .read, memory: &memory) else {
                fatalError("an empty PML4 translated")
            }
        }
    }

    @Test func aTranslationWorksWithoutAnL1DataTLB() async {
        await #expect(processExitsWith: .success) {
            var geometry = TLBGeometry()
            geometry.l1dEntries = 0
            var core = Core(id: CoreID(0), geometry: geometry, costs: CostModel(), pcidEnabled: true)
            var memory = PhysicalMemory(frameCount: 4)
            core.loadCR3(ControlRegister3(pml4: FrameNumber(1), pcid: PCID(1)))
            _ = core.translate(VirtualAddress(0x1000), .read, memory: &memory)
            core.invalidatePage(VirtualAddress(0x1000), pcid: PCID(1))
        }
    }
}
