import Testing
@testable import MMUHardware

@Suite("TranslationLookasideBuffer")
struct TranslationLookasideBufferTests {
    typealias TLB = TranslationLookasideBuffer
    static let rw: AccessRights = [.writable, .user, .executable, .dirty]
    static let readOnly: AccessRights = [.user, .executable]
    let pcid1 = PCID(1)
    let pcid2 = PCID(2)

    /// A 4 KiB page's address from its page number.
    func page(_ number: UInt64) -> VirtualAddress { VirtualAddress(number << 12) }
    func translation(_ frame: UInt64, _ rights: AccessRights = rw, _ size: PageSize = .size4K) -> Translation {
        Translation(frame: FrameNumber(frame), size: size, rights: rights)
    }
    func hits(_ tlb: inout TLB, _ address: VirtualAddress, _ pcid: PCID, _ kind: AccessKind = .read) -> Translation? {
        if case .hit(let t) = tlb.lookup(address, pcid: pcid, for: kind) { return t }
        return nil
    }
    func isMiss(_ lookup: TLB.Lookup) -> Bool { if case .miss = lookup { return true }; return false }
    func isDropped(_ lookup: TLB.Lookup) -> Bool { if case .dropped = lookup { return true }; return false }

    @Test func anInsertedTranslationHitsWithItsFrameAndRights() {
        var tlb = TLB(entries: 8, ways: 2)
        #expect(isMiss(tlb.lookup(page(0x10), pcid: pcid1, for: .read)))
        tlb.insert(VirtualAddress(0x10_123), translation(0x777), pcid: pcid1)
        let hit = hits(&tlb, VirtualAddress(0x10_FF8), pcid1)
        #expect(hit == translation(0x777))
        #expect(hit?.physicalAddress(of: VirtualAddress(0x10_FF8)).rawValue == 0x77_7FF8)
        #expect(isMiss(tlb.lookup(page(0x11), pcid: pcid1, for: .read)))
        #expect(tlb.occupancy == 1)
    }

    @Test func theGeometryIsEntriesDividedIntoSetsOfWays() {
        let tlb = TLB(entries: 64, ways: 4)
        #expect(tlb.sets == 16)
        #expect(tlb.ways == 4)
        #expect(tlb.isEnabled)
    }

    // MARK: PCIDs

    @Test func anEntryHitsOnlyUnderItsOwnPCID() {
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(page(0x10), translation(0x100), pcid: pcid1)
        #expect(isMiss(tlb.lookup(page(0x10), pcid: pcid2, for: .read)))
        tlb.insert(page(0x10), translation(0x200), pcid: pcid2)
        #expect(hits(&tlb, page(0x10), pcid1)?.frame == FrameNumber(0x100))
        #expect(hits(&tlb, page(0x10), pcid2)?.frame == FrameNumber(0x200))
    }

    @Test func aGlobalEntryHitsUnderEveryPCID() {
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(page(0x10), translation(0x100, Self.rw.union(.global)), pcid: pcid1)
        #expect(hits(&tlb, page(0x10), pcid2)?.frame == FrameNumber(0x100))
        #expect(hits(&tlb, page(0x10), PCID(4095))?.frame == FrameNumber(0x100))
    }

    // MARK: Sets and LRU

    @Test func theSetIsThePageNumberModuloTheSetsAndItsLRUEntryIsEvicted() {
        // 8 entries, 2 ways: 4 sets. Pages 0x10, 0x14, 0x18 all fall in set 0.
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(page(0x10), translation(0x10), pcid: pcid1)
        tlb.insert(page(0x11), translation(0x11), pcid: pcid1)  // set 1
        tlb.insert(page(0x14), translation(0x14), pcid: pcid1)
        tlb.insert(page(0x18), translation(0x18), pcid: pcid1)
        #expect(!tlb.holds(page(0x10), pcid: pcid1))
        #expect(tlb.holds(page(0x14), pcid: pcid1))
        #expect(tlb.holds(page(0x18), pcid: pcid1))
        #expect(tlb.holds(page(0x11), pcid: pcid1))
        #expect(tlb.occupancy == 3)
    }

    @Test func aLookupMakesAnEntryTheMostRecentlyUsed() {
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(page(0x10), translation(0x10), pcid: pcid1)
        tlb.insert(page(0x14), translation(0x14), pcid: pcid1)
        #expect(hits(&tlb, page(0x10), pcid1) != nil)
        tlb.insert(page(0x18), translation(0x18), pcid: pcid1)
        #expect(tlb.holds(page(0x10), pcid: pcid1))
        #expect(!tlb.holds(page(0x14), pcid: pcid1))
        #expect(tlb.holds(page(0x18), pcid: pcid1))
    }

    @Test func trueLRUEvictsTheLeastRecentlyUsedOfFourWays() {
        // 4 entries, 4 ways: one set.
        var tlb = TLB(entries: 4, ways: 4)
        for p: UInt64 in 1...4 { tlb.insert(page(p), translation(p), pcid: pcid1) }
        // Use order now: 3, 1, 4, 2 (page 3 least recent).
        for p: UInt64 in [3, 1, 4, 2] { _ = hits(&tlb, page(p), pcid1) }
        tlb.insert(page(5), translation(5), pcid: pcid1)
        #expect(!tlb.holds(page(3), pcid: pcid1))
        tlb.insert(page(6), translation(6), pcid: pcid1)
        #expect(!tlb.holds(page(1), pcid: pcid1))
        #expect(tlb.holds(page(4), pcid: pcid1))
        #expect(tlb.holds(page(2), pcid: pcid1))
    }

    @Test func thePCIDIsNotHashedIntoTheSetIndex() {
        // The same page under two PCIDs shares set 0 with page 0x14.
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(page(0x10), translation(0x100), pcid: pcid1)
        tlb.insert(page(0x10), translation(0x200), pcid: pcid2)
        tlb.insert(page(0x14), translation(0x14), pcid: pcid1)
        #expect(!tlb.holds(page(0x10), pcid: pcid1))
        #expect(tlb.holds(page(0x10), pcid: pcid2))
        #expect(tlb.holds(page(0x14), pcid: pcid1))
    }

    @Test func reinsertingAPageReplacesItsEntryInPlace() {
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(page(0x10), translation(0x10), pcid: pcid1)
        tlb.insert(page(0x14), translation(0x14), pcid: pcid1)
        tlb.insert(page(0x10), translation(0x99), pcid: pcid1)
        #expect(tlb.occupancy == 2)
        #expect(tlb.holds(page(0x14), pcid: pcid1))
        #expect(hits(&tlb, page(0x10), pcid1)?.frame == FrameNumber(0x99))
    }

    @Test func aLargeEntryIsIndexedByItsPageNumberAtItsSize() {
        // 4 sets of 2 ways. The 2 MiB page at 0x40_0000 is 2 MiB page number 2: set 2.
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(page(2), translation(2), pcid: pcid1)   // 4 KiB page 2: set 2
        tlb.insert(page(6), translation(6), pcid: pcid1)   // 4 KiB page 6: set 2
        tlb.insert(page(3), translation(3), pcid: pcid1)   // set 3
        tlb.insert(VirtualAddress(0x40_0000), translation(0x200, Self.rw, .size2M), pcid: pcid1)
        #expect(!tlb.holds(page(2), pcid: pcid1))
        #expect(tlb.holds(page(6), pcid: pcid1))
        #expect(tlb.holds(page(3), pcid: pcid1))
        // Any address in the 2 MiB page hits, with the offset carried through.
        let hit = hits(&tlb, VirtualAddress(0x5F_FFF8), pcid1)
        #expect(hit?.size == .size2M)
        #expect(hit?.physicalAddress(of: VirtualAddress(0x5F_FFF8)).rawValue == 0x3F_FFF8)
        #expect(!tlb.holds(VirtualAddress(0x60_0000), pcid: pcid1))
    }

    @Test func a1GiBEntryCoversItsWholeGibibyte() {
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(VirtualAddress(0x4000_0000), translation(0xC0000, Self.rw, .size1G), pcid: pcid1)
        let hit = hits(&tlb, VirtualAddress(0x7FFF_FFF8), pcid1)
        #expect(hit?.physicalAddress(of: VirtualAddress(0x7FFF_FFF8)).rawValue == 0xFFFF_FFF8)
        #expect(!tlb.holds(VirtualAddress(0x8000_0000), pcid: pcid1))
        #expect(!tlb.holds(VirtualAddress(0x3FFF_F000), pcid: pcid1))
    }

    // MARK: Entries that do not permit the access

    @Test func aWriteToAReadOnlyEntryIsDroppedAndTheEntryGone() {
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(page(0x10), translation(0x10, Self.readOnly), pcid: pcid1)
        #expect(isDropped(tlb.lookup(page(0x10), pcid: pcid1, for: .write)))
        #expect(isMiss(tlb.lookup(page(0x10), pcid: pcid1, for: .read)))
        #expect(tlb.occupancy == 0)
    }

    @Test func aWriteToACleanEntryIsDroppedAndTheEntryGone() {
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(page(0x10), translation(0x10, [.writable, .user, .executable]), pcid: pcid1)
        #expect(isDropped(tlb.lookup(page(0x10), pcid: pcid1, for: .write)))
        #expect(!tlb.holds(page(0x10), pcid: pcid1))
    }

    @Test func aReadOfAReadOnlyOrCleanEntryHits() {
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(page(0x10), translation(0x10, Self.readOnly), pcid: pcid1)
        tlb.insert(page(0x11), translation(0x11, [.writable, .user, .executable]), pcid: pcid1)
        #expect(hits(&tlb, page(0x10), pcid1) != nil)
        #expect(hits(&tlb, page(0x11), pcid1) != nil)
        #expect(hits(&tlb, page(0x10), pcid1, .fetch) != nil)
    }

    @Test func aWriteToAWritableDirtyEntryHits() {
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(page(0x10), translation(0x10), pcid: pcid1)
        #expect(hits(&tlb, page(0x10), pcid1, .write) != nil)
    }

    @Test func aFetchFromANonExecutableEntryIsDropped() {
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(page(0x10), translation(0x10, [.writable, .user, .dirty]), pcid: pcid1)
        #expect(hits(&tlb, page(0x10), pcid1, .read) != nil)
        #expect(isDropped(tlb.lookup(page(0x10), pcid: pcid1, for: .fetch)))
        #expect(!tlb.holds(page(0x10), pcid: pcid1))
    }

    @Test func aDroppedLargeEntryIsGoneToo() {
        var tlb = TLB(entries: 8, ways: 2)
        tlb.insert(VirtualAddress(0x40_0000), translation(0x200, Self.readOnly, .size2M), pcid: pcid1)
        #expect(isDropped(tlb.lookup(VirtualAddress(0x40_1000), pcid: pcid1, for: .write)))
        #expect(isMiss(tlb.lookup(VirtualAddress(0x40_0000), pcid: pcid1, for: .read)))
    }

    // MARK: Invalidation

    @Test func invalidatingAnAddressDropsThe4KiBAnd2MiBEntriesCoveringIt() {
        var tlb = TLB(entries: 16, ways: 4)
        let address = VirtualAddress(0x40_1000)
        tlb.insert(address, translation(0x401), pcid: pcid1)
        tlb.insert(VirtualAddress(0x40_0000), translation(0x200, Self.rw, .size2M), pcid: pcid1)
        tlb.insert(VirtualAddress(0x40_2000), translation(0x402), pcid: pcid1)
        tlb.insert(address, translation(0x801), pcid: pcid2)
        tlb.invalidate(address, pcid: pcid1)
        #expect(isMiss(tlb.lookup(address, pcid: pcid1, for: .read)))
        // The 2 MiB entry is gone: 0x40_3000 is no longer covered.
        #expect(!tlb.holds(VirtualAddress(0x40_3000), pcid: pcid1))
        #expect(hits(&tlb, VirtualAddress(0x40_2000), pcid1)?.frame == FrameNumber(0x402))
        #expect(hits(&tlb, address, pcid2)?.frame == FrameNumber(0x801))
    }

    @Test func invalidatingAnAddressDropsA1GiBEntryCoveringIt() {
        var tlb = TLB(entries: 16, ways: 4)
        tlb.insert(VirtualAddress(0x4000_0000), translation(0xC0000, Self.rw, .size1G), pcid: pcid1)
        tlb.invalidate(VirtualAddress(0x5555_5000), pcid: pcid1)
        #expect(!tlb.holds(VirtualAddress(0x4000_0000), pcid: pcid1))
        #expect(tlb.occupancy == 0)
    }

    @Test func invalidatingAnAddressDropsItsGlobalEntryUnlessAskedNotTo() {
        var tlb = TLB(entries: 16, ways: 4)
        tlb.insert(page(0x10), translation(0x10, Self.rw.union(.global)), pcid: pcid2)
        tlb.invalidate(page(0x10), pcid: pcid1, includeGlobal: false)
        #expect(tlb.holds(page(0x10), pcid: pcid1))
        tlb.invalidate(page(0x10), pcid: pcid1)
        #expect(!tlb.holds(page(0x10), pcid: pcid2))
    }

    @Test func flushingAPCIDKeepsGlobalEntriesAndOtherPCIDs() {
        var tlb = TLB(entries: 16, ways: 4)
        tlb.insert(page(0x10), translation(0x10), pcid: pcid1)
        tlb.insert(VirtualAddress(0x40_0000), translation(0x200, Self.rw, .size2M), pcid: pcid1)
        tlb.insert(page(0x11), translation(0x11, Self.rw.union(.global)), pcid: pcid1)
        tlb.insert(page(0x12), translation(0x12), pcid: pcid2)
        tlb.flush(pcid: pcid1)
        #expect(!tlb.holds(page(0x10), pcid: pcid1))
        #expect(!tlb.holds(VirtualAddress(0x40_0000), pcid: pcid1))
        #expect(tlb.holds(page(0x11), pcid: pcid1))
        #expect(tlb.holds(page(0x12), pcid: pcid2))
        #expect(tlb.occupancy == 2)
    }

    @Test func flushingEveryPCIDStillKeepsGlobalEntries() {
        var tlb = TLB(entries: 16, ways: 4)
        tlb.insert(page(0x10), translation(0x10), pcid: pcid1)
        tlb.insert(page(0x11), translation(0x11, Self.rw.union(.global)), pcid: pcid1)
        tlb.insert(page(0x12), translation(0x12), pcid: pcid2)
        tlb.flush(pcid: nil)
        #expect(tlb.occupancy == 1)
        #expect(tlb.holds(page(0x11), pcid: pcid2))
        tlb.flush(pcid: nil, includeGlobal: true)
        #expect(tlb.occupancy == 0)
    }

    // MARK: Disabled

    @Test func aZeroEntryTLBHoldsNothing() {
        var tlb = TLB(entries: 0, ways: 4)
        #expect(!tlb.isEnabled)
        tlb.insert(page(0x10), translation(0x10), pcid: pcid1)
        #expect(tlb.occupancy == 0)
        tlb.flush(pcid: nil)
    }

    /// docs/reference/configuration.md: 0 entries disables a TLB. Its lookups must miss, not trap; run
    /// in a child process so that a trap fails this test instead of the run.
    @Test func aZeroEntryTLBNeverHits() async {
        await #expect(processExitsWith: .success) {
            var tlb = TranslationLookasideBuffer(entries: 0, ways: 4)
            let address = VirtualAddress(0x10_000)
            tlb.insert(address, Translation(frame: FrameNumber(1), size: .size4K, rights: .all), pcid: PCID(1))
            guard case .miss = tlb.lookup(address, pcid: PCID(1), for: .read) else { fatalError("a disabled TLB hit") }
        }
    }

    @Test func aZeroEntryTLBCanBeInvalidated() async {
        await #expect(processExitsWith: .success) {
            var tlb = TranslationLookasideBuffer(entries: 0, ways: 4)
            tlb.invalidate(VirtualAddress(0x10_000), pcid: PCID(1))
            if tlb.holds(VirtualAddress(0x10_000), pcid: PCID(1)) { fatalError("a disabled TLB holds an entry") }
        }
    }

    /// Found by fuzzing: a 2 MiB page cached as 4 KiB pieces (its own array
    /// has no entries) kept a stale piece after INVLPG of another address in
    /// the same 2 MiB. INVLPG drops every entry for the page (SDM 4.10.4.1).
    @Test func invlpgAnywhereInALargePageDropsEveryPieceOfIt() {
        var tlb = TLB(entries: 16, ways: 4)
        let huge = translation(0x200, Self.rw, .size2M)
        let base: UInt64 = 0x40_0000
        for piece in [UInt64(1), 3, 7] {
            tlb.insert(VirtualAddress(base + piece << 12), huge.fractured(at: VirtualAddress(base + piece << 12)), pcid: pcid1)
        }
        // A plain 4 KiB entry in the same 2 MiB, and a piece of another 2 MiB page, stay.
        tlb.insert(VirtualAddress(base + 0x9000), translation(0x999), pcid: pcid1)
        tlb.insert(VirtualAddress(base + 0x20_1000), translation(0x400, Self.rw, .size2M).fractured(at: VirtualAddress(base + 0x20_1000)), pcid: pcid1)
        #expect(hits(&tlb, VirtualAddress(base + 0x1000), pcid1)?.origin == .size2M)
        tlb.invalidate(VirtualAddress(base + 0x3000 + 8), pcid: pcid1)
        for piece in [UInt64(1), 3, 7] { #expect(hits(&tlb, VirtualAddress(base + piece << 12), pcid1) == nil, "piece \(piece)") }
        #expect(hits(&tlb, VirtualAddress(base + 0x9000), pcid1) != nil)
        #expect(hits(&tlb, VirtualAddress(base + 0x20_1000), pcid1) != nil)
        // Another PCID's pieces are not its to drop.
        tlb.insert(VirtualAddress(base + 0x5000), huge.fractured(at: VirtualAddress(base + 0x5000)), pcid: pcid2)
        tlb.invalidate(VirtualAddress(base), pcid: pcid1)
        #expect(hits(&tlb, VirtualAddress(base + 0x5000), pcid2) != nil)
    }
}
