/// One of the paging-structure caches of SDM 4.10.3: the PML4E, PDPTE or PDE
/// cache. Each entry maps the upper bits of a linear address (VA[47:39],
/// VA[47:30] or VA[47:21]) under a PCID to the physical frame of the next
/// paging structure, with the rights accumulated so far. Fully associative,
/// true LRU.
///
/// The key, PCID and validity of an entry are folded into one 64-bit tag, so
/// the fully associative search compares one word per entry.
public struct PagingStructureCache: Sendable {
    struct Entry: Sendable {
        /// `key << 17 | pcid << 1 | 1`; 0 in an empty slot.
        var tag: UInt64 = 0
        var table: UInt64 = 0
        var lastUse: UInt64 = 0
        var rights: AccessRights = []

        var valid: Bool { tag != 0 }
        var pcid: UInt16 { UInt16(truncatingIfNeeded: tag >> 1) }
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

    @inline(__always) private func tag(_ address: VirtualAddress, _ pcid: PCID) -> UInt64 {
        key(of: address) << 17 | UInt64(pcid.rawValue) << 1 | 1
    }

    /// The slot holding `tag`, or -1. At most one valid entry has a given tag.
    @inline(__always) private func slot(of tag: UInt64) -> Int {
        slots.withUnsafeBufferPointer { buffer in
            var slot = 0
            while slot < buffer.count {
                if buffer[slot].tag == tag { return slot }
                slot &+= 1
            }
            return -1
        }
    }

    /// The next table's frame and accumulated rights for `address`, if cached.
    @inline(__always)
    public mutating func lookup(_ address: VirtualAddress, pcid: PCID) -> (table: FrameNumber, rights: AccessRights)? {
        let slot = slot(of: tag(address, pcid))
        guard slot >= 0 else { return nil }
        useCounter &+= 1
        slots[slot].lastUse = useCounter
        return (FrameNumber(slots[slot].table), slots[slot].rights)
    }

    /// Caches `table` and `rights` for `address` under `pcid`: replaces the
    /// entry already there, else fills the first empty slot, else evicts the
    /// first least recently used entry.
    public mutating func insert(_ address: VirtualAddress, table: FrameNumber, rights: AccessRights, pcid: PCID) {
        guard isEnabled else { return }
        let tag = tag(address, pcid)
        let victim = slots.withUnsafeBufferPointer { buffer in
            var empty = -1
            var oldest = 0
            var oldestUse = UInt64.max
            var slot = 0
            while slot < buffer.count {
                let e = buffer[slot]
                if e.tag == tag { return slot }
                if e.tag == 0 {
                    if empty < 0 { empty = slot }
                } else if empty < 0 && e.lastUse < oldestUse {
                    oldestUse = e.lastUse
                    oldest = slot
                }
                slot &+= 1
            }
            return empty >= 0 ? empty : oldest
        }
        useCounter &+= 1
        slots[victim] = Entry(tag: tag, table: table.rawValue, lastUse: useCounter, rights: rights)
    }

    /// Drops the entry that `address` would use under `pcid`.
    public mutating func invalidate(_ address: VirtualAddress, pcid: PCID) {
        let slot = slot(of: tag(address, pcid))
        if slot >= 0 { slots[slot].tag = 0 }
    }

    /// Drops every entry tagged `pcid` (nil: every entry).
    public mutating func flush(pcid: PCID?) {
        for slot in slots.indices where slots[slot].valid {
            if let pcid, slots[slot].pcid != pcid.rawValue { continue }
            slots[slot].tag = 0
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
