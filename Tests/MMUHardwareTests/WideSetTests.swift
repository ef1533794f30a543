import Testing
@testable import MMUHardware

/// Sets wider than `SetAssociativeArray.indexedWays` answer lookups from a tag
/// index and take victims from a bitmap and a heap: every answer must be the
/// scan's, and a fully associative TLB must behave as an LRU model says.
@Suite("Wide sets: the tag index answers as the scan does")
struct WideSetTests {
    /// An entry whose matches carry its tag; `owner` 0 matches any owner (as
    /// a global TLB entry matches any PCID), so one tag can sit in several slots.
    struct Keyed: CacheEntry, Equatable {
        var tag: UInt64 = 0
        var owner: UInt8 = 0
        static var empty: Keyed { Keyed() }
        var isValid: Bool { tag != 0 }
        var indexTag: UInt64 { tag }
        func matches(_ tag: UInt64, _ owner: UInt8) -> Bool {
            self.tag == tag && (self.owner == owner || self.owner == 0)
        }
    }
    typealias Array = SetAssociativeArray<Keyed, LeastRecentlyUsed>

    /// A seeded xorshift: the same sequence every run.
    struct Random {
        var state: UInt64
        mutating func next(_ bound: UInt64) -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state % bound
        }
    }

    @Test func onlySetsWiderThanTheThresholdAreIndexed() {
        #expect(!Array(capacity: 64, ways: 4).indexed)
        #expect(!Array(capacity: Array.indexedWays, ways: Array.indexedWays).indexed)
        #expect(Array(capacity: Array.indexedWays + 1, ways: Array.indexedWays + 1).indexed)
        #expect(Array(capacity: 65_536, ways: 65_536).indexed)
        #expect(TranslationLookasideBuffer(entries: 65_536, ways: 65_536).ways == 65_536)
    }

    /// Every probe, find and removal of an indexed array, against the scan of
    /// the same array (the closure-only calls scan whatever the width), over
    /// fills, hits, removals and flushes that leave holes in the sets.
    @Test(arguments: [(512, 256), (300, 100), (65, 65)])
    func everyAnswerOfAnIndexedArrayIsTheScans(capacity: Int, ways: Int) {
        var array = Array(capacity: capacity, ways: ways)
        #expect(array.indexed)
        var random = Random(state: 0x9E37_79B9_7F4A_7C15 ^ UInt64(capacity))
        var hits = 0, misses = 0, evictions = 0
        for step in 0..<20_000 {
            let tag = 1 + random.next(UInt64(capacity) * 2)
            let owner = UInt8(random.next(4))
            let key = tag   // the set: the tag modulo the sets
            let match = { (e: Keyed) in e.matches(tag, owner) }
            let scanned = array.probe(set: key, where: match)
            let scannedFind = array.find(set: key, where: match)
            #expect(array.find(set: key, tag: tag, where: match) == scannedFind)
            let indexed = array.probe(set: key, tag: tag, where: match)
            switch (scanned, indexed) {
            case (.hit(let a), .hit(let b)):
                #expect(a == b, "step \(step): hit in different slots")
                hits += 1
                array.touch(b)
            case (.miss(let a), .miss(let b)):
                #expect(a == b, "step \(step): different victims")
                misses += 1
                if let b {
                    if array.entry(inAnySlot: b).isValid { evictions += 1 }
                    array.fill(b, with: Keyed(tag: tag, owner: random.next(8) == 0 ? 0 : owner))
                }
            default:
                Issue.record("step \(step): the index and the scan disagree on a hit")
            }
            switch random.next(100) {
            case 0..<4:
                // Drop one entry by slot.
                if let slot = array.find(set: key, tag: tag, where: { $0.tag == tag }) { array.remove(slot) }
            case 4..<6:
                var byIndex: [Keyed] = [], byScan: [Keyed] = []
                var copy = array
                copy.removeAll(inSetOf: key, where: { $0.tag == tag }, removed: { byScan.append($0) })
                array.removeAll(inSetOf: key, tag: tag, where: { $0.tag == tag }, removed: { byIndex.append($0) })
                #expect(byIndex == byScan)
                #expect(array.validCount == copy.validCount)
            case 6:
                array.removeFirst(inSetOf: key, tag: tag, where: { $0.tag == tag })
            case 7 where step % 50 == 0:
                array.removeAll(where: { $0.owner == owner })
            default:
                break
            }
        }
        #expect(hits > 1000 && misses > 1000 && evictions > 500)
    }

    /// Fills and removals that never fill the set leave stale heap pairs
    /// behind; a rebuild keeps them within two a slot.
    @Test func theUseHeapOfASetThatIsNeverFullStaysBounded() {
        var array = Array(capacity: 128, ways: 128)
        for round in 0..<10_000 {
            let tag = UInt64(1 + round)
            guard case .miss(let victim?) = array.probe(set: 0, tag: tag, where: { $0.tag == tag }) else {
                Issue.record("a new tag must miss with a victim")
                return
            }
            array.fill(victim, with: Keyed(tag: tag, owner: 1))
            if case .hit(let slot) = array.probe(set: 0, tag: tag, where: { $0.tag == tag }) { array.touch(slot) }
            if round % 100 != 0 { array.remove(victim) }
        }
        #expect(array.validCount == 100)
        #expect(array.wide[0].heaps[0].count <= 2 * 128 + 65)
    }

    /// A plain model of a fully associative, PCID-tagged LRU TLB: a list
    /// from least to most recently used. Global entries live on pages no
    /// PCID-tagged entry uses, so each lookup has one candidate.
    struct LRUModel {
        struct Key: Hashable { var page: UInt64; var pcid: UInt16; var global: Bool }
        struct Value { var frame: UInt64; var rights: AccessRights }
        let capacity: Int
        var order: [Key] = []           // least recent first
        var values: [Key: Value] = [:]
        var evictions = 0

        func key(_ page: UInt64, _ pcid: UInt16) -> Key? {
            let local = Key(page: page, pcid: pcid, global: false)
            if values[local] != nil { return local }
            let global = Key(page: page, pcid: 0, global: true)
            return values[global] != nil ? global : nil
        }
        mutating func use(_ key: Key) {
            if let i = order.firstIndex(of: key) { order.remove(at: i) }
            order.append(key)
        }
        mutating func drop(_ key: Key) {
            values[key] = nil
            if let i = order.firstIndex(of: key) { order.remove(at: i) }
        }
        /// nil: miss; else the frame, or .max when the entry was dropped.
        mutating func lookup(_ page: UInt64, _ pcid: UInt16, _ kind: AccessKind) -> UInt64? {
            guard let key = key(page, pcid), let value = values[key] else { return nil }
            guard value.rights.permits(kind) else {
                drop(key)
                return .max
            }
            use(key)
            return value.frame
        }
        mutating func insert(_ page: UInt64, _ pcid: UInt16, global: Bool, _ value: Value) {
            let key = Key(page: page, pcid: global ? 0 : pcid, global: global)
            if values[key] == nil && values.count == capacity {
                drop(order[0])
                evictions += 1
            }
            values[key] = value
            use(key)
        }
    }

    /// A fully associative TLB gives the hits, misses, drops and evictions of
    /// the LRU model, with PCIDs, global entries, INVLPG and flushes mixed in.
    @Test(arguments: [64, 1024])
    func aFullyAssociativeTLBIsAnLRUModel(entries: Int) {
        var tlb = TranslationLookasideBuffer(entries: entries, ways: entries)
        var model = LRUModel(capacity: entries)
        var random = Random(state: 0x2545_F491_4F6C_DD1D ^ UInt64(entries))
        let pages = UInt64(entries) * 3
        let globalPages: UInt64 = 16        // pages 0 ..< 16 hold only global entries
        let kinds: [AccessKind] = [.read, .write, .fetch]
        let rightsChoices: [AccessRights] = [[.user, .writable, .dirty, .executable], [.user], [.user, .executable]]
        var hits = 0, misses = 0, drops = 0, lastEvictions = 0
        for step in 0..<12_000 {
            // A skewed footprint: half the lookups go to a hot eighth of the pages.
            let page = random.next(2) == 0 ? random.next(pages / 8) : random.next(pages)
            let pcid = UInt16(1 + random.next(3))
            let kind = kinds[Int(random.next(3))]
            let address = VirtualAddress(page << 12 | random.next(4096))
            let expected = model.lookup(page, pcid, kind)
            let got = tlb.lookup(address, pcid: PCID(pcid), for: kind)
            switch (expected, got) {
            case (nil, .miss):
                misses += 1
                let rights = rightsChoices[Int(random.next(3))]
                let global = page < globalPages
                let frame = 0x1000 + page * 7 + UInt64(pcid)
                let occupancy = tlb.occupancy
                tlb.insert(address, Translation(frame: FrameNumber(frame), size: .size4K,
                                                rights: global ? rights.union(.global) : rights), pcid: PCID(pcid))
                model.insert(page, pcid, global: global, .init(frame: frame, rights: rights))
                // An insert into a full TLB evicts exactly when the model does.
                #expect((model.evictions > lastEvictions) == (occupancy == entries && tlb.occupancy == entries))
                lastEvictions = model.evictions
            case (UInt64.max?, .dropped):
                drops += 1
            case (let frame?, .hit(let translation)):
                #expect(translation.frame.rawValue == frame, "step \(step)")
                hits += 1
            default:
                Issue.record("step \(step): page \(page) pcid \(pcid): model \(String(describing: expected)), TLB \(got)")
                return
            }
            switch random.next(200) {
            case 0..<3:
                let victim = random.next(pages)
                tlb.invalidate(VirtualAddress(victim << 12), pcid: PCID(pcid))
                if let key = model.key(victim, pcid) { model.drop(key) }
            case 3 where step % 40 == 0:
                tlb.flush(pcid: PCID(pcid))
                for key in model.order where !key.global && key.pcid == pcid { model.drop(key) }
            default:
                break
            }
            #expect(tlb.occupancy == model.values.count, "step \(step)")
        }
        for key in model.values.keys {
            #expect(tlb.holds(VirtualAddress(key.page << 12), pcid: PCID(key.global ? 1 : key.pcid)))
        }
        #expect(hits > 1000 && misses > 1000 && drops > 100 && model.evictions > 100)
    }
}
