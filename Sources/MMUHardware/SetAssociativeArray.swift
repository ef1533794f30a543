/// What one slot of a `SetAssociativeArray` holds: a TLB entry, a
/// paging-structure-cache entry, a cached page-table line.
public protocol CacheEntry: Sendable, BitwiseCopyable {
    /// The content of a slot that holds nothing.
    static var empty: Self { get }
    var isValid: Bool { get }
    /// The word a lookup's tag must equal for this entry to match (a TLB
    /// entry's page tag): wide sets index their slots by it.
    var indexTag: UInt64 { get }
    /// Whether memory of all zero bits reads as `empty` (then slots never
    /// filled take no host memory: `SlotStorage`).
    static var emptyIsZeroBits: Bool { get }
}

extension CacheEntry {
    public static var emptyIsZeroBits: Bool { false }
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
    /// Whether every `stateOnUse` is above every earlier one and above
    /// `emptyState`: then a set's victim is its first empty slot, else the
    /// slot whose state is least, and wide sets can find it without a scan.
    static var statesIncreaseWithUse: Bool { get }
}

extension ReplacementPolicy {
    public static var statesIncreaseWithUse: Bool { false }
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
    public static var statesIncreaseWithUse: Bool { true }
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
///
/// Sets wider than `indexedWays` (a fully associative 65,536-entry TLB) are
/// indexed: the lookups that give the tag their matches carry
/// (`probe(set:tag:where:)`, `find(set:tag:where:)`, the removals taking
/// `tag:`) hash it to the slots holding it instead of scanning the set, and
/// a miss takes its victim from a bitmap of the set's empty slots and a heap
/// of its slots by last use (`WideSets`). The answers are the scan's, slot
/// for slot. Narrow sets scan exactly as before, and a hit's `touch` costs
/// the same in both: the heap is brought up to date by the next miss.
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

    @usableFromInline struct Stored: Sendable, BitwiseCopyable {
        @usableFromInline var entry: Entry
        @usableFromInline var state: UInt64
    }

    // Sets and ways share a word, and so do the three flags and
    // `narrowWays`: a core holds a dozen of these arrays, and the access path
    // copies some of them (each word costs the TLB hit path an instruction).
    private let setCount: Int32
    private let wayCount: Int32
    public var sets: Int { Int(setCount) }
    public var ways: Int { Int(wayCount) }
    private let setMask: UInt64
    private let setsArePowerOfTwo: Bool
    /// Whether the sets are indexed: wider than `indexedWays`, under a policy
    /// whose states increase with use.
    public let indexed: Bool
    /// A capacity of 0: no slots at all.
    private let holdsNothing: Bool
    /// `ways` for narrow sets, 0 for indexed ones: what `findIfNarrow` scans.
    @usableFromInline let narrowWays: Int32
    /// Empty until the first fill; then `slotCount` slots, holding host
    /// memory only for the pages of slots filled (`SlotStorage`).
    @usableFromInline var storage = SlotStorage<Stored>()
    /// The index of indexed sets: one element from the first fill on, none
    /// before it or for narrow sets (an array keeps this struct small).
    @usableFromInline var wide: [WideSets] = []
    @usableFromInline var policy = Policy()
    /// Slots holding a valid entry.
    public private(set) var validCount = 0

    /// `capacity` slots in sets of `ways` (ways clamped to 1 ... capacity,
    /// capacity to 0 ... 2^31 - 1); a capacity of 0 holds nothing and every
    /// probe misses with no victim.
    public init(capacity: Int, ways: Int) {
        let capacity = min(max(0, capacity), Int(Int32.max))
        wayCount = Int32(max(1, min(ways, max(capacity, 1))))
        setCount = Int32(max(1, capacity / Int(wayCount)))
        let sets = Int(setCount)
        setsArePowerOfTwo = sets & (sets - 1) == 0
        setMask = setsArePowerOfTwo ? UInt64(sets - 1) : 0
        holdsNothing = capacity == 0
        indexed = Int(wayCount) > Self.indexedWays && Policy.statesIncreaseWithUse
        narrowWays = indexed ? 0 : wayCount
    }

    /// Sets of more ways than this are indexed. A scan of 32 ways (the PDE
    /// cache's) is still cheaper than the index's upkeep.
    public static var indexedWays: Int { 32 }

    /// Slots in all, allocated or not.
    private var slotCount: Int { holdsNothing ? 0 : sets &* ways }

    /// Slots in all (0 for an array that holds nothing).
    public var capacity: Int { slotCount }

    /// Allocates the buffer, every slot empty (the first fill's work).
    @inline(never) mutating func allocate() {
        storage = SlotStorage(count: slotCount, empty: Stored(entry: .empty, state: Policy.emptyState),
                              emptyIsZeroBits: Entry.emptyIsZeroBits && Policy.emptyState == 0)
        if indexed { wide = [WideSets(sets: sets, ways: ways)] }
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
        scan(set: key, ways: ways, where: matches)
    }

    /// `find(set:where:)` for narrow sets; nil, without a look, for indexed
    /// ones (ask `find(set:tag:where:)`). A hit path that can take a miss to
    /// a slower path anyway saves the test of `indexed` this way.
    @inline(__always)
    public func findIfNarrow(set key: UInt64, where matches: (Entry) -> Bool) -> Slot? {
        guard !storage.isEmpty else { return nil }
        // `narrowWays` alone: an indexed array's scan starts and ends at 0.
        let set = setsArePowerOfTwo ? key & setMask : key % UInt64(sets)
        let base = Int(truncatingIfNeeded: set) &* Int(narrowWays)
        return scan(Range(uncheckedBounds: (base, base &+ Int(narrowWays))), where: matches)
    }

    @inline(__always)
    func scan(set key: UInt64, ways: Int, where matches: (Entry) -> Bool) -> Slot? {
        guard !storage.isEmpty else { return nil }
        let base = firstSlot(ofSetFor: key)
        return scan(Range(uncheckedBounds: (base, base &+ ways)), where: matches)
    }

    /// The first slot of `slots` whose entry `matches`, if any.
    @inline(__always)
    func scan(_ slots: Range<Int>, where matches: (Entry) -> Bool) -> Slot? {
        let base = slots.lowerBound, end = slots.upperBound
        return storage.withUnsafeBufferPointer { buffer in
            var slot = base
            while slot < end {
                if matches(buffer[slot].entry) { return Slot(slot) }
                slot &+= 1
            }
            return nil
        }
    }

    /// Where the narrow set of a key starts and how many ways it has, apart
    /// from the array (for a loop holding its slots in place); an indexed
    /// array's sets are 0 ways wide here, as in `findIfNarrow`.
    @usableFromInline struct NarrowSets {
        let setMask: UInt64
        let setsArePowerOfTwo: Bool
        let sets: UInt64
        let ways: Int
        @inline(__always) func firstSlot(ofSetFor key: UInt64) -> Int {
            let set = setsArePowerOfTwo ? key & setMask : key % sets
            return Int(truncatingIfNeeded: set) &* ways
        }
    }

    @inline(__always) var narrowSets: NarrowSets {
        NarrowSets(setMask: setMask, setsArePowerOfTwo: setsArePowerOfTwo, sets: UInt64(sets),
                   ways: storage.isEmpty ? 0 : Int(narrowWays))
    }

    /// The slots in place and the policy, for a run of lookups that only read
    /// entries and mark hits (`TranslationLookasideBuffer.HitRun`): one
    /// uniqueness check for the whole run instead of one per hit. Before the
    /// first fill the buffer is empty.
    @inline(__always)
    mutating func withSlotsInPlace<R>(_ body: (UnsafeMutableBufferPointer<Stored>, inout Policy) -> R) -> R {
        var policy = self.policy
        let result = storage.withUnsafeMutableBufferPointer { body($0, &policy) }
        self.policy = policy
        return result
    }

    /// Marks `slot` as just used (a hit).
    @inline(__always) public mutating func touch(_ slot: Slot) {
        storage[slot.index].state = policy.stateOnUse()
    }

    /// Puts `entry` in `slot`, as just used.
    @inline(__always) public mutating func fill(_ slot: Slot, with entry: Entry) {
        if storage.isEmpty { allocate() }
        if !storage[slot.index].entry.isValid { validCount &+= 1 }
        let state = policy.stateOnUse()
        if indexed { indexFill(slot.index, with: entry.indexTag, state: state) }
        storage[slot.index] = Stored(entry: entry, state: state)
    }

    /// Empties `slot` (its replacement state too).
    @inline(__always) public mutating func remove(_ slot: Slot) {
        guard !storage.isEmpty else { return }
        if storage[slot.index].entry.isValid { validCount &-= 1 }
        if indexed { indexRemove(slot.index) }
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
        if indexed { return removeAllIndexed(valid: valid, where: matches) }
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

    /// `removeAll(where:)` of indexed sets: each removal keeps the index.
    @inline(never)
    mutating func removeAllIndexed(valid: Int, where matches: (Entry) -> Bool) {
        var seen = 0
        var slot = 0
        while slot < storage.count && seen < valid {
            let entry = storage[slot].entry
            if entry.isValid {
                seen &+= 1
                if matches(entry) { remove(Slot(slot)) }
            }
            slot &+= 1
        }
    }

    // MARK: Lookups that give the tag

    /// `probe(set:where:)` for a lookup whose matches all carry `tag`
    /// (`matches(e)` implies `e.indexTag == tag`): the same answer, from the
    /// index when the sets are indexed (mutating: a miss brings the set's
    /// use order up to date).
    @inline(__always)
    public mutating func probe(set key: UInt64, tag: UInt64, where matches: (Entry) -> Bool) -> Probe {
        if indexed { return indexedProbe(set: key, tag: tag, where: matches) }
        return probe(set: key, where: matches)
    }

    /// `find(set:where:)` for matches that all carry `tag`.
    @inline(__always)
    public func find(set key: UInt64, tag: UInt64, where matches: (Entry) -> Bool) -> Slot? {
        if indexed { return indexedFind(set: key, tag: tag, where: matches).map(Slot.init) }
        return find(set: key, where: matches)
    }

    /// `removeAll(inSetOf:where:removed:)` for matches that all carry `tag`:
    /// the same removals, in slot order.
    @inline(__always)
    public mutating func removeAll(inSetOf key: UInt64, tag: UInt64, where matches: (Entry) -> Bool,
                                   removed: (Entry) -> Void = { _ in }) {
        guard indexed else { return removeAll(inSetOf: key, where: matches, removed: removed) }
        while let slot = indexedFind(set: key, tag: tag, where: matches) {
            removed(storage[slot].entry)
            remove(Slot(slot))
        }
    }

    /// `removeFirst(inSetOf:where:)` for matches that all carry `tag`.
    @inline(__always)
    public mutating func removeFirst(inSetOf key: UInt64, tag: UInt64, where matches: (Entry) -> Bool) {
        if let slot = find(set: key, tag: tag, where: matches) { remove(slot) }
    }

    /// The lowest slot of the set of `key` holding `tag` whose entry `matches`.
    @inline(never)
    func indexedFind(set key: UInt64, tag: UInt64, where matches: (Entry) -> Bool) -> Int? {
        guard let wide = wide.first else { return nil }
        let base = firstSlot(ofSetFor: key)
        let end = base &+ ways
        var found = Int.max
        var slot = wide.head(of: tag)
        while slot >= 0 {
            if slot >= base && slot < end && slot < found {
                let entry = storage[slot].entry
                if entry.indexTag == tag && matches(entry) { found = slot }
            }
            slot = wide.next(after: slot)
        }
        return found == .max ? nil : found
    }

    @inline(never)
    mutating func indexedProbe(set key: UInt64, tag: UInt64, where matches: (Entry) -> Bool) -> Probe {
        let first = firstSlot(ofSetFor: key)
        if wide.isEmpty { return .miss(victim: holdsNothing ? nil : Slot(first)) }
        if let slot = indexedFind(set: key, tag: tag, where: matches) { return .hit(Slot(slot)) }
        let states = storage
        return .miss(victim: Slot(wide[0].victim(ofSet: first / ways) { states[$0].state }))
    }

    @inline(never) mutating func indexFill(_ slot: Int, with tag: UInt64, state: UInt64) {
        if storage[slot].state != Policy.emptyState { wide[0].remove(slot, tag: storage[slot].entry.indexTag) }
        let states = storage
        wide[0].add(slot, tag: tag, state: state) { $0 == slot ? state : states[$0].state }
    }

    @inline(never) mutating func indexRemove(_ slot: Int) {
        if storage[slot].state != Policy.emptyState { wide[0].remove(slot, tag: storage[slot].entry.indexTag) }
    }

    /// The first valid entry `matches` accepts, in slot order.
    public func first(where matches: (Entry) -> Bool) -> Entry? {
        storage.withUnsafeBufferPointer { slots in
            for stored in slots where stored.entry.isValid && matches(stored.entry) { return stored.entry }
            return nil
        }
    }
}

/// The index of a `SetAssociativeArray` with wide sets. A slot is occupied
/// from its fill until its removal (its replacement state is not the empty
/// state). Each occupied slot is
/// - chained in the hash bucket of its entry's `indexTag`, so a lookup walks
///   the few slots holding its tag, not the set;
/// - clear in its set's bitmap of empty slots (two levels: a bit per way, a
///   bit per non-zero word), so the first empty slot is a few words away;
/// - in its set's min-heap of (state, slot) pairs, with a state no greater
///   than its own. A hit raises a slot's state and leaves the heap alone
///   (it costs what it costs a narrow set); a victim search pops stale
///   pairs and pushes them back with the slot's current state until the top
///   pair is current. The top is then the least state of the set: every
///   other slot's state is at least its pair's, which is at least the top's.
///
/// So the victim is the scan's: the first empty slot, else the slot whose
/// state (last use) is least.
@usableFromInline struct WideSets: Sendable {
    struct Pair: Sendable {
        var state: UInt64
        var slot: Int32
    }

    let ways: Int
    /// The first slot of each hash bucket's chain, -1 for none.
    var buckets: [Int32]
    /// 64 minus log2 of the bucket count (a multiplicative hash keeps the top bits).
    let bucketShift: UInt64
    /// Per slot: the next and the previous slot in its bucket's chain (-1: none).
    var chainNext: [Int32]
    var chainPrevious: [Int32]
    /// Per set, `wordsPerSet` words: a bit per way, set while the slot is empty.
    var emptyWays: [UInt64]
    /// Per set, `summaryWordsPerSet` words: a bit per word of `emptyWays`, set while it is not zero.
    var emptyWords: [UInt64]
    let wordsPerSet: Int
    let summaryWordsPerSet: Int
    /// Per set: a min-heap of (state, slot) pairs by state.
    var heaps: [[Pair]]

    /// `sets` sets of `ways` slots, every one empty.
    init(sets: Int, ways: Int) {
        self.ways = ways
        let slots = sets * ways
        var bucketCount = 1
        var shift: UInt64 = 64
        while bucketCount < 2 * slots { bucketCount <<= 1; shift -= 1 }
        buckets = [Int32](repeating: -1, count: bucketCount)
        bucketShift = shift
        chainNext = [Int32](repeating: -1, count: slots)
        chainPrevious = [Int32](repeating: -1, count: slots)
        wordsPerSet = (ways + 63) / 64
        summaryWordsPerSet = (wordsPerSet + 63) / 64
        var setWays = [UInt64](repeating: ~0, count: wordsPerSet)
        if ways % 64 != 0 { setWays[wordsPerSet - 1] = (1 << UInt64(ways % 64)) - 1 }
        var setWords = [UInt64](repeating: ~0, count: summaryWordsPerSet)
        if wordsPerSet % 64 != 0 { setWords[summaryWordsPerSet - 1] = (1 << UInt64(wordsPerSet % 64)) - 1 }
        emptyWays = []
        emptyWords = []
        emptyWays.reserveCapacity(sets * wordsPerSet)
        emptyWords.reserveCapacity(sets * summaryWordsPerSet)
        for _ in 0..<sets {
            emptyWays.append(contentsOf: setWays)
            emptyWords.append(contentsOf: setWords)
        }
        heaps = [[Pair]](repeating: [], count: sets)
    }

    @inline(__always) func bucket(of tag: UInt64) -> Int {
        Int(truncatingIfNeeded: (tag &* 0x9E37_79B9_7F4A_7C15) >> bucketShift)
    }

    /// The first slot chained under `tag`'s bucket (-1: none).
    @inline(__always) func head(of tag: UInt64) -> Int { Int(buckets[bucket(of: tag)]) }
    /// The slot after `slot` in its bucket's chain (-1: none).
    @inline(__always) func next(after slot: Int) -> Int { Int(chainNext[slot]) }

    func isEmpty(_ slot: Int) -> Bool {
        let set = slot / ways
        let way = slot - set * ways
        return emptyWays[set * wordsPerSet + way >> 6] & (1 << UInt64(way & 63)) != 0
    }

    private mutating func markEmpty(_ slot: Int, _ empty: Bool) {
        let set = slot / ways
        let way = slot - set * ways
        let word = set * wordsPerSet + way >> 6
        let bit: UInt64 = 1 << UInt64(way & 63)
        if empty { emptyWays[word] |= bit } else { emptyWays[word] &= ~bit }
        let summary = set * summaryWordsPerSet + (way >> 6) >> 6
        let wordBit: UInt64 = 1 << UInt64((way >> 6) & 63)
        if emptyWays[word] != 0 { emptyWords[summary] |= wordBit } else { emptyWords[summary] &= ~wordBit }
    }

    /// `slot` was filled with an entry tagged `tag`, in state `state`
    /// (`states` gives every slot's, for a rebuild of the heap).
    mutating func add(_ slot: Int, tag: UInt64, state: UInt64, states: (Int) -> UInt64) {
        markEmpty(slot, false)
        let b = bucket(of: tag)
        let first = buckets[b]
        chainPrevious[slot] = -1
        chainNext[slot] = first
        if first >= 0 { chainPrevious[Int(first)] = Int32(slot) }
        buckets[b] = Int32(slot)
        let set = slot / ways
        var heap = heaps[set]
        heaps[set] = []
        pushPair(&heap, Pair(state: state, slot: Int32(slot)))
        if heap.count > 2 * ways + 64 { heap = rebuilt(set, states: states) }
        heaps[set] = heap
    }

    /// A fresh heap of `set`: a pair per occupied slot, with its current state.
    /// Pairs of slots emptied (and refilled) since they were pushed pile up
    /// until a rebuild, which keeps a heap within two pairs a slot.
    private func rebuilt(_ set: Int, states: (Int) -> UInt64) -> [Pair] {
        var heap: [Pair] = []
        for slot in set * ways ..< (set + 1) * ways where !isEmpty(slot) {
            heap.append(Pair(state: states(slot), slot: Int32(slot)))
        }
        heapify(&heap)
        return heap
    }

    /// `slot`, holding an entry tagged `tag`, is emptied (its heap pair goes stale).
    mutating func remove(_ slot: Int, tag: UInt64) {
        guard !isEmpty(slot) else { return }
        let previous = chainPrevious[slot]
        let next = chainNext[slot]
        if previous >= 0 { chainNext[Int(previous)] = next } else { buckets[bucket(of: tag)] = next }
        if next >= 0 { chainPrevious[Int(next)] = previous }
        chainNext[slot] = -1
        chainPrevious[slot] = -1
        markEmpty(slot, true)
    }

    /// The victim of `set`: its first empty slot, else its slot of least
    /// state, `state(slot)` giving each slot's current state.
    mutating func victim(ofSet set: Int, state: (Int) -> UInt64) -> Int {
        let summaryBase = set * summaryWordsPerSet
        for s in 0..<summaryWordsPerSet where emptyWords[summaryBase + s] != 0 {
            let word = s * 64 + emptyWords[summaryBase + s].trailingZeroBitCount
            return set * ways + word * 64 + emptyWays[set * wordsPerSet + word].trailingZeroBitCount
        }
        // No empty slot: every slot is occupied and has a pair in the heap.
        var heap = heaps[set]
        heaps[set] = []
        defer { heaps[set] = heap }
        if heap.count > 2 * ways + 64 { heap = rebuilt(set, states: state) }
        while let top = heap.first {
            let current = state(Int(top.slot))
            if current == top.state { return Int(top.slot) }
            popTop(&heap)
            // A slot emptied since its pair was pushed has a newer pair if it was refilled.
            if !isEmpty(Int(top.slot)) { pushPair(&heap, Pair(state: current, slot: top.slot)) }
        }
        return set * ways  // unreachable: a full set has a pair per slot
    }

    private func pushPair(_ heap: inout [Pair], _ pair: Pair) {
        heap.append(pair)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].state < heap[parent].state else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func popTop(_ heap: inout [Pair]) {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(&heap, from: 0)
    }

    private func siftDown(_ heap: inout [Pair], from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var least = left
            if left + 1 < heap.count && heap[left + 1].state < heap[left].state { least = left + 1 }
            guard heap[least].state < heap[parent].state else { return }
            heap.swapAt(least, parent)
            parent = least
        }
    }

    private func heapify(_ heap: inout [Pair]) {
        var index = heap.count / 2
        while index > 0 {
            index -= 1
            siftDown(&heap, from: index)
        }
    }
}
