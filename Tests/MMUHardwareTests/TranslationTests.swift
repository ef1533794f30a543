import Testing
@testable import MMUHardware

@Suite("AccessRights")
struct AccessRightsTests {
    @Test func aReadNeedsOnlyUserAccess() {
        #expect(AccessRights([.user]).permits(.read))
        #expect(!AccessRights([.writable, .executable, .dirty]).permits(.read))
    }

    @Test func aWriteNeedsUserWritableAndDirty() {
        #expect(AccessRights([.user, .writable, .dirty]).permits(.write))
        #expect(!AccessRights([.user, .writable]).permits(.write))
        #expect(!AccessRights([.user, .dirty]).permits(.write))
        #expect(!AccessRights([.writable, .dirty]).permits(.write))
    }

    @Test func aFetchNeedsUserAndExecutable() {
        #expect(AccessRights([.user, .executable]).permits(.fetch))
        #expect(!AccessRights([.user, .writable, .dirty]).permits(.fetch))
    }

    @Test func anEntryGrantsItsRWAndUSBitsAndExecuteUnlessNX() {
        let entry = PageTableEntry(frame: FrameNumber(1), flags: [.present, .writable, .user, .dirty, .global])
        #expect(AccessRights.granted(by: entry) == [.writable, .user, .executable])
        let nx = PageTableEntry(frame: FrameNumber(1), flags: [.present, .noExecute])
        #expect(AccessRights.granted(by: nx) == [])
    }
}

@Suite("Translation")
struct TranslationTests {
    @Test("the physical address keeps the offset bits below the page size", arguments: [
        (PageSize.size4K, UInt64(0x5678), UInt64(0x567_8ABC)),
        (.size2M, 0x1200, 0x134_5ABC),
        (.size1G, 0xC0000, 0xD674_5ABC),
    ])
    func physicalAddressKeepsTheOffset(size: PageSize, frame: UInt64, expected: UInt64) {
        let translation = Translation(frame: FrameNumber(frame), size: size, rights: .all)
        #expect(translation.physicalAddress(of: VirtualAddress(0x0000_1274_5674_5ABC)).rawValue == expected)
    }
}
