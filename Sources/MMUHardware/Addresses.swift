/// Sizes of the x86-64 4-level paging scheme (Intel SDM vol. 3A, 4.5).
public enum Paging {
    /// 4 KiB: the base page and frame size.
    public static let pageShift: UInt64 = 12
    public static let pageSize: UInt64 = 1 << pageShift
    /// Entries per page-table page (512 eight-byte entries in 4 KiB).
    public static let entriesPerTable: UInt64 = 512
    /// Bits of a canonical linear address (48 with 4-level paging).
    public static let linearAddressBits: UInt64 = 48
    /// First address above the user half: user regions live below it.
    public static let userAddressLimit: UInt64 = 1 << 47
    /// The user half's end with `levels` levels of paging (2^47, or 2^56 with five).
    @inlinable public static func userAddressLimit(levels: Int) -> UInt64 { levels == 5 ? 1 << 56 : 1 << 47 }
}

/// A 48-bit canonical x86-64 linear address (the SDM's "linear address").
public struct VirtualAddress: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ value: UInt64) { self.rawValue = value }

    /// Bits 63:47 all equal (SDM 3.3.7.1).
    @inlinable public var isCanonical: Bool { isCanonical(topBit: 47) }
    /// Bits 63:`topBit` all equal: 47 with four-level paging, 56 with five.
    /// (A masking shift of the signed value: one instruction, no overshift
    /// branch; `topBit` is 47 or 56.)
    @inline(__always) @inlinable public func isCanonical(topBit: UInt64) -> Bool {
        let top = Int64(bitPattern: rawValue) &>> Int64(truncatingIfNeeded: topBit)
        return UInt64(bitPattern: top &+ 1) <= 1  // top is 0 or -1
    }
    /// The 4 KiB page number (VA >> 12).
    @inlinable public var pageNumber: UInt64 { rawValue >> Paging.pageShift }
    /// The 4 KiB page this address lies in.
    @inlinable public var page: VirtualPageNumber { VirtualPageNumber(rawValue >> Paging.pageShift) }
    @inlinable public var pageOffset: UInt64 { rawValue & (Paging.pageSize - 1) }
    @inlinable public var isPageAligned: Bool { pageOffset == 0 }
    /// The 9-bit table index this address selects at `level`.
    @inlinable public func index(at level: PagingLevel) -> UInt64 {
        (rawValue >> level.indexShift) & 0x1FF
    }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { hex(rawValue) }
}

/// A 4 KiB virtual page number (a linear address >> 12).
public struct VirtualPageNumber: RawRepresentable, Hashable, Comparable, Strideable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ value: UInt64) { self.rawValue = value }
    /// The first address of the page.
    @inlinable public var address: VirtualAddress { VirtualAddress(rawValue << Paging.pageShift) }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    @inlinable public func distance(to other: Self) -> Int64 { Int64(bitPattern: other.rawValue &- rawValue) }
    @inlinable public func advanced(by n: Int64) -> Self { Self(rawValue &+ UInt64(bitPattern: n)) }
    public var description: String { "page \(hex(rawValue))" }
}

/// A physical address in emulated memory.
public struct PhysicalAddress: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(frame: FrameNumber, offset: UInt64) {
        self.rawValue = frame.rawValue << Paging.pageShift | offset
    }
    @inlinable public var frame: FrameNumber { FrameNumber(rawValue >> Paging.pageShift) }
    @inlinable public var offset: UInt64 { rawValue & (Paging.pageSize - 1) }
    public var description: String { hex(rawValue) }
}

/// A 4 KiB physical frame number (the SDM's "PFN": physical address >> 12).
public struct FrameNumber: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ value: UInt64) { self.rawValue = value }
    @inlinable public var index: Int { Int(truncatingIfNeeded: rawValue) }
    @inlinable public var address: PhysicalAddress { PhysicalAddress(rawValue: rawValue << Paging.pageShift) }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    /// Frame 0 holds the kernel's shared zero page (Linux's `ZERO_PAGE`).
    public static let zeroPage = FrameNumber(0)
    public var description: String { "frame \(rawValue)" }
}

/// A logical processor of the emulated machine.
public struct CoreID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int
    @inlinable public init(rawValue: Int) { self.rawValue = rawValue }
    @inlinable public init(_ value: Int) { self.rawValue = value }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "core\(rawValue)" }
}

/// A process-context identifier: CR3 bits 11:0 with CR4.PCIDE=1 (SDM 4.10.1).
public struct PCID: RawRepresentable, Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public init(_ value: UInt16) { self.rawValue = value }
    /// PCID 0: the one every translation is tagged with when PCIDs are off.
    public static let none = PCID(0)
    /// The largest PCID the 12-bit field holds.
    public static let maximum: UInt16 = 4095
    public var description: String { "pcid \(rawValue)" }
}

/// A count of clock cycles of one core.
public typealias CycleCount = UInt64

/// Levels of the paging hierarchy, from the root: PML5 only with five-level
/// paging (CR4.LA57; SDM 4.5), PML4 the root with four.
public enum PagingLevel: Int, CaseIterable, Sendable, BitwiseCopyable, CustomStringConvertible {
    case pml5 = 5, pml4 = 4, pdpt = 3, pd = 2, pt = 1

    /// The root level for `levels` levels of paging (4 or 5).
    @inlinable public static func root(levels: Int) -> PagingLevel { levels == 5 ? .pml5 : .pml4 }
    /// Whether a PS entry here maps a page (the PD and PDPT levels).
    @inlinable public var mayHoldLargePage: Bool { self == .pd || self == .pdpt }

    /// Position of this level's 9-bit index in the linear address.
    @inlinable public var indexShift: UInt64 { UInt64(12 + 9 * (rawValue - 1)) }
    /// The next level down, or nil for the PT.
    @inlinable public var below: PagingLevel? { PagingLevel(rawValue: rawValue - 1) }
    /// The page size a leaf at this level maps, if a leaf may stand here.
    @inlinable public var leafSize: PageSize? {
        switch self {
        case .pt: return .size4K
        case .pd: return .size2M
        case .pdpt: return .size1G
        case .pml4, .pml5: return nil
        }
    }
    /// The SDM name of an entry at this level.
    public var description: String {
        switch self {
        case .pml5: return "PML5E"
        case .pml4: return "PML4E"
        case .pdpt: return "PDPTE"
        case .pd: return "PDE"
        case .pt: return "PTE"
        }
    }
}

/// The page sizes 4-level paging maps.
public enum PageSize: UInt8, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    case size4K = 0, size2M = 1, size1G = 2
    @inlinable public var shift: UInt64 {
        switch self {
        case .size4K: return 12
        case .size2M: return 21
        case .size1G: return 30
        }
    }
    @inlinable public var bytes: UInt64 { 1 << shift }
    public var description: String {
        switch self {
        case .size4K: return "4K"
        case .size2M: return "2M"
        case .size1G: return "1G"
        }
    }
}

/// What an access does: the three kinds a trace names.
public enum AccessKind: UInt8, Sendable, CustomStringConvertible {
    case read = 0, write = 1, fetch = 2
    public var description: String {
        switch self {
        case .read: return "r"
        case .write: return "w"
        case .fetch: return "x"
        }
    }
}

/// `0x`-prefixed lower-case hexadecimal.
@inlinable public func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
