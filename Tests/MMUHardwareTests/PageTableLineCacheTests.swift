import Testing
@testable import MMUHardware

@Suite("Page-table line cache")
struct PageTableLineCacheTests {
    func geometry(l1d: Int = 8, l2: Int = 32, llc: Int = 128) -> TLBGeometry {
        var geometry = TLBGeometry()
        geometry.pageTableLinesL1D = l1d
        geometry.pageTableLinesL2 = l2
        geometry.pageTableLinesLLC = llc
        return geometry
    }

    @Test("a cold line comes from DRAM, then hits L1D")
    func coldThenHot() {
        var cache = PageTableLineCache(geometry: geometry())
        #expect(cache.read(100) == .dram)
        #expect(cache.read(100) == .l1d)
    }

    @Test("entries of one 64-byte line share it; the next line is another")
    func lineGranularity() {
        let frame = FrameNumber(3)
        #expect(PageTableLineCache.line(frame, 0) == PageTableLineCache.line(frame, 7))
        #expect(PageTableLineCache.line(frame, 8) == PageTableLineCache.line(frame, 0) + 1)
        #expect(PageTableLineCache.line(FrameNumber(4), 0) == PageTableLineCache.line(frame, 0) + 64)
    }

    @Test("a line evicted from L1D is found in L2, then in the LLC, then only in DRAM")
    func levels() {
        var cache = PageTableLineCache(geometry: geometry(l1d: 8, l2: 32, llc: 128))
        _ = cache.read(0)
        // 8 more lines mapping to every L1D set evict line 0 from the 8-line, 8-way L1D.
        for line in 1...8 { _ = cache.read(UInt64(line)) }
        #expect(cache.read(0) == .l2)
        var fresh = PageTableLineCache(geometry: geometry(l1d: 8, l2: 32, llc: 128))
        _ = fresh.read(0)
        for line in 1...64 { _ = fresh.read(UInt64(line)) }
        #expect(fresh.read(0) == .llc)
        var evicted = PageTableLineCache(geometry: geometry(l1d: 8, l2: 32, llc: 128))
        _ = evicted.read(0)
        for line in 1...200 { _ = evicted.read(UInt64(line)) }
        #expect(evicted.read(0) == .dram)
    }

    @Test("a kernel store brings the line into every level")
    func storeFills() {
        var cache = PageTableLineCache(geometry: geometry())
        cache.write(42)
        #expect(cache.read(42) == .l1d)
    }

    @Test("without cost.walk.ref a walk charges each reference by where its line hits; with it, flat")
    func coreCharges() {
        var memory = PhysicalMemory(frameCount: 64)
        // PML4 in frame 1 -> PDPT 2 -> PD 3 -> PT 4 -> data frame 5 at VA 0.
        let flags: PageTableEntry.Flags = [.present, .writable, .user, .accessed]
        for (table, next) in [(1, 2), (2, 3), (3, 4)] {
            memory.writeEntry(FrameNumber(UInt64(table)), 0, PageTableEntry(frame: FrameNumber(UInt64(next)), flags: flags))
        }
        memory.writeEntry(FrameNumber(4), 0, PageTableEntry(frame: FrameNumber(5), flags: flags.union(.dirty)))
        var costs = CostModel()
        var geometry = TLBGeometry()
        geometry.pml4eCacheEntries = 0
        geometry.pdpteCacheEntries = 0
        geometry.pdeCacheEntries = 0
        var core = Core(id: CoreID(0), geometry: geometry, costs: costs, pcidEnabled: true)
        core.loadCR3(ControlRegister3(pml4: FrameNumber(1), pcid: PCID(1)))
        _ = core.translate(VirtualAddress(0), .read, memory: &memory)
        #expect(core.account[.walk] == 4 * costs[.walkDRAM])
        core.invalidatePage(VirtualAddress(0), pcid: PCID(1))
        let before = core.account[.walk]
        _ = core.translate(VirtualAddress(0), .read, memory: &memory)
        #expect(core.account[.walk] - before == 4 * costs[.walkL1D])

        costs[.walkRef] = 33
        var flat = Core(id: CoreID(0), geometry: geometry, costs: costs, pcidEnabled: true)
        flat.loadCR3(ControlRegister3(pml4: FrameNumber(1), pcid: PCID(1)))
        _ = flat.translate(VirtualAddress(0), .read, memory: &memory)
        #expect(flat.account[.walk] == 4 * 33)
    }
}
