/// The rights a translation grants, accumulated over every level of the walk
/// (SDM 4.6: R/W and U/S are ANDed, XD is ORed) plus the leaf's D bit.
public struct AccessRights: OptionSet, Hashable, Sendable {
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
    /// (a write needs RW and D, a fetch needs no XD; SPEC section 1).
    @inlinable public func permits(_ kind: AccessKind) -> Bool {
        switch kind {
        case .read: return contains(.user)
        case .write: return contains([.user, .writable, .dirty])
        case .fetch: return contains([.user, .executable])
        }
    }

    /// The rights one paging-structure entry contributes.
    @inlinable public static func granted(by entry: PageTableEntry) -> AccessRights {
        var rights: AccessRights = []
        if entry.has(.writable) { rights.insert(.writable) }
        if entry.has(.user) { rights.insert(.user) }
        if !entry.has(.noExecute) { rights.insert(.executable) }
        return rights
    }
}

/// A completed translation of one page: where it lives and what it allows.
public struct Translation: Hashable, Sendable {
    /// First 4 KiB frame of the page (aligned to the page size).
    public var frame: FrameNumber
    public var size: PageSize
    public var rights: AccessRights

    @inlinable public init(frame: FrameNumber, size: PageSize, rights: AccessRights) {
        self.frame = frame
        self.size = size
        self.rights = rights
    }

    /// The physical address `address` translates to.
    @inlinable public func physicalAddress(of address: VirtualAddress) -> PhysicalAddress {
        PhysicalAddress(rawValue: frame.rawValue << Paging.pageShift &+ (address.rawValue & (size.bytes &- 1)))
    }
}
