/// One of the paging-structure caches of SDM 4.10.3: the PML4E, PDPTE or PDE
/// cache. Each entry maps the upper bits of a linear address (VA[47:39],
/// VA[47:30] or VA[47:21]) under a PCID to the physical frame of the next
/// paging structure, with the rights accumulated so far. Fully associative
/// (one set), true LRU.
public struct PagingStructureCache: Sendable {
    public struct Entry: CacheEntry {
        /// `key << 17 | pcid << 1 | 1`; 0 in an empty slot.
        var tag: UInt64 = 0
        var table: UInt64 = 0
        var rights: AccessRights = []

        public static var empty: Entry { Entry() }
        public static var emptyIsZeroBits: Bool { true }
        public var isValid: Bool { tag != 0 }
        public var indexTag: UInt64 { tag }
        var pcid: UInt16 { UInt16(truncatingIfNeeded: tag >> 1) }
    }

    public typealias Slot = SetAssociativeArray<Entry, LeastRecentlyUsed>.Slot

    /// What `probe` found: the next table and the rights accumulated above it,
    /// or on a miss the slot a `fill` for the same address and PCID takes
    /// (nil for a disabled cache).
    public enum Probe: Sendable {
        case hit(table: FrameNumber, rights: AccessRights)
        case miss(fillAt: Slot?)
    }

    /// The level of the entries this cache holds: `.pml5`, `.pml4`, `.pdpt` or `.pd`.
    public let level: PagingLevel
    public let entryCount: Int
    private var array: SetAssociativeArray<Entry, LeastRecentlyUsed>

    /// The linear-address bits the key covers: 48, or 57 with five-level paging.
    private let addressMask: UInt64

    public init(level: PagingLevel, entries: Int, addressBits: UInt64 = 48) {
        self.level = level
        addressMask = (1 << addressBits) - 1
        entryCount = max(0, entries)
        array = SetAssociativeArray(capacity: entryCount, ways: entryCount)
    }

    public var isEnabled: Bool { entryCount > 0 }
    public var occupancy: Int { array.validCount }

    /// The address bits this cache's entries are keyed by.
    @inline(__always) public func key(of address: VirtualAddress) -> UInt64 {
        (address.rawValue & addressMask) >> level.indexShift
    }

    @inline(__always) private func tag(_ address: VirtualAddress, _ pcid: PCID) -> UInt64 {
        key(of: address) << 17 | UInt64(pcid.rawValue) << 1 | 1
    }

    /// Looks up the entry `address` would use under `pcid`; a hit becomes the
    /// most recently used.
    @inline(__always)
    public mutating func probe(_ address: VirtualAddress, pcid: PCID) -> Probe {
        let tag = tag(address, pcid)
        switch array.probe(set: 0, tag: tag, where: { $0.tag == tag }) {
        case .hit(let slot):
            array.touch(slot)
            let e = array[slot]
            return .hit(table: FrameNumber(e.table), rights: e.rights)
        case .miss(let victim):
            return .miss(fillAt: victim)
        }
    }

    /// The next table's frame and accumulated rights for `address`, if cached.
    public mutating func lookup(_ address: VirtualAddress, pcid: PCID) -> (table: FrameNumber, rights: AccessRights)? {
        if case .hit(let table, let rights) = probe(address, pcid: pcid) { return (table, rights) }
        return nil
    }

    /// Caches `table` and `rights` for `address` under `pcid`: replaces the
    /// entry already there, else fills the first empty slot, else evicts the
    /// least recently used entry.
    public mutating func insert(_ address: VirtualAddress, table: FrameNumber, rights: AccessRights, pcid: PCID) {
        let tag = tag(address, pcid)
        switch array.probe(set: 0, tag: tag, where: { $0.tag == tag }) {
        case .hit(let slot): fill(address, table: table, rights: rights, pcid: pcid, at: slot)
        case .miss(let victim): fill(address, table: table, rights: rights, pcid: pcid, at: victim)
        }
    }

    /// `insert` after a `probe` of the same address and PCID that missed, with
    /// no change to this cache since: the probe's slot is the one to take.
    @inline(__always)
    public mutating func fill(_ address: VirtualAddress, table: FrameNumber, rights: AccessRights, pcid: PCID, at slot: Slot?) {
        guard let slot else { return }
        array.fill(slot, with: Entry(tag: tag(address, pcid), table: table.rawValue, rights: rights))
    }

    /// Drops the entry that `address` would use under `pcid`.
    public mutating func invalidate(_ address: VirtualAddress, pcid: PCID) {
        let tag = tag(address, pcid)
        // Tags are unique: one entry at most.
        array.removeFirst(inSetOf: 0, tag: tag) { $0.tag == tag }
    }

    /// Drops every entry tagged `pcid` (nil: every entry).
    public mutating func flush(pcid: PCID?) {
        guard let pcid else { return array.removeAll { _ in true } }
        array.removeAll { $0.pcid == pcid.rawValue }
    }

    /// Drops every entry whose tag belongs to VM `vpid`.
    public mutating func flush(vpid: UInt16) {
        array.removeAll { $0.pcid >> 12 == vpid }
    }

    /// Whether some valid entry points to a paging structure in `frames`.
    public func references(_ frames: Range<FrameNumber>, where usable: (PCID) -> Bool = { _ in true }) -> Bool {
        array.first { frames.contains(FrameNumber($0.table)) && usable(PCID($0.pcid)) } != nil
    }
}
