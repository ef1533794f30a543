/// One of the paging-structure caches of SDM 4.10.3: the PML4E, PDPTE or PDE
/// cache. Each entry maps the upper bits of a linear address (VA[47:39],
/// VA[47:30] or VA[47:21]) under a PCID to the physical frame of the next
/// paging structure, with the rights accumulated so far. Fully associative,
/// true LRU.
///
/// The key, PCID and validity of an entry are folded into one 64-bit tag, so
/// the fully associative search compares one word per entry. An empty slot has
/// tag 0 and age 0, so the slot an insert takes (the first empty one, else the
/// least recently used) is simply the first of least age; a lookup that misses
/// has already scanned every slot and returns that victim, so the walk's fill
/// after a miss needs no second scan.
public struct PagingStructureCache: Sendable {
    struct Entry: Sendable {
        /// `key << 17 | pcid << 1 | 1`; 0 in an empty slot.
        var tag: UInt64 = 0
        var table: UInt64 = 0
        /// LRU age: larger is more recent; 0 in an empty slot.
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
    /// Number of valid entries.
    private var validEntries = 0

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

    /// One pass over every slot: the slot holding `tag` (or -1), and the slot
    /// an insert would take (the first of least age: an empty one, else the
    /// least recently used).
    @inline(__always) private func search(_ tag: UInt64) -> (slot: Int, victim: Int) {
        slots.withUnsafeBufferPointer { buffer in
            var victim = 0
            var victimUse = UInt64.max
            var slot = 0
            while slot < buffer.count {
                let e = buffer[slot]
                if e.tag == tag { return (slot, victim) }
                if e.lastUse < victimUse { victimUse = e.lastUse; victim = slot }
                slot &+= 1
            }
            return (-1, victim)
        }
    }

    /// What `probe` found: the next table's frame and accumulated rights, or
    /// on a miss the slot a `fill` for the same address and PCID may take
    /// (valid until the cache next changes; -1 for a disabled cache).
    public struct Probe: Sendable {
        public var hit: (table: FrameNumber, rights: AccessRights)?
        public var victim: Int
    }

    /// `lookup`, returning on a miss the victim for a later `fill`.
    @inline(__always)
    public mutating func probe(_ address: VirtualAddress, pcid: PCID) -> Probe {
        guard isEnabled else { return Probe(hit: nil, victim: -1) }
        let (slot, victim) = search(tag(address, pcid))
        guard slot >= 0 else { return Probe(hit: nil, victim: victim) }
        useCounter &+= 1
        slots[slot].lastUse = useCounter
        return Probe(hit: (FrameNumber(slots[slot].table), slots[slot].rights), victim: -1)
    }

    /// The next table's frame and accumulated rights for `address`, if cached.
    public mutating func lookup(_ address: VirtualAddress, pcid: PCID) -> (table: FrameNumber, rights: AccessRights)? {
        probe(address, pcid: pcid).hit
    }

    /// Caches `table` and `rights` for `address` under `pcid`: replaces the
    /// entry already there, else fills the first empty slot, else evicts the
    /// first least recently used entry.
    public mutating func insert(_ address: VirtualAddress, table: FrameNumber, rights: AccessRights, pcid: PCID) {
        guard isEnabled else { return }
        let tag = tag(address, pcid)
        let (slot, victim) = search(tag)
        store(tag, table, rights, at: slot >= 0 ? slot : victim)
    }

    /// `insert` after a `probe` of the same address and PCID that missed, with
    /// no change to this cache since: the probe's victim is the slot to take.
    @inline(__always)
    public mutating func fill(_ address: VirtualAddress, table: FrameNumber, rights: AccessRights, pcid: PCID, at victim: Int) {
        guard victim >= 0 else { return }
        store(tag(address, pcid), table, rights, at: victim)
    }

    @inline(__always) private mutating func store(_ tag: UInt64, _ table: FrameNumber, _ rights: AccessRights, at slot: Int) {
        if slots[slot].tag == 0 { validEntries += 1 }
        useCounter &+= 1
        slots[slot] = Entry(tag: tag, table: table.rawValue, lastUse: useCounter, rights: rights)
    }

    /// Drops the entry that `address` would use under `pcid`.
    public mutating func invalidate(_ address: VirtualAddress, pcid: PCID) {
        let slot = slot(of: tag(address, pcid))
        if slot >= 0 {
            slots[slot] = Entry()
            validEntries -= 1
        }
    }

    /// Drops every entry tagged `pcid` (nil: every entry).
    public mutating func flush(pcid: PCID?) {
        let valid = validEntries
        guard valid > 0 else { return }
        let only = pcid?.rawValue
        var dropped = 0
        slots.withUnsafeMutableBufferPointer { buffer in
            // Entries take the first empty slots, so the valid ones sit mostly
            // at the front: stop once every valid entry has been seen.
            var seen = 0
            var slot = 0
            while slot < buffer.count && seen < valid {
                if buffer[slot].tag != 0 {
                    seen &+= 1
                    if only == nil || buffer[slot].pcid == only! {
                        buffer[slot] = Entry()
                        dropped &+= 1
                    }
                }
                slot &+= 1
            }
        }
        validEntries -= dropped
    }

    public var occupancy: Int { validEntries }
}

extension PagingStructureCache {
    /// Whether some valid entry points to the paging structure in `frame`.
    public func references(_ frame: FrameNumber) -> Bool {
        slots.contains { $0.valid && $0.table == frame.rawValue }
    }
}
