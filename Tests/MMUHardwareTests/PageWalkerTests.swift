import Testing
@testable import MMUHardware

/// Error codes spelled as numbers (SDM figure 4-12: P=1, W/R=2, U/S=4, RSVD=8, I/D=16),
/// so that the flag positions are checked along with the logic.
private enum Code {
    static let notPresentRead: UInt32 = 0b0_0100
    static let notPresentWrite: UInt32 = 0b0_0110
    static let notPresentFetch: UInt32 = 0b1_0100
    static let protectionRead: UInt32 = 0b0_0101
    static let protectionWrite: UInt32 = 0b0_0111
    static let protectionFetch: UInt32 = 0b1_0101
    static let reservedRead: UInt32 = 0b0_1101
    static let reservedWrite: UInt32 = 0b0_1111
}

@Suite("PageWalker")
struct PageWalkerTests {
    typealias T = HandBuiltPageTables

    // MARK: Successful 4 KiB walks

    @Test func aFourKiBWalkReadsFourEntriesAndLandsOnTheLeafsFrame() throws {
        var tables = T()
        let walk = tables.walk(.read)
        let translation = try #require(walk.translation)
        #expect(walk.references == 4)
        #expect(translation.size == .size4K)
        #expect(translation.frame == T.data)
        #expect(translation.physicalAddress(of: T.address).rawValue == 0x567_8ABC)
        #expect(translation.rights == [.writable, .user, .executable, .dirty])
    }

    @Test func theWalkRecordsEachEntryItReadRootFirst() {
        var tables = T()
        let walk = tables.walk(.read)
        #expect(walk.steps.map(\.level) == [.pml4, .pdpt, .pd, .pt])
        #expect(walk.steps.map(\.table) == [T.pml4, T.pdpt, T.pd, T.pt])
        #expect(walk.steps.map(\.index) == [0x24, 0x1D1, 0xB3, 0x145])
        #expect(walk.steps.map(\.entry.frame) == [T.pdpt, T.pd, T.pt, T.data])
    }

    @Test func everyKindOfAccessSucceedsOnAWritableExecutableUserPage() {
        for kind in [AccessKind.read, .write, .fetch] {
            var tables = T()
            #expect(tables.walk(kind).translation?.frame == T.data, "kind \(kind)")
        }
    }

    @Test func aGlobalLeafGivesAGlobalTranslation() {
        var tables = T(leaf: T.dataFlags.union(.global))
        #expect(tables.walk(.read).translation?.rights.contains(.global) == true)
        var plain = T()
        #expect(plain.walk(.read).translation?.rights.contains(.global) == false)
    }

    // MARK: Not present

    @Test("a not-present entry stops the walk there with P clear",
          arguments: [PagingLevel.pml4, .pdpt, .pd, .pt], [AccessKind.read, .write, .fetch])
    func aNotPresentEntryFaults(level: PagingLevel, kind: AccessKind) {
        var tables = T()
        tables.setEntry(level, .empty)
        let walk = tables.walk(kind)
        let expected: UInt32 = switch kind {
        case .read: Code.notPresentRead
        case .write: Code.notPresentWrite
        case .fetch: Code.notPresentFetch
        }
        #expect(walk.faultCode?.rawValue == expected)
        // PML4 (level 4) is read first: the walk reads 5 - level entries.
        #expect(walk.references == 5 - level.rawValue)
        #expect(walk.steps.last?.level == level)
    }

    @Test("reserved bits of a not-present entry are ignored", arguments: [PagingLevel.pml4, .pdpt, .pd])
    func reservedBitsOfANotPresentEntryAreIgnored(level: PagingLevel) {
        var tables = T()
        // Every bit but P: PS in a PML4E and bits 29:13 are reserved only when P=1 (SDM 4.7).
        tables.setEntry(level, PageTableEntry(rawValue: 0xFFFF_FFFF_FFFF_FFFE))
        #expect(tables.walk(.read).faultCode?.rawValue == Code.notPresentRead)
    }

    @Test func aNotPresentEntryBelowASupervisorTableIsStillANotPresentFault() {
        // SDM 4.7: P is 0 when the fault comes from a not-present entry, whatever the rights above.
        var tables = T()
        tables.setFlags(.pdpt, [.present, .writable, .accessed])
        tables.setEntry(.pt, .empty)
        #expect(tables.walk(.read).faultCode?.rawValue == Code.notPresentRead)
    }

    // MARK: Protection

    @Test func aWriteToAReadOnlyLeafIsAProtectionFault() {
        var tables = T(leaf: [.present, .user, .accessed, .dirty])
        let walk = tables.walk(.write)
        #expect(walk.faultCode?.rawValue == Code.protectionWrite)
        #expect(walk.references == 4)
        // Reads still go through.
        #expect(tables.walk(.read).translation?.rights == [.user, .executable, .dirty])
    }

    @Test("a write through a read-only upper level is a protection fault", arguments: [PagingLevel.pml4, .pdpt, .pd])
    func aWriteThroughAReadOnlyUpperLevelFaults(level: PagingLevel) {
        var tables = T()
        tables.setFlags(level, [.present, .user, .accessed])
        let walk = tables.walk(.write)
        #expect(walk.faultCode?.rawValue == Code.protectionWrite)
        #expect(walk.references == 4)
        // SDM 4.6: R/W is ANDed over the levels.
        var readTables = T()
        readTables.setFlags(level, [.present, .user, .accessed])
        #expect(readTables.walk(.read).translation?.rights.contains(.writable) == false)
    }

    @Test("a user access to a supervisor entry is a protection fault", arguments: [PagingLevel.pml4, .pdpt, .pd, .pt])
    func aUserAccessToASupervisorEntryFaults(level: PagingLevel) {
        var tables = T()
        var flags = tables.entry(level).flags
        flags.remove(.user)
        tables.setFlags(level, flags)
        #expect(tables.walk(.read).faultCode?.rawValue == Code.protectionRead)
        #expect(tables.walk(.write).faultCode?.rawValue == Code.protectionWrite)
        #expect(tables.walk(.fetch).faultCode?.rawValue == Code.protectionFetch)
    }

    @Test("a fetch from a no-execute entry is a protection fault", arguments: [PagingLevel.pml4, .pdpt, .pd, .pt])
    func aFetchFromANoExecuteEntryFaults(level: PagingLevel) {
        var tables = T()
        tables.setFlags(level, tables.entry(level).flags.union(.noExecute))
        let walk = tables.walk(.fetch)
        #expect(walk.faultCode?.rawValue == Code.protectionFetch)
        #expect(walk.references == 4)
        // SDM 4.6: XD is ORed over the levels; reads and writes are unaffected.
        let read = tables.walk(.read).translation
        #expect(read?.rights.contains(.executable) == false)
        #expect(tables.walk(.write).translation != nil)
    }

    // MARK: Reserved bits

    @Test func pageSizeInAPML4EntryIsAReservedBitFault() {
        var tables = T()
        tables.setFlags(.pml4, T.tableFlags.union(.pageSize))
        let walk = tables.walk(.read)
        #expect(walk.faultCode?.rawValue == Code.reservedRead)
        #expect(walk.references == 1)
        #expect(tables.walk(.write).faultCode?.rawValue == Code.reservedWrite)
    }

    @Test func bit13OfA2MiBLeafIsAReservedBitFault() {
        var tables = T()
        tables.setEntry(.pd, PageTableEntry(frame: FrameNumber(0x1202), flags: T.dataFlags.union(.pageSize)))
        #expect(tables.entry(.pd).rawValue & (1 << 13) != 0)
        let walk = tables.walk(.read)
        #expect(walk.faultCode?.rawValue == Code.reservedRead)
        #expect(walk.references == 3)
    }

    @Test func bit20OfA2MiBLeafIsAReservedBitFault() {
        var tables = T()
        tables.setEntry(.pd, PageTableEntry(rawValue: 0x120_0000 | 1 << 20 | T.dataFlags.union(.pageSize).rawValue))
        #expect(tables.walk(.read).faultCode?.rawValue == Code.reservedRead)
    }

    @Test func bit20OfA1GiBLeafIsAReservedBitFault() {
        var tables = T()
        // Frame 0xC0100: 3 GiB plus PFN bit 8, i.e. entry bit 20.
        tables.setEntry(.pdpt, PageTableEntry(frame: FrameNumber(0xC0100), flags: T.dataFlags.union(.pageSize)))
        #expect(tables.entry(.pdpt).rawValue & (1 << 20) != 0)
        let walk = tables.walk(.read)
        #expect(walk.faultCode?.rawValue == Code.reservedRead)
        #expect(walk.references == 2)
    }

    @Test func bits29And13OfA1GiBLeafAreReserved() {
        for bit: UInt64 in [13, 29] {
            var tables = T()
            tables.setEntry(.pdpt, PageTableEntry(rawValue: 0xC000_0000 | 1 << bit | T.dataFlags.union(.pageSize).rawValue))
            #expect(tables.walk(.read).faultCode?.rawValue == Code.reservedRead, "bit \(bit)")
        }
    }

    // MARK: Large pages

    @Test func a2MiBLeafTranslatesInThreeReferencesIgnoringPAT() throws {
        var tables = T()
        // Frame 0x1201: 2 MiB-aligned frame 0x1200 with the PAT bit (entry bit 12) set.
        tables.setEntry(.pd, PageTableEntry(frame: FrameNumber(0x1201), flags: T.dataFlags.union(.pageSize)))
        let walk = tables.walk(.read)
        let translation = try #require(walk.translation)
        #expect(walk.references == 3)
        #expect(translation.size == .size2M)
        #expect(translation.frame == FrameNumber(0x1200))
        // 0x1200 << 12 plus VA[20:0] = 0x14_5ABC.
        #expect(translation.physicalAddress(of: T.address).rawValue == 0x134_5ABC)
        #expect(translation.physicalAddress(of: VirtualAddress(0x0000_1274_567F_FFF8)).rawValue == 0x13F_FFF8)
    }

    @Test func a1GiBLeafTranslatesInTwoReferencesIgnoringPAT() throws {
        var tables = T()
        // Frame 0xC0001: 1 GiB-aligned frame 0xC0000 (3 GiB) with PAT set.
        tables.setEntry(.pdpt, PageTableEntry(frame: FrameNumber(0xC0001), flags: T.dataFlags.union(.pageSize)))
        let walk = tables.walk(.write)
        let translation = try #require(walk.translation)
        #expect(walk.references == 2)
        #expect(translation.size == .size1G)
        #expect(translation.frame == FrameNumber(0xC0000))
        // 0xC000_0000 plus VA[29:0] = 0x1674_5ABC.
        #expect(translation.physicalAddress(of: T.address).rawValue == 0xD674_5ABC)
    }

    @Test func pageSizeInAPageTableEntryIsThePATBitNotALargePage() throws {
        var tables = T(leaf: T.dataFlags.union(.pageSize))
        let walk = tables.walk(.read)
        let translation = try #require(walk.translation)
        #expect(walk.references == 4)
        #expect(translation.size == .size4K)
        #expect(translation.frame == T.data)
    }

    // MARK: Accessed and dirty bits

    @Test func aReadSetsAOnEveryEntryReadThatLacksItAndNoD() throws {
        let noA: PageTableEntry.Flags = [.present, .writable, .user]
        var tables = T(upper: noA, leaf: noA)
        let walk = tables.walk(.read)
        let translation = try #require(walk.translation)
        #expect(walk.accessedDirtyBitsSet == 4)
        for entry in tables.path {
            #expect(entry.flags == [.present, .writable, .user, .accessed])
        }
        #expect(!translation.rights.contains(.dirty))
        // The frames are untouched.
        #expect(tables.path.map(\.frame) == [T.pdpt, T.pd, T.pt, T.data])
    }

    @Test func aWriteSetsAEverywhereAndDOnTheLeafOnly() throws {
        let noA: PageTableEntry.Flags = [.present, .writable, .user]
        var tables = T(upper: noA, leaf: noA)
        let walk = tables.walk(.write)
        let translation = try #require(walk.translation)
        #expect(walk.accessedDirtyBitsSet == 5)
        #expect(tables.entry(.pml4).flags == [.present, .writable, .user, .accessed])
        #expect(tables.entry(.pdpt).flags == [.present, .writable, .user, .accessed])
        #expect(tables.entry(.pd).flags == [.present, .writable, .user, .accessed])
        #expect(tables.entry(.pt).flags == [.present, .writable, .user, .accessed, .dirty])
        #expect(translation.rights.contains(.dirty))
    }

    @Test func aWriteToACleanWritableLeafSucceedsAndSetsD() throws {
        var tables = T(leaf: [.present, .writable, .user, .accessed])
        let walk = tables.walk(.write)
        let translation = try #require(walk.translation)
        #expect(walk.accessedDirtyBitsSet == 1)
        #expect(tables.entry(.pt).rawValue == 0x567_8067)  // frame 0x5678, P|RW|US|A|D
        #expect(translation.rights == [.writable, .user, .executable, .dirty])
    }

    @Test func aWalkThatFindsEveryBitSetWritesNothing() {
        var tables = T()
        let before = tables.path
        let walk = tables.walk(.write)
        #expect(walk.accessedDirtyBitsSet == 0)
        #expect(tables.path == before)
    }

    @Test func aLargePageWriteSetsDOnTheLargeLeaf() {
        var tables = T()
        tables.setEntry(.pd, PageTableEntry(frame: FrameNumber(0x1200), flags: [.present, .writable, .user, .pageSize]))
        let walk = tables.walk(.write)
        #expect(walk.accessedDirtyBitsSet == 2)
        #expect(tables.entry(.pd).flags == [.present, .writable, .user, .pageSize, .accessed, .dirty])
        // The PT below the former table is not read, so not touched.
        #expect(tables.entry(.pt).flags == T.dataFlags)
    }

    @Test func aFaultingWalkSetsNoAccessedOrDirtyBits() {
        let noA: PageTableEntry.Flags = [.present, .writable, .user]
        // Not present at the leaf.
        var missing = T(upper: noA, leaf: noA)
        missing.setEntry(.pt, .empty)
        let before = missing.path
        let walk = missing.walk(.write)
        #expect(walk.faultCode != nil)
        #expect(walk.accessedDirtyBitsSet == 0)
        #expect(missing.path == before)

        // Protection: a write to a read-only leaf.
        var readOnly = T(upper: noA, leaf: [.present, .user])
        let readOnlyBefore = readOnly.path
        #expect(readOnly.walk(.write).faultCode?.rawValue == Code.protectionWrite)
        #expect(readOnly.path == readOnlyBefore)

        // Reserved bit in a 2 MiB leaf.
        var reserved = T(upper: noA, leaf: noA)
        reserved.setEntry(.pd, PageTableEntry(frame: FrameNumber(0x1202), flags: [.present, .writable, .user, .pageSize]))
        let reservedBefore = reserved.path
        #expect(reserved.walk(.read).faultCode?.rawValue == Code.reservedRead)
        #expect(reserved.path == reservedBefore)
    }

    // MARK: Starting below the root

    @Test func aWalkFromACachedPageTableReadsOnlyThePTE() throws {
        var tables = T()
        let start = PageWalker.Start(level: .pt, table: T.pt, rights: .all)
        let walk = PageWalker.walk(T.address, .read, from: start, memory: &tables.memory)
        let translation = try #require(walk.translation)
        #expect(walk.references == 1)
        #expect(walk.steps.first?.level == .pt)
        #expect(translation.frame == T.data)
    }

    @Test func rightsCachedAboveTheStartStillApply() {
        var tables = T()
        let start = PageWalker.Start(level: .pd, table: T.pd, rights: [.user, .executable])
        let walk = PageWalker.walk(T.address, .write, from: start, memory: &tables.memory)
        #expect(walk.faultCode?.rawValue == Code.protectionWrite)
        #expect(walk.references == 2)
        let read = PageWalker.walk(T.address, .read, from: start, memory: &tables.memory)
        #expect(read.translation?.rights.contains(.writable) == false)
    }
}
