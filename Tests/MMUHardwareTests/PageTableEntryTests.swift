import Testing
@testable import MMUHardware

@Suite("PageTableEntry")
struct PageTableEntryTests {
    @Test func anEntryIsEightBytesLikeTheHardwareOne() {
        #expect(MemoryLayout<PageTableEntry>.size == 8)
        #expect(MemoryLayout<PageTableEntry>.stride == 8)
    }

    /// SDM vol. 3A tables 4-15 to 4-20; docs/reference/machine.md.
    @Test("each flag sits at its SDM bit", arguments: [
        (PageTableEntry.Flags.present, 0), (.writable, 1), (.user, 2), (.writeThrough, 3),
        (.cacheDisable, 4), (.accessed, 5), (.dirty, 6), (.pageSize, 7), (.global, 8),
        (.copyOnWrite, 9), (.software10, 10), (.software11, 11), (.noExecute, 63),
    ])
    func eachFlagSitsAtItsBit(flag: PageTableEntry.Flags, bit: Int) {
        #expect(flag.rawValue == UInt64(1) << UInt64(bit))
        let entry = PageTableEntry(rawValue: UInt64(1) << UInt64(bit))
        #expect(entry.has(flag))
        #expect(entry.flags == flag)
        #expect(entry.frame == FrameNumber(0))
    }

    @Test func theCopyOnWriteMarkIsSoftwareBitNine() {
        #expect(PageTableEntry.Flags.copyOnWrite.rawValue == 0x200)
    }

    @Test func theFrameAccessorReadsOnlyBits51To12() {
        let allOnes = PageTableEntry(rawValue: .max)
        #expect(allOnes.frame == FrameNumber(0xFF_FFFF_FFFF))  // 40 bits
        #expect(allOnes.flags.rawValue == 0xFFF0_0000_0000_0FFF)
        #expect(PageTableEntry.frameMask == 0x000F_FFFF_FFFF_F000)

        let entry = PageTableEntry(rawValue: 0x8000_0001_2345_6067)
        #expect(entry.frame == FrameNumber(0x1_2345_6))
        #expect(entry.flags == [.present, .writable, .user, .accessed, .dirty, .noExecute])
    }

    @Test func buildingFromFrameAndFlagsPlacesEachWhereItBelongs() {
        let entry = PageTableEntry(frame: FrameNumber(0x5678), flags: [.present, .writable, .noExecute])
        #expect(entry.rawValue == 0x8000_0000_0567_8003)
        #expect(entry.isPresent)
        #expect(entry.frame == FrameNumber(0x5678))
    }

    @Test func aFrameNumberWiderThan40BitsIsCutToBits51To12() {
        // Frame bit 40 would land on entry bit 52, outside the PFN field.
        let entry = PageTableEntry(frame: FrameNumber(0x1_00_0000_0001), flags: [.present])
        #expect(entry.rawValue == 0x1001)
        #expect(entry.frame == FrameNumber(1))
    }

    @Test func settingTheFrameLeavesTheFlagsAlone() {
        var entry = PageTableEntry(frame: FrameNumber(0x1234), flags: [.present, .user, .global, .copyOnWrite, .noExecute])
        entry.frame = FrameNumber(0xABCDE)
        #expect(entry.frame == FrameNumber(0xABCDE))
        #expect(entry.flags == [.present, .user, .global, .copyOnWrite, .noExecute])
        #expect(entry.rawValue == 0x8000_0000_ABCD_E305)
    }

    @Test func settingTheFlagsLeavesTheFrameAlone() {
        var entry = PageTableEntry(frame: FrameNumber(0xF_FFFF_FFFF), flags: [.present, .writable])
        entry.flags = [.present, .dirty, .noExecute]
        #expect(entry.frame == FrameNumber(0xF_FFFF_FFFF))
        #expect(entry.rawValue == 0x8000_FFFF_FFFF_F041)
        // Flag bits given inside the PFN field do not overwrite the frame.
        entry.flags = PageTableEntry.Flags(rawValue: 0x0000_0000_0000_F001)
        #expect(entry.frame == FrameNumber(0xF_FFFF_FFFF))
        #expect(entry.flags == [.present])
    }

    @Test func anEntryWithPresentClearIsNotPresentWhateverElseIsSet() {
        #expect(!PageTableEntry(rawValue: 0xFFFF_FFFF_FFFF_FFFE).isPresent)
        #expect(!PageTableEntry.empty.isPresent)
        #expect(PageTableEntry.empty.rawValue == 0)
    }
}
