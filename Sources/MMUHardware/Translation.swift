/// The rights a translation grants, accumulated over every level of the walk
/// (SDM 4.6: R/W and U/S are ANDed, XD is ORed) plus the leaf's D bit.
public struct AccessRights: OptionSet, Hashable, Sendable, BitwiseCopyable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let writable = AccessRights(rawValue: 1 << 0)
    public static let user = AccessRights(rawValue: 1 << 1)
    public static let executable = AccessRights(rawValue: 1 << 2)
    /// The leaf's D bit: a write through a clean entry must walk to set it.
    public static let dirty = AccessRights(rawValue: 1 << 3)
    /// The leaf's G bit.
    public static let global = AccessRights(rawValue: 1 << 4)

    public static let all: AccessRights = [.writable, .user, .executable]

    /// Whether a user-mode access of `kind` may use a translation with these rights
    /// (a write needs RW and D, a fetch needs no XD; docs/reference/machine.md).
    @inlinable @inline(__always) public func permits(_ kind: AccessKind) -> Bool {
        let needed = AccessRights.needed(for: kind)
        return rawValue & needed == needed
    }

    /// The bits `permits` requires for `kind` (plain masks: no set is built
    /// on the access path).
    @inlinable @inline(__always) static func needed(for kind: AccessKind) -> UInt8 {
        switch kind {
        case .read: return 1 << 1                    // user
        case .write: return 1 << 1 | 1 << 0 | 1 << 3 // user, writable, dirty
        case .fetch: return 1 << 1 | 1 << 2         // user, executable
        }
    }

    /// The rights one paging-structure entry contributes.
    @inlinable public static func granted(by entry: PageTableEntry) -> AccessRights {
        // R/W is PTE bit 1 and U/S bit 2; they land in bits 0 and 1 here.
        let writableAndUser = UInt8(truncatingIfNeeded: entry.rawValue >> 1) & 0b11
        let executable: UInt8 = entry.rawValue >> 63 == 0 ? 1 << 2 : 0
        return AccessRights(rawValue: writableAndUser | executable)
    }
}

/// A completed translation of one page: where it lives and what it allows.
public struct Translation: Hashable, Sendable {
    /// First 4 KiB frame of the page (aligned to the page size).
    public var frame: FrameNumber
    public var size: PageSize
    public var rights: AccessRights
    /// The size of the page the paging structures map, when this translation
    /// is a smaller piece of it (a fractured entry, or a guest's large page
    /// cached 4 KiB at a time); `size` otherwise. An INVLPG anywhere in that
    /// page drops every piece (SDM 4.10.4.1: all entries for the page).
    public var origin: PageSize

    @inlinable public init(frame: FrameNumber, size: PageSize, rights: AccessRights, origin: PageSize? = nil) {
        self.frame = frame
        self.size = size
        self.rights = rights
        self.origin = origin ?? size
    }

    /// The 4 KiB piece of this translation that holds `address` (a fractured
    /// entry: SDM 4.10.2.3 lets a TLB cache a large page as smaller ones).
    @inlinable public func fractured(at address: VirtualAddress) -> Translation {
        guard size != .size4K else { return self }
        let pages = size.bytes >> Paging.pageShift
        return Translation(frame: FrameNumber(frame.rawValue + (address.pageNumber & (pages - 1))), size: .size4K, rights: rights,
                           origin: origin)
    }

    /// The physical address `address` translates to.
    @inlinable @inline(__always) public func physicalAddress(of address: VirtualAddress) -> PhysicalAddress {
        PhysicalAddress(rawValue: frame.rawValue << Paging.pageShift &+ (address.rawValue & (size.bytes &- 1)))
    }
}
