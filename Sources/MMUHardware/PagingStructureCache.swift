/// One of the paging-structure caches of SDM 4.10.3: the PML4E, PDPTE or PDE
/// cache. Each entry maps the upper bits of a linear address (VA[47:39],
/// VA[47:30] or VA[47:21]) under a PCID to the physical frame of the next
/// paging structure, with the rights accumulated so far. Fully associative,
/// true LRU.
public struct PagingStructureCache: Sendable {
    struct Entry: Sendable {
        var key: UInt64 = 0
        var table: UInt64 = 0
        var lastUse: UInt64 = 0
        var pcid: UInt16 = 0
        var rights: AccessRights = []
        var valid = false
    }

    /// The level of the entries this cache holds: `.pml4`, `.pdpt` or `.pd`.
    public let level: PagingLevel
    public let entryCount: Int
    fileprivate var slots: [Entry]
    private var useCounter: UInt64 = 0

    public init(level: PagingLevel, entries: Int) {
        self.level = level
        self.entryCount = max(0, entries)
        self.slots = [Entry](repeating: Entry(), count: entryCount)
    }

    public var isEnabled: Bool { entryCount > 0 }

    /// The address bits this cache's entries are keyed by.
    @inlinable public func key(of address: VirtualAddress) -> UInt64 {
        (address.rawValue & 0x0000_FFFF_FFFF_FFFF) >> level.indexShift
    }

    /// The next table's frame and accumulated rights for `address`, if cached.
    public mutating func lookup(_ address: VirtualAddress, pcid: PCID) -> (table: FrameNumber, rights: AccessRights)? {
        let key = key(of: address)
        for slot in slots.indices where slots[slot].valid && slots[slot].key == key && slots[slot].pcid == pcid.rawValue {
            useCounter &+= 1
            slots[slot].lastUse = useCounter
            return (FrameNumber(slots[slot].table), slots[slot].rights)
        }
        return nil
    }

    public mutating func insert(_ address: VirtualAddress, table: FrameNumber, rights: AccessRights, pcid: PCID) {
        guard isEnabled else { return }
        let key = key(of: address)
        var victim = 0
        var oldest = UInt64.max
        for slot in slots.indices {
            let e = slots[slot]
            if e.valid && e.key == key && e.pcid == pcid.rawValue { victim = slot; break }
            if !e.valid { if oldest != 0 { victim = slot; oldest = 0 }; continue }
            if e.lastUse < oldest { oldest = e.lastUse; victim = slot }
        }
        useCounter &+= 1
        slots[victim] = Entry(key: key, table: table.rawValue, lastUse: useCounter, pcid: pcid.rawValue, rights: rights, valid: true)
    }

    /// Drops the entry that `address` would use under `pcid`.
    public mutating func invalidate(_ address: VirtualAddress, pcid: PCID) {
        let key = key(of: address)
        for slot in slots.indices where slots[slot].valid && slots[slot].key == key && slots[slot].pcid == pcid.rawValue {
            slots[slot].valid = false
        }
    }

    /// Drops every entry tagged `pcid` (nil: every entry).
    public mutating func flush(pcid: PCID?) {
        for slot in slots.indices where slots[slot].valid {
            if let pcid, slots[slot].pcid != pcid.rawValue { continue }
            slots[slot].valid = false
        }
    }

    public var occupancy: Int { slots.reduce(0) { $0 + ($1.valid ? 1 : 0) } }
}

extension PagingStructureCache {
    /// Whether some valid entry points to the paging structure in `frame`.
    public func references(_ frame: FrameNumber) -> Bool {
        slots.contains { $0.valid && $0.table == frame.rawValue }
    }
}
