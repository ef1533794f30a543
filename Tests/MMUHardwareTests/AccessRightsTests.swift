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
