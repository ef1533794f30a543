/// A set-associative, PCID-tagged TLB with true LRU replacement.
///
/// The set index is the page number (at the entry's page size) modulo the
/// number of sets; the PCID is not hashed in. An entry of any page size may
/// live here; 2 MiB and 1 GiB sets are probed only while such entries exist.
/// A TLB of 0 entries is disabled: it never hits and keeps nothing.
public struct TranslationLookasideBuffer: Sendable {
    /// One cached translation. Its page number, size and validity are folded
    /// into one 64-bit tag, so a probe compares one word per way.
    public struct Entry: CacheEntry {
        /// `page << 3 | size << 1 | 1`, where `page` is VA >> size.shift; 0 when empty.
        var tag: UInt64 = 0
        var frame: UInt64 = 0
        var pcid: UInt16 = 0
        var rights: AccessRights = []
        var size: PageSize = .size4K
        /// The size of the page it is a piece of (`size` unless fractured).
        var origin: PageSize = .size4K

        public static var empty: Entry { Entry() }
        public static var emptyIsZeroBits: Bool { true }
        public var isValid: Bool { tag != 0 }
        public var indexTag: UInt64 { tag }
        /// Page number at `size`.
        var page: UInt64 { tag >> 3 }

        /// Whether this entry is for the page `tag` and usable under `pcid`
        /// (tagged with it, or global).
        @inline(__always) func matches(_ tag: UInt64, _ pcid: PCID) -> Bool {
            self.tag == tag && (self.pcid == pcid.rawValue || rights.contains(.global))
        }
    }

    /// Where a lookup ended.
    public enum Lookup: Sendable {
        case hit(Translation)
        /// No entry matched.
        case miss
        /// An entry matched but did not permit the access: it was dropped.
        case dropped
    }

    public typealias Slot = SetAssociativeArray<Entry, LeastRecentlyUsed>.Slot

    /// What the access path's lookup found: the slot that hit, or a miss with
    /// the slot a fill of the same 4 KiB page should take (when known).
    @usableFromInline enum Probe {
        case hit(Slot)
        case miss(fillAt: Slot?)
        case dropped
    }

    public let entryCount: Int
    /// Internal for the L1 short ways (L1HitRun.swift) alone.
    var array: SetAssociativeArray<Entry, LeastRecentlyUsed>
    /// Valid entries of 2 MiB or 1 GiB pages, so 4 KiB lookups skip their
    /// probes; one more when the array's sets are indexed, so its 4 KiB
    /// lookups go the same out-of-line way (`findLarge`).
    private(set) var largeEntries = 0
    /// Valid entries that are pieces of a larger page, so INVLPG looks for
    /// them only while there are any.
    private var fracturedEntries = 0

    /// A TLB of `entries` entries in sets of `ways` (entries must be a multiple
    /// of ways; 0 entries makes a disabled TLB).
    public init(entries: Int, ways: Int) {
        entryCount = max(0, entries)
        // A disabled TLB keeps one empty slot that nothing is ever put in, so
        // a probe needs no emptiness check.
        array = SetAssociativeArray(capacity: max(1, entryCount), ways: entryCount == 0 ? 1 : ways)
        largeEntries = array.indexed ? 1 : 0
    }

    public var isEnabled: Bool { entryCount > 0 }
    public var ways: Int { array.ways }
    public var sets: Int { array.sets }
    /// Number of valid entries.
    public var occupancy: Int { array.validCount }

    @inline(__always) static func tag(_ page: UInt64, _ size: PageSize) -> UInt64 {
        page << 3 | UInt64(size.rawValue) << 1 | 1
    }

    /// The slot of the valid entry for `address` at `size` usable under `pcid`.
    @inline(__always) private func find(_ address: VirtualAddress, _ size: PageSize, _ pcid: PCID) -> Slot? {
        let page = address.rawValue >> size.shift
        let tag = Self.tag(page, size)
        return array.find(set: page, tag: tag) { $0.matches(tag, pcid) }
    }

    @inline(__always) private func findAnySize(_ address: VirtualAddress, _ pcid: PCID) -> Slot? {
        let page = address.rawValue >> 12
        let tag = Self.tag(page, .size4K)
        if let slot = array.findIfNarrow(set: page, where: { $0.matches(tag, pcid) }) { return slot }
        return largeEntries == 0 ? nil : findLarge(address, pcid)
    }

    /// The 4 KiB probe of indexed sets, then the 2 MiB and the 1 GiB probe
    /// (only while such entries exist).
    @inline(never) private func findLarge(_ address: VirtualAddress, _ pcid: PCID) -> Slot? {
        if array.indexed, let slot = find(address, .size4K, pcid) { return slot }
        return find(address, .size2M, pcid) ?? find(address, .size1G, pcid)
    }

    /// The L1's lookup of `address` for an access of `kind` under `pcid`: a
    /// plain tag search (the hit path); a hit becomes the most recently used,
    /// a matching entry that does not permit the access is dropped.
    @inline(__always)
    @usableFromInline mutating func search(_ address: VirtualAddress, pcid: PCID, for kind: AccessKind) -> Probe {
        guard let slot = findAnySize(address, pcid) else { return .miss(fillAt: nil) }
        return use(slot, for: kind)
    }

    /// `search` of an array that holds one page size only (the L1's 2 MiB
    /// and 1 GiB arrays, the L2's 1 GiB array): one probe at that size.
    @inline(__always)
    mutating func search(_ address: VirtualAddress, pcid: PCID, for kind: AccessKind, size: PageSize) -> Probe {
        guard occupancy > 0, let slot = find(address, size, pcid) else { return .miss(fillAt: nil) }
        return use(slot, for: kind)
    }

    /// `search` that, on a clean miss of a 4 KiB lookup (no large entries),
    /// also finds in the same pass the slot a 4 KiB fill of the page takes
    /// (the L2's lookup, whose misses are followed by a walk and a fill).
    @inline(__always)
    @usableFromInline mutating func probe(_ address: VirtualAddress, pcid: PCID, for kind: AccessKind) -> Probe {
        let found: Slot
        if largeEntries == 0 {
            let page = address.rawValue >> 12
            let tag = Self.tag(page, .size4K)
            switch array.probe(set: page, where: { $0.matches(tag, pcid) }) {
            case .hit(let slot): found = slot
            case .miss(let victim): return .miss(fillAt: victim)
            }
        } else {
            guard let slot = findAnySize(address, pcid) else { return .miss(fillAt: nil) }
            found = slot
        }
        return use(found, for: kind)
    }

    /// A matching entry: a hit if it permits the access, else dropped.
    @inline(__always) private mutating func use(_ slot: Slot, for kind: AccessKind) -> Probe {
        guard array[slot].rights.permits(kind) else {
            remove(slot)
            return .dropped
        }
        array.touch(slot)
        return .hit(slot)
    }

    /// The physical address the entry in `slot` gives `address`.
    @inline(__always) func physicalAddress(at slot: Slot, of address: VirtualAddress) -> PhysicalAddress {
        let e = array[slot]
        let offsetMask: UInt64 = (1 << (12 &+ 9 &* UInt64(e.size.rawValue))) &- 1
        return PhysicalAddress(rawValue: e.frame << Paging.pageShift &+ (address.rawValue & offsetMask))
    }

    /// The page size of the entry in `slot`.
    @inline(__always) func size(at slot: Slot) -> PageSize { array[slot].size }

    /// The translation the entry in `slot` holds.
    @inline(__always) func translation(at slot: Slot) -> Translation {
        let e = array[slot]
        return Translation(frame: FrameNumber(e.frame), size: e.size, rights: e.rights, origin: e.origin)
    }

    /// Looks `address` up for an access of `kind` under `pcid`.
    public mutating func lookup(_ address: VirtualAddress, pcid: PCID, for kind: AccessKind) -> Lookup {
        switch probe(address, pcid: pcid, for: kind) {
        case .hit(let slot): return .hit(translation(at: slot))
        case .miss: return .miss
        case .dropped: return .dropped
        }
    }

    /// Caches `translation` for the page holding `address`: replaces an entry
    /// for the page usable under `pcid`, else the set's first empty slot, else
    /// its least recently used entry.
    public mutating func insert(_ address: VirtualAddress, _ translation: Translation, pcid: PCID) {
        insert(address, translation, pcid: pcid, at: nil)
    }

    /// `insert`, given the slot a `probe` of the same 4 KiB page and PCID
    /// chose, with no change to this TLB since (nil: search the set).
    @inline(__always)
    mutating func insert(_ address: VirtualAddress, _ translation: Translation, pcid: PCID, at known: Slot?) {
        guard isEnabled else { return }
        let page = address.rawValue >> translation.size.shift
        let tag = Self.tag(page, translation.size)
        var slot = translation.size == .size4K ? known : nil
        if slot == nil {
            switch array.probe(set: page, tag: tag, where: { $0.matches(tag, pcid) }) {
            case .hit(let existing): slot = existing
            case .miss(let victim): slot = victim
            }
        }
        guard let slot else { return }
        remove(slot)
        array.fill(slot, with: Entry(tag: tag, frame: translation.frame.rawValue, pcid: pcid.rawValue,
                                     rights: translation.rights, size: translation.size, origin: translation.origin))
        if translation.size != .size4K { largeEntries += 1 }
        if translation.origin != translation.size { fracturedEntries += 1 }
    }

    @inline(__always) private mutating func remove(_ slot: Slot) {
        let e = array.entry(inAnySlot: slot)
        if e.isValid && e.size != .size4K { largeEntries -= 1 }
        if e.isValid && e.origin != e.size { fracturedEntries -= 1 }
        array.remove(slot)
    }

    /// INVLPG / INVPCID individual-address: drops every entry (any page size)
    /// covering `address` tagged `pcid`, and global ones when `includeGlobal`.
    public mutating func invalidate(_ address: VirtualAddress, pcid: PCID, includeGlobal: Bool = true) {
        invalidate(address, .size4K, pcid, includeGlobal)
        if largeEntries > 0 { invalidate(address, .size2M, pcid, includeGlobal) }
        if largeEntries > 0 { invalidate(address, .size1G, pcid, includeGlobal) }
        if fracturedEntries > 0 { invalidatePieces(of: address, pcid, includeGlobal) }
    }

    /// Drops every piece of a larger page that holds `address` (they sit in
    /// other sets: the whole array is searched).
    @inline(never)
    private mutating func invalidatePieces(of address: VirtualAddress, _ pcid: PCID, _ includeGlobal: Bool) {
        var removed = 0
        array.removeAll { e in
            guard e.origin != e.size, e.pcid == pcid.rawValue || (includeGlobal && e.rights.contains(.global)) else { return false }
            let shift = e.origin.shift
            guard (e.page << e.size.shift) >> shift == address.rawValue >> shift else { return false }
            removed += 1
            return true
        }
        fracturedEntries -= removed
    }

    @inline(__always)
    private mutating func invalidate(_ address: VirtualAddress, _ size: PageSize, _ pcid: PCID, _ includeGlobal: Bool) {
        let page = address.rawValue >> size.shift
        let tag = Self.tag(page, size)
        var removedLarge = 0, removedPieces = 0
        array.removeAll(inSetOf: page, tag: tag, where: { e in
            e.tag == tag && (e.pcid == pcid.rawValue || (includeGlobal && e.rights.contains(.global)))
        }, removed: { e in
            if e.size != .size4K { removedLarge += 1 }
            if e.origin != e.size { removedPieces += 1 }
        })
        largeEntries -= removedLarge
        fracturedEntries -= removedPieces
    }

    /// Drops every non-global entry tagged `pcid` (nil: of every PCID), and
    /// global ones too when `includeGlobal`.
    public mutating func flush(pcid: PCID?, includeGlobal: Bool = false) {
        var removedLarge = 0
        var removedPieces = 0
        array.removeAll { e in
            if e.rights.contains(.global) && !includeGlobal { return false }
            if let pcid, e.pcid != pcid.rawValue && !e.rights.contains(.global) { return false }
            if e.size != .size4K { removedLarge += 1 }
            if e.origin != e.size { removedPieces += 1 }
            return true
        }
        largeEntries -= removedLarge
        fracturedEntries -= removedPieces
    }

    /// Drops every entry whose tag belongs to VM `vpid` (INVEPT's combined mappings).
    public mutating func flush(vpid: UInt16) {
        var removedLarge = 0
        var removedPieces = 0
        array.removeAll { e in
            guard e.pcid >> 12 == vpid else { return false }
            if e.size != .size4K { removedLarge += 1 }
            if e.origin != e.size { removedPieces += 1 }
            return true
        }
        largeEntries -= removedLarge
        fracturedEntries -= removedPieces
    }

    /// Whether some valid entry tagged `pcid` (or global) covers `address`.
    public func holds(_ address: VirtualAddress, pcid: PCID) -> Bool {
        findAnySize(address, pcid) != nil
    }

    /// A valid entry translating to a page that overlaps `frames`, if any:
    /// the lowest such frame, the page's base address and its PCID.
    public func entry(mapping frames: Range<FrameNumber>, where usable: (PCID) -> Bool = { _ in true })
        -> (frame: FrameNumber, address: VirtualAddress, pcid: PCID)? {
        array.first { e in
            let end = e.frame + (e.size.bytes >> Paging.pageShift)
            return frames.lowerBound.rawValue < end && e.frame < frames.upperBound.rawValue && usable(PCID(e.pcid))
        }.map { (FrameNumber(max($0.frame, frames.lowerBound.rawValue)), VirtualAddress($0.page << $0.size.shift), PCID($0.pcid)) }
    }
}
