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
}
