/// What one slot of a `SetAssociativeArray` holds: a TLB entry, a
/// paging-structure-cache entry, a cached page-table line.
public protocol CacheEntry: Sendable {
    /// The content of a slot that holds nothing.
    static var empty: Self { get }
    var isValid: Bool { get }
}

/// How a set chooses which way to give up. A policy keeps one word of state
/// per slot; an empty slot's state is `emptyState`, and the victim of a set is
/// its first slot whose state no other slot's `isBetterVictim` beats.
public protocol ReplacementPolicy: Sendable {
    /// The state of a slot that holds nothing (or was just emptied).
    static var emptyState: UInt64 { get }
    init()
    /// The state a slot gets when it is filled or hits.
    mutating func stateOnUse() -> UInt64
    /// Whether a slot in state `a` should be evicted before one in state `b`.
    static func isBetterVictim(_ a: UInt64, than b: UInt64) -> Bool
}

/// True LRU by a use stamp: each hit or fill stamps the slot with a counter
/// that only grows; the least recent stamp goes first, and an empty slot
/// (stamp 0) before any used one.
public struct LeastRecentlyUsed: ReplacementPolicy {
    private var counter: UInt64 = 0
    public init() {}
    public static var emptyState: UInt64 { 0 }
    @inline(__always) public mutating func stateOnUse() -> UInt64 {
        counter &+= 1
        return counter
    }
    @inline(__always) public static func isBetterVictim(_ a: UInt64, than b: UInt64) -> Bool { a < b }
}

/// The storage every set-associative structure of the machine shares: TLBs,
/// paging-structure caches (one set: fully associative) and the page-table
/// line cache. `sets × ways` slots in one flat buffer, set `s` holding slots
/// `s*ways ..< (s+1)*ways`; the set of a key is the key modulo the number of
/// sets (a mask when that is a power of two).
///
/// A probe makes one pass over its set and answers either the slot that
/// matched or the slot a fill should take (the replacement policy's victim),
/// so a miss followed by a fill searches once.
///
/// The buffer is allocated by the first fill, not by `init`: a machine of
/// 1,024 cores with 65,536-entry TLBs holds host memory only for the arrays
/// its trace actually fills.
public struct SetAssociativeArray<Entry: CacheEntry, Policy: ReplacementPolicy>: Sendable {
    /// A position in the flat buffer (not a set or a way).
    public struct Slot: Hashable, Sendable {
        @usableFromInline let index: Int
        @inlinable init(_ index: Int) { self.index = index }
    }

    /// What a probe of one set found.
    public enum Probe: Sendable {
        case hit(Slot)
        /// No slot matched; the slot a fill of the set should take, nil when
        /// the array has no slots at all.
        case miss(victim: Slot?)
    }

    @usableFromInline struct Stored: Sendable {
        @usableFromInline var entry: Entry
        @usableFromInline var state: UInt64
    }

    public let sets: Int
    public let ways: Int
    private let setMask: UInt64
    private let setsArePowerOfTwo: Bool
    /// Empty until the first fill; then `slotCount` slots.
    @usableFromInline var storage: [Stored] = []
    /// Slots in all, allocated or not.
    private let slotCount: Int
    @usableFromInline var policy = Policy()
    /// Slots holding a valid entry.
    public private(set) var validCount = 0

    /// `capacity` slots in sets of `ways` (ways clamped to 1 ... capacity);
    /// a capacity of 0 holds nothing and every probe misses with no victim.
    public init(capacity: Int, ways: Int) {
        let capacity = max(0, capacity)
        self.ways = max(1, min(ways, max(capacity, 1)))
        sets = max(1, capacity / self.ways)
        setsArePowerOfTwo = sets & (sets - 1) == 0
        setMask = setsArePowerOfTwo ? UInt64(sets - 1) : 0
        slotCount = capacity == 0 ? 0 : sets * self.ways
    }

    /// Slots in all (0 for an array that holds nothing).
    public var capacity: Int { slotCount }

    /// Allocates the buffer, every slot empty (the first fill's work).
    @inline(never) mutating func allocate() {
        storage = [Stored](repeating: Stored(entry: .empty, state: Policy.emptyState), count: slotCount)
    }

    @inline(__always) func firstSlot(ofSetFor key: UInt64) -> Int {
        let set = setsArePowerOfTwo ? key & setMask : key % UInt64(sets)
        return Int(truncatingIfNeeded: set) &* ways
    }

    /// The entry in `slot`, a slot a probe hit.
    @inline(__always) public subscript(slot: Slot) -> Entry { storage[slot.index].entry }

    /// The entry in `slot`, any slot (a victim too): empty before the first fill.
    @inline(__always) public func entry(inAnySlot slot: Slot) -> Entry {
        storage.isEmpty ? .empty : storage[slot.index].entry
    }

    /// One pass over the set of `key`: the first slot whose entry `matches`
    /// (valid or not: an empty entry must not match), else the victim.
    @inline(__always)
    public func probe(set key: UInt64, where matches: (Entry) -> Bool) -> Probe {
        // Not yet allocated: every slot is empty, so the set's first slot is its victim.
        guard !storage.isEmpty else { return .miss(victim: slotCount == 0 ? nil : Slot(firstSlot(ofSetFor: key))) }
        let base = firstSlot(ofSetFor: key)
        let end = base &+ ways
        return storage.withUnsafeBufferPointer { buffer in
            var victim = base
            var victimState = buffer[base].state
            var slot = base
            while slot < end {
                let stored = buffer[slot]
                if matches(stored.entry) { return .hit(Slot(slot)) }
                if Policy.isBetterVictim(stored.state, than: victimState) {
                    victimState = stored.state
                    victim = slot
                }
                slot &+= 1
            }
            return .miss(victim: Slot(victim))
        }
    }

    /// The first slot of the set of `key` whose entry `matches`, if any.
    @inline(__always)
    public func find(set key: UInt64, where matches: (Entry) -> Bool) -> Slot? {
        guard !storage.isEmpty else { return nil }
        let base = firstSlot(ofSetFor: key)
        let end = base &+ ways
        return storage.withUnsafeBufferPointer { buffer in
            var slot = base
            while slot < end {
                if matches(buffer[slot].entry) { return Slot(slot) }
                slot &+= 1
            }
            return nil
        }
    }

    /// Marks `slot` as just used (a hit).
    @inline(__always) public mutating func touch(_ slot: Slot) {
        storage[slot.index].state = policy.stateOnUse()
    }

    /// Puts `entry` in `slot`, as just used.
    @inline(__always) public mutating func fill(_ slot: Slot, with entry: Entry) {
        if storage.isEmpty { allocate() }
        if !storage[slot.index].entry.isValid { validCount &+= 1 }
        storage[slot.index] = Stored(entry: entry, state: policy.stateOnUse())
    }

    /// Empties `slot` (its replacement state too).
    @inline(__always) public mutating func remove(_ slot: Slot) {
        guard !storage.isEmpty else { return }
        if storage[slot.index].entry.isValid { validCount &-= 1 }
        storage[slot.index] = Stored(entry: .empty, state: Policy.emptyState)
    }

    /// Empties every slot of the set of `key` whose entry `matches` (a pure
    /// test: it may be asked twice of a slot), calling `removed` once with
    /// each entry taken out. Reads before it writes: a set with no match is
    /// left untouched.
    @inline(__always)
    public mutating func removeAll(inSetOf key: UInt64, where matches: (Entry) -> Bool,
                                   removed: (Entry) -> Void = { _ in }) {
        guard !storage.isEmpty else { return }
        let base = firstSlot(ofSetFor: key)
        let end = base &+ ways
        guard var slot = find(set: key, where: matches)?.index else { return }
        while slot < end {
            let entry = storage[slot].entry
            if matches(entry) {
                removed(entry)
                remove(Slot(slot))
            }
            slot &+= 1
        }
    }

    /// Empties the first slot of the set of `key` whose entry `matches` (for
    /// arrays whose tags are unique: there is at most one).
    @inline(__always)
    public mutating func removeFirst(inSetOf key: UInt64, where matches: (Entry) -> Bool) {
        if let slot = find(set: key, where: matches) { remove(slot) }
    }

    /// Empties every valid entry `matches` accepts (asked once per valid
    /// entry). Filled slots sit mostly at the front of each set, so the scan
    /// stops once every valid entry has been seen.
    @inline(__always)
    public mutating func removeAll(where matches: (Entry) -> Bool) {
        let valid = validCount
        guard valid > 0 else { return }
        var removed = 0
        storage.withUnsafeMutableBufferPointer { buffer in
            var seen = 0
            var slot = 0
            while slot < buffer.count && seen < valid {
                if buffer[slot].entry.isValid {
                    seen &+= 1
                    if matches(buffer[slot].entry) {
                        buffer[slot] = Stored(entry: .empty, state: Policy.emptyState)
                        removed &+= 1
                    }
                }
                slot &+= 1
            }
        }
        validCount -= removed
    }

    /// The first valid entry `matches` accepts, in slot order.
    public func first(where matches: (Entry) -> Bool) -> Entry? {
        for stored in storage where stored.entry.isValid && matches(stored.entry) { return stored.entry }
        return nil
    }
}
