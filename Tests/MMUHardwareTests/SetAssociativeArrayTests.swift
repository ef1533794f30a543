import Testing
@testable import MMUHardware

@Suite("SetAssociativeArray: storage allocated by the first fill")
struct SetAssociativeArrayTests {
    struct Tag: CacheEntry, Equatable {
        var value: UInt64
        static var empty: Tag { Tag(value: 0) }
        var isValid: Bool { value != 0 }
        var indexTag: UInt64 { value }
    }
    typealias Array = SetAssociativeArray<Tag, LeastRecentlyUsed>

    @Test func aLargeArrayHoldsNoHostMemoryUntilItsFirstFill() {
        var array = Array(capacity: 65_536, ways: 16)
        #expect(array.capacity == 65_536)
        #expect(array.storage.isEmpty)
        // A miss before the first fill offers the set's first slot, as a
        // filled array of empty slots would (every age 0: the first wins).
        guard case .miss(let victim?) = array.probe(set: 5, where: { $0.value == 7 }) else {
            Issue.record("an unfilled array must miss with a victim")
            return
        }
        #expect(victim == Array.Slot(5 * 16))
        #expect(array.entry(inAnySlot: victim) == .empty)
        array.remove(victim)
        #expect(array.storage.isEmpty)
        array.fill(victim, with: Tag(value: 7))
        #expect(array.storage.count == 65_536)
        #expect(array.validCount == 1)
        guard case .hit(let slot) = array.probe(set: 5, where: { $0.value == 7 }) else {
            Issue.record("the filled entry must hit")
            return
        }
        #expect(array[slot] == Tag(value: 7))
    }

    @Test func anUnfilledArrayFindsAndRemovesNothing() {
        var array = Array(capacity: 64, ways: 4)
        #expect(array.find(set: 3, where: { _ in true }) == nil)
        array.removeAll(inSetOf: 3, where: { _ in true })
        array.removeAll(where: { _ in true })
        #expect(array.first(where: { _ in true }) == nil)
        #expect(array.storage.isEmpty)
    }

    @Test func anArrayOfNoSlotsMissesWithNoVictim() {
        let array = Array(capacity: 0, ways: 4)
        guard case .miss(let victim) = array.probe(set: 0, where: { _ in true }) else {
            Issue.record("an empty array cannot hit")
            return
        }
        #expect(victim == nil)
    }

    /// An entry whose empty value is zero bits: its slots come zero-filled
    /// from the host and are copied page by page, pages of zeros skipped.
    struct ZeroTag: CacheEntry, Equatable {
        var value: UInt64
        static var empty: ZeroTag { ZeroTag(value: 0) }
        static var emptyIsZeroBits: Bool { true }
        var isValid: Bool { value != 0 }
        var indexTag: UInt64 { value }
    }

    @Test("a copy is independent of its original, and holds every filled slot, with empty or zero-bit slots alike",
          arguments: [false, true])
    func copiesAreValues(_ zeroBits: Bool) {
        func check<E: CacheEntry & Equatable>(_ make: (UInt64) -> E) {
            var array = SetAssociativeArray<E, LeastRecentlyUsed>(capacity: 65_536, ways: 4)
            // Slots spread over many 4 KiB pages of the buffer, most pages untouched.
            let sets = (0..<200).map { UInt64($0) * 97 % 16_384 }
            for (i, set) in sets.enumerated() {
                guard case .miss(let victim?) = array.probe(set: set, where: { _ in false }) else { Issue.record("no victim"); return }
                array.fill(victim, with: make(UInt64(i) + 1))
            }
            let original = array
            var copy = array
            // Writing the copy (its first write copies the slots) leaves the
            // original alone, and the other way round.
            guard case .miss(let victim?) = copy.probe(set: 5, where: { _ in false }) else { Issue.record("no victim"); return }
            copy.fill(victim, with: make(999_999))
            for (i, set) in sets.enumerated() {
                #expect(copy.find(set: set, where: { $0 == make(UInt64(i) + 1) }) != nil)
            }
            #expect(array.find(set: 5, where: { $0 == make(999_999) }) == nil)
            array.removeAll(where: { _ in true })
            #expect(array.validCount == 0)
            #expect(copy.validCount == 201)
            #expect(original.validCount == 200)
            for (i, set) in sets.enumerated() {
                #expect(original.find(set: set, where: { $0 == make(UInt64(i) + 1) }) != nil)
            }
        }
        if zeroBits { check { ZeroTag(value: $0) } } else { check { Tag(value: $0) } }
    }
}
