import Testing
@testable import MMUHardware

@Suite("VirtualAddress")
struct VirtualAddressTests {
    /// SDM 3.3.7.1: bits 63:47 must all be equal.
    @Test("canonical addresses", arguments: [
        (UInt64(0x0000_0000_0000_0000), true),
        (0x0000_7FFF_FFFF_FFFF, true),
        (0x0000_8000_0000_0000, false),
        (0x7FFF_FFFF_FFFF_FFFF, false),
        (0x8000_0000_0000_0000, false),
        (0xFFFF_7FFF_FFFF_FFFF, false),
        (0xFFFF_8000_0000_0000, true),
        (0xFFFF_FFFF_FFFF_FFFF, true),
        (0x0001_0000_0000_0000, false),
    ])
    func canonicalAddresses(raw: UInt64, canonical: Bool) {
        #expect(VirtualAddress(raw).isCanonical == canonical)
    }

    /// Five-level paging (SDM 4.5.1): bits 63:56 must all be equal.
    @Test("canonical addresses with five levels", arguments: [
        (UInt64(0x00FF_FFFF_FFFF_FFFF), true),
        (0x0100_0000_0000_0000, false),
        (0x0000_8000_0000_0000, true),
        (0xFF00_0000_0000_0000, true),
        (0xFEFF_FFFF_FFFF_FFFF, false),
        (0x8000_0000_0000_0000, false),
        (0x7F00_0000_0000_0000, false),
    ])
    func canonicalWithFiveLevels(raw: UInt64, canonical: Bool) {
        #expect(VirtualAddress(raw).isCanonical(topBit: 56) == canonical)
    }

    @Test func eachLevelsIndexIsItsNineBitsOfTheAddress() {
        // Composed by hand: 0x24 << 39 | 0x1D1 << 30 | 0xB3 << 21 | 0x145 << 12 | 0xABC.
        let address = VirtualAddress(0x0000_1274_5674_5ABC)
        #expect(address.index(at: .pml4) == 0x24)
        #expect(address.index(at: .pdpt) == 0x1D1)
        #expect(address.index(at: .pd) == 0xB3)
        #expect(address.index(at: .pt) == 0x145)
        #expect(address.pageOffset == 0xABC)
        #expect(address.pageNumber == 0x1_2745_6745)
        #expect(!address.isPageAligned)
    }

    @Test func theTopIndexOfAKernelHalfAddressIgnoresTheSignExtension() {
        let address = VirtualAddress(0xFFFF_FFFF_FFFF_F000)
        #expect(address.index(at: .pml4) == 0x1FF)
        #expect(address.index(at: .pdpt) == 0x1FF)
        #expect(address.index(at: .pd) == 0x1FF)
        #expect(address.index(at: .pt) == 0x1FF)
        #expect(address.isPageAligned)
        #expect(VirtualAddress(0xFFFF_8000_0000_0000).index(at: .pml4) == 0x100)
    }

    @Test func levelsShiftByNineBitsAboveTheTwelveBitOffset() {
        #expect(PagingLevel.pml4.indexShift == 39)
        #expect(PagingLevel.pdpt.indexShift == 30)
        #expect(PagingLevel.pd.indexShift == 21)
        #expect(PagingLevel.pt.indexShift == 12)
        #expect(PagingLevel.pml4.below == .pdpt)
        #expect(PagingLevel.pt.below == nil)
        #expect(PagingLevel.pml4.leafSize == nil)
        #expect(PagingLevel.pdpt.leafSize == .size1G)
        #expect(PagingLevel.pd.leafSize == .size2M)
        #expect(PagingLevel.pt.leafSize == .size4K)
        #expect(PageSize.size2M.bytes == 0x20_0000)
        #expect(PageSize.size1G.bytes == 0x4000_0000)
    }

    @Test func aPhysicalAddressSplitsIntoFrameAndOffset() {
        let address = PhysicalAddress(frame: FrameNumber(0x5678), offset: 0xABC)
        #expect(address.rawValue == 0x567_8ABC)
        #expect(address.frame == FrameNumber(0x5678))
        #expect(address.offset == 0xABC)
        #expect(FrameNumber(3).address.rawValue == 0x3000)
    }
}
