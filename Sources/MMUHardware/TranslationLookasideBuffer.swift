/// A set-associative, PCID-tagged TLB with true LRU replacement.
///
/// Storage is one flat array of `sets * ways` entries; set `s` holds slots
/// `s*ways ..< (s+1)*ways`. The set index is the page number (at the entry's
/// page size) modulo the number of sets; the PCID is not hashed in (SPEC 6).
/// An entry of any page size may live here; 2 MiB and 1 GiB sets are probed
/// only while such entries exist.
public struct TranslationLookasideBuffer: Sendable {
    /// One cached translation.
    public struct Entry: Sendable {
        /// Page number at `size` (VA >> size.shift).
        var page: UInt64 = 0
        var frame: UInt64 = 0
        /// LRU age: larger is more recent.
        var lastUse: UInt64 = 0
        var pcid: UInt16 = 0
        var size: UInt8 = 0
        var rights: AccessRights = []
        var valid = false
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
        self.slots = [Entry](repeating: Entry(), count: entryCount == 0 ? 0 : sets * ways)
    }

    public var isEnabled: Bool { entryCount > 0 }

    /// Number of valid entries (for tests and reports).
    public var occupancy: Int { slots.reduce(0) { $0 + ($1.valid ? 1 : 0) } }

    @inline(__always) private func setBase(_ page: UInt64) -> Int {
        Int(truncatingIfNeeded: page % UInt64(sets)) &* ways
    }

    @inline(__always) private func find(_ page: UInt64, _ size: PageSize, _ pcid: PCID) -> Int? {
        guard !slots.isEmpty else { return nil }
        let base = setBase(page)
        var slot = base
        let end = base &+ ways
        while slot < end {
            let e = slots[slot]
            if e.valid && e.page == page && e.size == size.rawValue
                && (e.pcid == pcid.rawValue || e.rights.contains(.global)) {
                return slot
            }
            slot &+= 1
        }
        return nil
    }

    @inline(__always) private func findAnySize(_ address: VirtualAddress, _ pcid: PCID) -> Int? {
        if let slot = find(address.rawValue >> 12, .size4K, pcid) { return slot }
        if largeEntries > 0 {
            if let slot = find(address.rawValue >> 21, .size2M, pcid) { return slot }
            if let slot = find(address.rawValue >> 30, .size1G, pcid) { return slot }
        }
        return nil
    }

    /// Looks `address` up for an access of `kind` under `pcid`.
    public mutating func lookup(_ address: VirtualAddress, pcid: PCID, for kind: AccessKind) -> Lookup {
        guard let slot = findAnySize(address, pcid) else { return .miss }
        let e = slots[slot]
        if !e.rights.permits(kind) {
            remove(slot)
            return .dropped
        }
        useCounter &+= 1
        slots[slot].lastUse = useCounter
        return .hit(Translation(frame: FrameNumber(e.frame), size: PageSize(rawValue: e.size) ?? .size4K, rights: e.rights))
    }

    /// Caches `translation` for the page holding `address`, evicting the set's LRU entry.
    public mutating func insert(_ address: VirtualAddress, _ translation: Translation, pcid: PCID) {
        guard isEnabled else { return }
        let page = address.rawValue >> translation.size.shift
        var victim: Int
        if let existing = find(page, translation.size, pcid) {
            victim = existing
            remove(existing)
        } else {
            let base = setBase(page)
            victim = base
            var oldest = UInt64.max
            for slot in base..<(base + ways) {
                if !slots[slot].valid { victim = slot; break }
                if slots[slot].lastUse < oldest { oldest = slots[slot].lastUse; victim = slot }
            }
            if slots[victim].valid { remove(victim) }
        }
        useCounter &+= 1
        slots[victim] = Entry(page: page, frame: translation.frame.rawValue, lastUse: useCounter,
                              pcid: pcid.rawValue, size: translation.size.rawValue,
                              rights: translation.rights, valid: true)
        if translation.size != .size4K { largeEntries += 1 }
    }

    private mutating func remove(_ slot: Int) {
        if slots[slot].valid && slots[slot].size != PageSize.size4K.rawValue { largeEntries -= 1 }
        slots[slot].valid = false
    }

    /// INVLPG / INVPCID individual-address: drops every entry (any page size)
    /// covering `address` tagged `pcid`, and global ones when `includeGlobal`.
    public mutating func invalidate(_ address: VirtualAddress, pcid: PCID, includeGlobal: Bool = true) {
        guard !slots.isEmpty else { return }
        for size in PageSize.allCases {
            if size != .size4K && largeEntries == 0 { break }
            let page = address.rawValue >> size.shift
            let base = setBase(page)
            for slot in base..<(base + ways) {
                let e = slots[slot]
                if e.valid && e.page == page && e.size == size.rawValue
                    && (e.pcid == pcid.rawValue || (includeGlobal && e.rights.contains(.global))) {
                    remove(slot)
                }
            }
        }
    }

    /// Drops every non-global entry tagged `pcid` (nil: of every PCID), and
    /// global ones too when `includeGlobal`.
    public mutating func flush(pcid: PCID?, includeGlobal: Bool = false) {
        for slot in slots.indices where slots[slot].valid {
            let e = slots[slot]
            if e.rights.contains(.global) && !includeGlobal { continue }
            if let pcid, e.pcid != pcid.rawValue && !e.rights.contains(.global) { continue }
            remove(slot)
        }
    }

    /// Whether some valid entry tagged `pcid` (or global) covers `address`.
    public func holds(_ address: VirtualAddress, pcid: PCID) -> Bool {
        findAnySize(address, pcid) != nil
    }
}

extension TranslationLookasideBuffer {
    /// A valid entry translating to a page that contains `frame`, if any: its
    /// page base address and PCID (for the coherence checker).
    public func entry(mapping frame: FrameNumber) -> (address: VirtualAddress, pcid: PCID)? {
        for e in slots where e.valid {
            let size = PageSize(rawValue: e.size) ?? .size4K
            let frames = size.bytes >> Paging.pageShift
            if frame.rawValue >= e.frame && frame.rawValue < e.frame + frames {
                return (VirtualAddress(e.page << size.shift), PCID(e.pcid))
            }
        }
        return nil
    }
}
