import Testing
@testable import MMUHardware

@Suite("PagingStructureCache")
struct PagingStructureCacheTests {
    typealias PSC = PagingStructureCache
    let pcid1 = PCID(1)
    let pcid2 = PCID(2)
    /// PML4 0x24, PDPT 0x1D1, PD 0xB3, PT 0x145, offset 0xABC (composed by hand).
    let address = VirtualAddress(0x0000_1274_5674_5ABC)

    @Test func eachCacheIsKeyedByTheAddressBitsAboveItsLevel() {
        // VA[47:39] = 0x24; VA[47:30] = 0x24 << 9 | 0x1D1; VA[47:21] = that << 9 | 0xB3.
        #expect(PSC(level: .pml4, entries: 2).key(of: address) == 0x24)
        #expect(PSC(level: .pdpt, entries: 2).key(of: address) == 0x49D1)
        #expect(PSC(level: .pd, entries: 2).key(of: address) == 0x93_A2B3)
    }

    @Test func theKeyIgnoresTheSignExtensionAboveBit47() {
        let cache = PSC(level: .pml4, entries: 2)
        #expect(cache.key(of: VirtualAddress(0xFFFF_8000_0000_0000)) == 0x100)
        #expect(cache.key(of: VirtualAddress(0xFFFF_FFFF_FFFF_FFFF)) == 0x1FF)
    }

    @Test func addressesSharingTheKeyShareTheEntry() {
        var cache = PSC(level: .pd, entries: 2)
        cache.insert(address, table: FrameNumber(4), rights: [.user, .executable], pcid: pcid1)
        // Same 2 MiB region (PT index and offset differ).
        let hit = cache.lookup(VirtualAddress(0x0000_1274_5660_0000), pcid: pcid1)
        #expect(hit?.table == FrameNumber(4))
        #expect(hit?.rights == [.user, .executable])
        // Next 2 MiB region.
        #expect(cache.lookup(VirtualAddress(0x0000_1274_5680_0000), pcid: pcid1) == nil)
    }

    @Test func aFullCacheEvictsItsLeastRecentlyUsedEntry() {
        var cache = PSC(level: .pml4, entries: 2)
        let a = VirtualAddress(1 << 39), b = VirtualAddress(2 << 39), c = VirtualAddress(3 << 39)
        cache.insert(a, table: FrameNumber(10), rights: .all, pcid: pcid1)
        cache.insert(b, table: FrameNumber(11), rights: .all, pcid: pcid1)
        cache.insert(c, table: FrameNumber(12), rights: .all, pcid: pcid1)
        #expect(cache.lookup(a, pcid: pcid1) == nil)
        #expect(cache.lookup(b, pcid: pcid1)?.table == FrameNumber(11))
        #expect(cache.lookup(c, pcid: pcid1)?.table == FrameNumber(12))
        #expect(cache.occupancy == 2)
    }

    @Test func aLookupMakesAnEntryTheMostRecentlyUsed() {
        var cache = PSC(level: .pml4, entries: 2)
        let a = VirtualAddress(1 << 39), b = VirtualAddress(2 << 39), c = VirtualAddress(3 << 39)
        cache.insert(a, table: FrameNumber(10), rights: .all, pcid: pcid1)
        cache.insert(b, table: FrameNumber(11), rights: .all, pcid: pcid1)
        #expect(cache.lookup(a, pcid: pcid1) != nil)
        cache.insert(c, table: FrameNumber(12), rights: .all, pcid: pcid1)
        #expect(cache.lookup(a, pcid: pcid1)?.table == FrameNumber(10))
        #expect(cache.lookup(b, pcid: pcid1) == nil)
    }

    @Test func reinsertingAKeyReplacesItsEntryInPlace() {
        var cache = PSC(level: .pml4, entries: 2)
        let a = VirtualAddress(1 << 39), b = VirtualAddress(2 << 39)
        cache.insert(a, table: FrameNumber(10), rights: .all, pcid: pcid1)
        cache.insert(b, table: FrameNumber(11), rights: .all, pcid: pcid1)
        cache.insert(a, table: FrameNumber(20), rights: [.user], pcid: pcid1)
        #expect(cache.occupancy == 2)
        #expect(cache.lookup(a, pcid: pcid1)?.table == FrameNumber(20))
        #expect(cache.lookup(b, pcid: pcid1)?.table == FrameNumber(11))
    }

    @Test func anEntryIsUsedOnlyUnderItsPCID() {
        var cache = PSC(level: .pdpt, entries: 4)
        cache.insert(address, table: FrameNumber(3), rights: .all, pcid: pcid1)
        #expect(cache.lookup(address, pcid: pcid2) == nil)
        cache.insert(address, table: FrameNumber(9), rights: .all, pcid: pcid2)
        #expect(cache.lookup(address, pcid: pcid1)?.table == FrameNumber(3))
        #expect(cache.lookup(address, pcid: pcid2)?.table == FrameNumber(9))
        #expect(cache.occupancy == 2)
    }

    @Test func invalidatingAnAddressDropsOnlyItsEntryUnderThatPCID() {
        var cache = PSC(level: .pd, entries: 4)
        let other = VirtualAddress(0x0000_1274_5680_0000)
        cache.insert(address, table: FrameNumber(3), rights: .all, pcid: pcid1)
        cache.insert(address, table: FrameNumber(9), rights: .all, pcid: pcid2)
        cache.insert(other, table: FrameNumber(5), rights: .all, pcid: pcid1)
        cache.invalidate(VirtualAddress(0x0000_1274_5670_0000), pcid: pcid1)  // same key as `address`
        #expect(cache.lookup(address, pcid: pcid1) == nil)
        #expect(cache.lookup(address, pcid: pcid2)?.table == FrameNumber(9))
        #expect(cache.lookup(other, pcid: pcid1)?.table == FrameNumber(5))
    }

    @Test func flushingAPCIDDropsAllItsEntriesAndNoOthers() {
        var cache = PSC(level: .pd, entries: 4)
        let other = VirtualAddress(0x0000_1274_5680_0000)
        cache.insert(address, table: FrameNumber(3), rights: .all, pcid: pcid1)
        cache.insert(other, table: FrameNumber(5), rights: .all, pcid: pcid1)
        cache.insert(address, table: FrameNumber(9), rights: .all, pcid: pcid2)
        cache.flush(pcid: pcid1)
        #expect(cache.occupancy == 1)
        #expect(cache.lookup(address, pcid: pcid2)?.table == FrameNumber(9))
        cache.flush(pcid: nil)
        #expect(cache.occupancy == 0)
    }

    @Test func aZeroEntryCacheHoldsNothing() {
        var cache = PSC(level: .pd, entries: 0)
        #expect(!cache.isEnabled)
        cache.insert(address, table: FrameNumber(3), rights: .all, pcid: pcid1)
        #expect(cache.lookup(address, pcid: pcid1) == nil)
    }
}
