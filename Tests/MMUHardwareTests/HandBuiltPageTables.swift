@testable import MMUHardware

/// A four-level page-table hierarchy written entry by entry into a small
/// `PhysicalMemory`, the way a kernel would, for the walker and core tests.
///
/// The address under test is `address` = 0x0000_1274_5674_5ABC, whose indices
/// were chosen first and the address composed from them by hand:
/// PML4 0x24 (VA[47:39]), PDPT 0x1D1 (VA[38:30]), PD 0xB3 (VA[29:21]),
/// PT 0x145 (VA[20:12]), offset 0xABC.
struct HandBuiltPageTables {
    static let address = VirtualAddress(0x0000_1274_5674_5ABC)
    /// The next 4 KiB page (PT index 0x146), same 2 MiB region.
    static let neighbour = VirtualAddress(0x0000_1274_5674_6ABC)
    /// The page after that (PT index 0x147), left not present.
    static let unmapped = VirtualAddress(0x0000_1274_5674_7000)

    static let pml4Index: UInt64 = 0x24
    static let pdptIndex: UInt64 = 0x1D1
    static let pdIndex: UInt64 = 0xB3
    static let ptIndex: UInt64 = 0x145

    static let pml4 = FrameNumber(1)
    static let pdpt = FrameNumber(2)
    static let pd = FrameNumber(3)
    static let pt = FrameNumber(4)
    /// The data frame `address` maps to (need not exist in memory).
    static let data = FrameNumber(0x5678)
    static let neighbourData = FrameNumber(0x5679)

    /// What the kernel writes for an entry that points to a table (decision 1).
    static let tableFlags: PageTableEntry.Flags = [.present, .writable, .user, .accessed]
    /// A user data page as the fault handler installs it for a writable region.
    static let dataFlags: PageTableEntry.Flags = [.present, .writable, .user, .accessed, .dirty]

    var memory = PhysicalMemory(frameCount: 16)

    init(upper: PageTableEntry.Flags = tableFlags, leaf: PageTableEntry.Flags = dataFlags) {
        memory.writeEntry(Self.pml4, Self.pml4Index, PageTableEntry(frame: Self.pdpt, flags: upper))
        memory.writeEntry(Self.pdpt, Self.pdptIndex, PageTableEntry(frame: Self.pd, flags: upper))
        memory.writeEntry(Self.pd, Self.pdIndex, PageTableEntry(frame: Self.pt, flags: upper))
        memory.writeEntry(Self.pt, Self.ptIndex, PageTableEntry(frame: Self.data, flags: leaf))
        memory.writeEntry(Self.pt, Self.ptIndex + 1, PageTableEntry(frame: Self.neighbourData, flags: leaf))
    }

    /// The table and index of `address`'s entry at `level`.
    static func location(_ level: PagingLevel) -> (table: FrameNumber, index: UInt64) {
        switch level {
        case .pml4, .pml5: return (pml4, pml4Index)   // these tables are four-level
        case .pdpt: return (pdpt, pdptIndex)
        case .pd: return (pd, pdIndex)
        case .pt: return (pt, ptIndex)
        }
    }

    func entry(_ level: PagingLevel) -> PageTableEntry {
        let (table, index) = Self.location(level)
        return memory.readEntry(table, index)
    }

    mutating func setEntry(_ level: PagingLevel, _ entry: PageTableEntry) {
        let (table, index) = Self.location(level)
        memory.writeEntry(table, index, entry)
    }

    /// Rewrites the flags of `address`'s entry at `level`, keeping its frame.
    mutating func setFlags(_ level: PagingLevel, _ flags: PageTableEntry.Flags) {
        var e = entry(level)
        e.flags = flags
        setEntry(level, e)
    }

    /// Every entry on `address`'s path, root first.
    var path: [PageTableEntry] { [entry(.pml4), entry(.pdpt), entry(.pd), entry(.pt)] }

    mutating func walk(_ kind: AccessKind, at address: VirtualAddress = address) -> PageWalker.Walk {
        PageWalker.walk(address, kind, from: .root(Self.pml4), memory: &memory)
    }
}

extension PageWalker.Walk {
    var translation: Translation? {
        if case .translation(let t) = outcome { return t }
        return nil
    }
    var faultCode: PageFaultErrorCode? {
        if case .fault(let code) = outcome { return code }
        return nil
    }
}
