/// A set-associative, PCID-tagged TLB with true LRU replacement.
///
/// Storage is one flat array of `sets * ways` entries; set `s` holds slots
/// `s*ways ..< (s+1)*ways`. The set index is the page number (at the entry's
/// page size) modulo the number of sets — a mask when the number of sets is a
/// power of two, as in every preset; the PCID is not hashed in (SPEC 6).
/// An entry of any page size may live here; 2 MiB and 1 GiB sets are probed
/// only while such entries exist.
///
/// An entry is 32 bytes: its page number, size and validity folded into one
/// 64-bit tag so that a probe compares one word per way (docs/performance.md).
/// An empty slot has tag 0 and age 0, so the slot an insert takes (the first
/// empty one, else the least recently used) is the first of least age.
public struct TranslationLookasideBuffer: Sendable {
    /// One cached translation.
    public struct Entry: Sendable {
        /// `page << 3 | size << 1 | 1`, where `page` is VA >> size.shift; 0 in
        /// an empty slot.
        var tag: UInt64 = 0
        var frame: UInt64 = 0
        /// LRU age: larger is more recent; 0 in an empty slot.
        var lastUse: UInt64 = 0
        var pcid: UInt16 = 0
        var rights: AccessRights = []
        var size: PageSize = .size4K

        var valid: Bool { tag != 0 }
        /// Page number at `size`.
        var page: UInt64 { tag >> 3 }
    }

    /// Where a lookup ended.
    public enum Lookup: Sendable {
        case hit(Translation)
        /// No entry matched.
        case miss
        /// An entry matched but did not permit the access: it was dropped (SPEC 1).
        case dropped
    }

    public let entryCount: Int
    public let ways: Int
    public let sets: Int
    /// `sets - 1` when `sets` is a power of two (the set index is then a mask), else 0.
    private let setMask: UInt64
    private let setsArePowerOfTwo: Bool
    fileprivate var slots: [Entry]
    private var useCounter: UInt64 = 0
    /// Valid entries of 2 MiB or 1 GiB pages, so 4 KiB lookups skip their probes.
    private var largeEntries = 0

    /// A TLB of `entries` entries in sets of `ways` (entries must be a multiple of
    /// ways; 0 entries makes a disabled TLB that never hits).
    public init(entries: Int, ways: Int) {
        let ways = max(1, min(ways, max(entries, 1)))
        self.entryCount = max(0, entries)
        self.ways = ways
        self.sets = max(1, entryCount / ways)
        setsArePowerOfTwo = sets & (sets - 1) == 0
        setMask = setsArePowerOfTwo ? UInt64(sets - 1) : 0
        // A disabled TLB keeps one empty slot (1 set of 1 way) that nothing is
        // ever inserted into, so a probe needs no emptiness check.
        self.slots = [Entry](repeating: Entry(), count: sets * ways)
    }

    public var isEnabled: Bool { entryCount > 0 }

    /// Number of valid entries (for tests and reports).
    public var occupancy: Int { slots.reduce(0) { $0 + ($1.valid ? 1 : 0) } }

    @inline(__always) static func tag(_ page: UInt64, _ size: PageSize) -> UInt64 {
        page << 3 | UInt64(size.rawValue) << 1 | 1
    }

    @inline(__always) private func setBase(_ page: UInt64) -> Int {
        let set = setsArePowerOfTwo ? page & setMask : page % UInt64(sets)
        return Int(truncatingIfNeeded: set) &* ways
    }

    /// The slot of the valid entry for `page` at `size` usable under `pcid`
    /// (tagged `pcid`, or global), or -1.
    @inline(__always) private func find(_ page: UInt64, _ size: PageSize, _ pcid: PCID) -> Int {
        let base = setBase(page)
        let tag = Self.tag(page, size)
        let ways = ways
        return slots.withUnsafeBufferPointer { buffer in
            var slot = base
            let end = base &+ ways
            while slot < end {
                let e = buffer[slot]
                if e.tag == tag && (e.pcid == pcid.rawValue || e.rights.contains(.global)) { return slot }
                slot &+= 1
            }
            return -1
        }
    }

    @inline(__always) private func findAnySize(_ address: VirtualAddress, _ pcid: PCID) -> Int {
        let slot = find(address.rawValue >> 12, .size4K, pcid)
        if slot >= 0 || largeEntries == 0 { return slot }
        return findLarge(address, pcid)
    }

    /// The 2 MiB, then the 1 GiB probe (only while such entries exist).
    @inline(never) private func findLarge(_ address: VirtualAddress, _ pcid: PCID) -> Int {
        let slot = find(address.rawValue >> 21, .size2M, pcid)
        if slot >= 0 { return slot }
        return find(address.rawValue >> 30, .size1G, pcid)
    }

    /// What `hit` returns when no entry matched.
    static let missed = -1
    /// What `hit` returns when an entry matched but did not permit the access
    /// and was dropped (SPEC 1).
    static let dropped = -2

    /// The slot of the entry that translates `address` for an access of `kind`
    /// under `pcid`, now the most recently used; or `missed`, or `dropped`.
    /// The access path's lookup: a slot index, no enum or `Translation` built.
    @inline(__always) mutating func hit(_ address: VirtualAddress, pcid: PCID, for kind: AccessKind) -> Int {
        let slot = findAnySize(address, pcid)
        guard slot >= 0 else { return Self.missed }
        if !slots[slot].rights.permits(kind) {
            remove(slot)
            return Self.dropped
        }
        useCounter &+= 1
        slots[slot].lastUse = useCounter
        return slot
    }

    /// The physical address the entry in `slot` gives `address`.
    @inline(__always) func physicalAddress(at slot: Int, of address: VirtualAddress) -> PhysicalAddress {
        let e = slots[slot]
        let offsetMask: UInt64 = (1 << (12 &+ 9 &* UInt64(e.size.rawValue))) &- 1
        return PhysicalAddress(rawValue: e.frame << Paging.pageShift &+ (address.rawValue & offsetMask))
    }

    /// The translation the entry in `slot` holds.
    @inline(__always) func translation(at slot: Int) -> Translation {
        let e = slots[slot]
        return Translation(frame: FrameNumber(e.frame), size: e.size, rights: e.rights)
    }

    /// Looks `address` up for an access of `kind` under `pcid`.
    public mutating func lookup(_ address: VirtualAddress, pcid: PCID, for kind: AccessKind) -> Lookup {
        let slot = hit(address, pcid: pcid, for: kind)
        switch slot {
        case Self.missed: return .miss
        case Self.dropped: return .dropped
        default: return .hit(translation(at: slot))
        }
    }

    /// `hit` for a lookup whose miss goes on to a walk: on a clean miss of a
    /// 4 KiB lookup (no large entries, nothing dropped) it also returns the
    /// slot `insert` would give a 4 KiB translation of the page, found in the
    /// same pass over the set; otherwise the victim is -1.
    @inline(__always)
    mutating func hitOrVictim(_ address: VirtualAddress, pcid: PCID, for kind: AccessKind) -> (slot: Int, victim: Int) {
        guard largeEntries == 0 && isEnabled else { return (hit(address, pcid: pcid, for: kind), -1) }
        let page = address.rawValue >> 12
        let base = setBase(page)
        let tag = Self.tag(page, .size4K)
        let ways = ways
        let (slot, victim) = slots.withUnsafeBufferPointer { buffer in
            var victim = base
            var victimUse = UInt64.max
            var slot = base
            let end = base &+ ways
            while slot < end {
                let e = buffer[slot]
                if e.tag == tag && (e.pcid == pcid.rawValue || e.rights.contains(.global)) { return (slot, -1) }
                if e.lastUse < victimUse { victimUse = e.lastUse; victim = slot }
                slot &+= 1
            }
            return (-1, victim)
        }
        guard slot >= 0 else { return (Self.missed, victim) }
        if !slots[slot].rights.permits(kind) {
            remove(slot)
            return (Self.dropped, -1)
        }
        useCounter &+= 1
        slots[slot].lastUse = useCounter
        return (slot, -1)
    }

    /// Caches `translation` for the page holding `address`, evicting the set's LRU entry.
    ///
    /// One pass over the set finds the entry to replace: an existing entry for
    /// the page usable under `pcid`, else the first empty slot, else the first
    /// least recently used entry (empty slots have age 0: the first of least age).
    public mutating func insert(_ address: VirtualAddress, _ translation: Translation, pcid: PCID) {
        insert(address, translation, pcid: pcid, victim: -1)
    }

    /// `insert`, given the `victim` a `hitOrVictim` of the same page and PCID
    /// returned (-1: search the set) with no change to this TLB since.
    @inline(__always)
    mutating func insert(_ address: VirtualAddress, _ translation: Translation, pcid: PCID, victim known: Int) {
        guard isEnabled else { return }
        let page = address.rawValue >> translation.size.shift
        let tag = Self.tag(page, translation.size)
        var victim = known
        if victim < 0 || translation.size != .size4K {
            let base = setBase(page)
            let ways = ways
            victim = slots.withUnsafeBufferPointer { buffer in
                var victim = base
                var victimUse = UInt64.max
                var slot = base
                let end = base &+ ways
                while slot < end {
                    let e = buffer[slot]
                    if e.tag == tag && (e.pcid == pcid.rawValue || e.rights.contains(.global)) { return slot }
                    if e.lastUse < victimUse { victimUse = e.lastUse; victim = slot }
                    slot &+= 1
                }
                return victim
            }
        }
        remove(victim)
        useCounter &+= 1
        slots[victim] = Entry(tag: tag, frame: translation.frame.rawValue, lastUse: useCounter,
                              pcid: pcid.rawValue, rights: translation.rights, size: translation.size)
        if translation.size != .size4K { largeEntries += 1 }
    }

    @inline(__always) private mutating func remove(_ slot: Int) {
        if slots[slot].valid && slots[slot].size != .size4K { largeEntries -= 1 }
        slots[slot] = Entry()
    }

    /// INVLPG / INVPCID individual-address: drops every entry (any page size)
    /// covering `address` tagged `pcid`, and global ones when `includeGlobal`.
    public mutating func invalidate(_ address: VirtualAddress, pcid: PCID, includeGlobal: Bool = true) {
        invalidate(address, .size4K, pcid, includeGlobal)
        if largeEntries > 0 { invalidate(address, .size2M, pcid, includeGlobal) }
        if largeEntries > 0 { invalidate(address, .size1G, pcid, includeGlobal) }
    }

    @inline(__always) private mutating func invalidate(_ address: VirtualAddress, _ size: PageSize, _ pcid: PCID, _ includeGlobal: Bool) {
        let page = address.rawValue >> size.shift
        let tag = Self.tag(page, size)
        let base = setBase(page)
        let end = base &+ ways
        // Read first: most invalidations find nothing and then write nothing.
        var slot = slots.withUnsafeBufferPointer { buffer in
            var slot = base
            while slot < end && buffer[slot].tag != tag { slot &+= 1 }
            return slot
        }
        while slot < end {
            let e = slots[slot]
            if e.tag == tag && (e.pcid == pcid.rawValue || (includeGlobal && e.rights.contains(.global))) {
                remove(slot)
            }
            slot &+= 1
        }
    }

    /// Drops every non-global entry tagged `pcid` (nil: of every PCID), and
    /// global ones too when `includeGlobal`.
    public mutating func flush(pcid: PCID?, includeGlobal: Bool = false) {
        var removedLarge = 0
        slots.withUnsafeMutableBufferPointer { buffer in
            for slot in buffer.indices where buffer[slot].tag != 0 {
                let e = buffer[slot]
                if e.rights.contains(.global) && !includeGlobal { continue }
                if let pcid, e.pcid != pcid.rawValue && !e.rights.contains(.global) { continue }
                if e.size != .size4K { removedLarge += 1 }
                buffer[slot] = Entry()
            }
        }
        largeEntries -= removedLarge
    }

    /// Whether some valid entry tagged `pcid` (or global) covers `address`.
    public func holds(_ address: VirtualAddress, pcid: PCID) -> Bool {
        findAnySize(address, pcid) >= 0
    }
}

extension TranslationLookasideBuffer {
    /// A valid entry translating to a page that contains `frame`, if any: its
    /// page base address and PCID (for the coherence checker).
    public func entry(mapping frame: FrameNumber) -> (address: VirtualAddress, pcid: PCID)? {
        for e in slots where e.valid {
            let frames = e.size.bytes >> Paging.pageShift
            if frame.rawValue >= e.frame && frame.rawValue < e.frame + frames {
                return (VirtualAddress(e.page << e.size.shift), PCID(e.pcid))
            }
        }
        return nil
    }
}
